"""AWS discovery: every (account, region) pair in parallel with one bounded pool, through the cache.

Per account: its id and alias (remembered in the cache; a role's id is in its ARN), its
regions (given, the configured one, or every enabled one), then one DescribeInstances
job per region whose cache entry is missing or stale. Account jobs run in the same
pool as region jobs and submit those; the main thread only collects. A failing account
or region costs its own hosts only: it is reported, and the result is partial.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from stackrig.errors import StackrigError, UsageError
from stackrig.fleet._accounts import Account, AccountOptions, Sessions
from stackrig.fleet._aws import AwsTarget, CredentialsMissingError, aws_errors, credential_scope, secrets_of
from stackrig.fleet._cache import DiscoverCache, endpoint_scope, hosts_from_payload, hosts_payload

if TYPE_CHECKING:
    from stackrig.fleet import Host

__all__ = ["AccountReport", "RegionReport", "discover_aws"]

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class RegionReport:
    region: str
    instances: int
    cached: bool
    seconds: float
    cache_age: float | None = None
    error: str | None = None
    account: str | None = None
    """The account's alias (or label); None when only the base credentials were read."""


@dataclass(frozen=True, slots=True)
class AccountReport:
    label: str
    account_id: str | None
    alias: str | None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class _Identity:
    account_id: str
    alias: str
    scope: str


@dataclass(frozen=True, slots=True)
class Query:
    """What to ask every region: the filters sent to EC2 and the cache key they make."""

    regions: tuple[str, ...]
    all_regions: bool
    filters: tuple[dict[str, Any], ...]
    max_workers: int

    @property
    def key(self) -> list[str]:
        return [f"{f['Name']}={','.join(f['Values'])}" for f in self.filters]


def _fallback_alias(account: Account, account_id: str, target: AwsTarget) -> str:
    """The name shown when IAM gives no alias: the profile, the role's account id, or the account id."""
    if account.kind == "profile":
        return account.label
    if account.kind == "base" and target.profile:
        return target.profile
    return account_id


def _alias_from_iam(target: AwsTarget, session: Any) -> str | None:
    try:
        iam = target.client(session, "iam", "us-east-1")
        with aws_errors("list the account aliases", secrets=secrets_of(session)):
            aliases = iam.list_account_aliases().get("AccountAliases", [])
    except StackrigError:
        return None  # not allowed, or no IAM at this endpoint: the fallback name will do
    return str(aliases[0]) if aliases else None


def _identity(target: AwsTarget, sessions: Sessions, account: Account, cache: DiscoverCache) -> _Identity:
    """The account's id and alias (remembered in the cache) and its cache scope."""
    known = account.known_id
    if known is not None:
        key = f"role-{known}"
    else:
        key = credential_scope(sessions.session(account), target.endpoint_url)
    entry = cache.get("aws-identity", key, "global", [])
    payload = entry.payload if entry is not None and isinstance(entry.payload, dict) else {}
    account_id = str(payload.get("account") or known or "")
    alias = payload.get("alias")
    if not account_id or not isinstance(alias, str):
        session = sessions.session(account)
        if not account_id:
            try:
                sts = target.client(session, "sts", target.region or "us-east-1")
                with aws_errors("identify the AWS account", secrets=secrets_of(session)):
                    account_id = str(sts.get_caller_identity()["Account"])
            except CredentialsMissingError:
                raise
            except StackrigError:
                account_id = f"key-{key}"  # an endpoint without STS: the credentials stand for the account
        alias = _alias_from_iam(target, session) or _fallback_alias(account, account_id, target)
        cache.put("aws-identity", key, "global", [], {"account": account_id, "alias": alias})
    return _Identity(account_id, alias, endpoint_scope(account_id, target.endpoint_url))


def _regions(
    target: AwsTarget,
    sessions: Sessions,
    account: Account,
    *,
    ident: _Identity,
    query: Query,
    cache: DiscoverCache,
) -> list[str]:
    if query.regions:
        return list(dict.fromkeys(query.regions))
    if not query.all_regions:
        region = target.region or sessions.base().get_config_variable("region")
        if not region:
            raise UsageError(
                "no AWS region given",
                hint="pass --region R[,R...] or --all-regions, or set AWS_REGION / AWS_DEFAULT_REGION",
            )
        return [str(region)]
    entry = cache.get("aws-regions", ident.scope, "global", [])
    if entry is not None and isinstance(entry.payload, list) and entry.payload:
        return [str(r) for r in entry.payload]
    session = sessions.session(account)
    ec2 = target.client(session, "ec2", target.region or "us-east-1")
    with aws_errors("list the enabled regions", secrets=secrets_of(session)):
        found = ec2.describe_regions(
            Filters=[{"Name": "opt-in-status", "Values": ["opt-in-not-required", "opted-in"]}]
        )
    regions = sorted(str(r["RegionName"]) for r in found.get("Regions", []))
    cache.put("aws-regions", ident.scope, "global", [], regions)
    return regions


def _describe_region(
    client: Any, region: str, filters: tuple[dict[str, Any], ...], secrets: list[str]
) -> list[Host]:
    from stackrig.fleet import parse_documents

    params: dict[str, Any] = {"PaginationConfig": {"PageSize": 1000}}
    if filters:
        params["Filters"] = list(filters)
    reservations: list[Any] = []
    with aws_errors("list the instances", region=region, secrets=secrets):
        for page in client.get_paginator("describe_instances").paginate(**params):
            reservations.extend(page.get("Reservations", []))
    hosts = parse_documents([{"Reservations": reservations}], provider="aws")
    return [h if h.region else dataclasses.replace(h, region=region) for h in hosts]


def _labelled(hosts: list[Host], ident: _Identity) -> list[Host]:
    """The hosts with their account (ec2_account_id, ec2_account_alias)."""
    return [
        dataclasses.replace(
            h, extra={**h.extra, "account_id": ident.account_id, "account_alias": ident.alias}
        )
        for h in hosts
    ]


class _Run:
    """One discovery: the pool, the futures it holds and what came back."""

    def __init__(
        self, target: AwsTarget, options: AccountOptions, query: Query, cache: DiscoverCache
    ) -> None:
        self.target = target
        self.query = query
        self.cache = cache
        self.sessions = Sessions(target, options)
        self.accounts = options.resolved()
        self.multi = options.accounts != ()
        self.pool = concurrent.futures.ThreadPoolExecutor(
            max(1, query.max_workers), thread_name_prefix="discover"
        )
        self.lock = threading.Lock()
        self.region_jobs: list[tuple[Account, str, concurrent.futures.Future[tuple[list[Host], float]]]] = []
        self.done: dict[tuple[str, str], tuple[list[Host], RegionReport]] = {}
        self.order: dict[str, list[str]] = {}
        self.idents: dict[str, _Identity] = {}

    def account_job(self, account: Account, progress: Progress) -> None:
        ident = _identity(self.target, self.sessions, account, self.cache)
        regions = _regions(
            self.target, self.sessions, account, ident=ident, query=self.query, cache=self.cache
        )
        shown = ident.alias if self.multi else None
        with self.lock:
            self.idents[account.label] = ident
            self.order[account.label] = regions
        todo = []
        for region in regions:
            entry = self.cache.get("aws", ident.scope, region, self.query.key)
            hosts = hosts_from_payload(entry.payload) if entry is not None else None
            if entry is not None and hosts is not None:
                report = RegionReport(region, len(hosts), True, 0.0, round(entry.age, 3), account=shown)
                with self.lock:
                    self.done[(account.label, region)] = (_labelled(hosts, ident), report)
            else:
                todo.append(region)
        if todo:
            where = f"{shown}: " if shown else ""
            progress(f"asking {where}{len(todo)} region(s): {', '.join(todo)}")
        for region in todo:
            future = self.pool.submit(self.region_job, account, ident, region)
            with self.lock:
                self.region_jobs.append((account, region, future))

    def region_job(self, account: Account, ident: _Identity, region: str) -> tuple[list[Host], float]:
        started = time.perf_counter()
        session = self.sessions.session(account)
        client = self.target.client(session, "ec2", region)
        hosts = _describe_region(client, region, self.query.filters, secrets_of(session))
        self.cache.put("aws", ident.scope, region, self.query.key, hosts_payload(hosts))
        return hosts, time.perf_counter() - started


def discover_aws(
    target: AwsTarget, options: AccountOptions, query: Query, cache: DiscoverCache, progress: Progress
) -> tuple[list[Host], list[RegionReport], list[AccountReport]]:
    """Hosts of every (account, region) pair, the per-region reports and the per-account reports.

    Raises the first error when every part failed (nothing to show); otherwise failed parts
    are in the reports (``error``) and their hosts are missing.
    """
    if not options.accounts:
        base = target.session()
        if not secrets_of(base):
            credential_scope(base, target.endpoint_url)  # raises the MISSING error with the how-to
    run = _Run(target, options, query, cache)
    errors: list[StackrigError] = []
    account_errors: dict[str, str] = {}
    with run.pool:
        account_futures = [(a, run.pool.submit(run.account_job, a, progress)) for a in run.accounts]
        for account, future in account_futures:
            try:
                future.result()
            except StackrigError as exc:
                errors.append(exc)
                account_errors[account.label] = exc.message
        for account, region, job in run.region_jobs:
            ident = run.idents[account.label]
            shown = ident.alias if run.multi else None
            try:
                found, seconds = job.result()
            except StackrigError as exc:
                errors.append(exc)
                report = RegionReport(region, 0, False, 0.0, error=exc.message, account=shown)
                run.done[(account.label, region)] = ([], report)
                continue
            report = RegionReport(region, len(found), False, round(seconds, 3), account=shown)
            run.done[(account.label, region)] = (_labelled(found, ident), report)
    if errors and not any(not report.error for _, report in run.done.values()):
        raise errors[0]  # nothing to show: the error itself says it best
    hosts: list[Host] = []
    reports: list[RegionReport] = []
    for account in run.accounts:
        for region in run.order.get(account.label, []):
            found, report = run.done[(account.label, region)]
            hosts.extend(found)
            reports.append(report)
    accounts = [
        AccountReport(
            a.label,
            run.idents[a.label].account_id if a.label in run.idents else a.known_id,
            run.idents[a.label].alias if a.label in run.idents else None,
            account_errors.get(a.label),
        )
        for a in run.accounts
    ]
    return hosts, reports, accounts
