"""``fleet discover``: list the instances of a cloud account as :class:`~stackrig.fleet.Host` values.

AWS goes through boto3: DescribeInstances, paginated, every region in parallel
(one thread per region; botocore clients are thread-safe once made), results
cached on disk per (account, region, filter) with a TTL. Azure, GCP and
OpenStack run their own CLIs (``az``, ``gcloud``, ``openstack``) through
:mod:`stackrig._proc` and parse the output with the same provider parsers as
``fleet inventory``.

Filters written in the aws CLI syntax (``Name=tag:Name,Values=web-*``) are also
sent to DescribeInstances, so less comes back; every filter is applied again
by the inventory step, the same way for every provider.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stackrig import _proc
from stackrig.errors import StackrigError, UsageError
from stackrig.fleet._aws import (
    AwsTarget,
    CredentialsMissingError,
    aws_errors,
    credential_scope,
    secrets_of,
)
from stackrig.fleet._cache import DiscoverCache, endpoint_scope

if TYPE_CHECKING:
    from stackrig.fleet import Host, InventoryOptions, InventoryOutcome

__all__ = [
    "CLI_COMMANDS",
    "DISCOVER_PROVIDERS",
    "DiscoverOutcome",
    "DiscoverResult",
    "DiscoverSettings",
    "InventoryRequest",
    "RegionReport",
    "discover",
    "discover_inventory",
    "ec2_filters",
    "forget_region",
]

DISCOVER_PROVIDERS = ("aws", "azure", "gcp", "openstack")

#: The program and arguments whose JSON each non-AWS provider's parser reads.
CLI_COMMANDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "azure": ("az", ("vm", "list", "-d", "-o", "json")),
    "gcp": ("gcloud", ("compute", "instances", "list", "--format=json")),
    "openstack": ("openstack", ("server", "list", "--long", "-f", "json")),
}

#: Client-side filter fields (stackrig.fleet.parse_filter) → DescribeInstances filter names.
_EC2_NAMES = {
    "name": "tag:Name",
    "state": "instance-state-name",
    "state-code": "instance-state-code",
    "id": "instance-id",
    "type": "instance-type",
    "zone": "availability-zone",
    "image": "image-id",
    "key-name": "key-name",
    "tag-key": "tag-key",
}
_CACHE_FORMAT = "hosts-v1"

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


@dataclass(frozen=True, slots=True)
class DiscoverSettings:
    provider: str = "aws"
    regions: tuple[str, ...] = ()
    all_regions: bool = False
    filters: tuple[str, ...] = ()
    state: str = "running"
    cache_ttl: float = 300.0
    refresh: bool = False
    max_workers: int = 8
    cli_timeout: float = 300.0

    def __post_init__(self) -> None:
        if self.provider not in DISCOVER_PROVIDERS:
            raise UsageError(
                f"unknown provider {self.provider!r}", hint=f"choose one of {', '.join(DISCOVER_PROVIDERS)}"
            )
        if self.provider != "aws" and (self.regions or self.all_regions):
            raise UsageError("--region and --all-regions apply to --provider aws only")
        if self.regions and self.all_regions:
            raise UsageError("give --region or --all-regions, not both")
        if self.cache_ttl < 0:
            raise UsageError("--cache-ttl must be 0 (off) or more seconds")


@dataclass(frozen=True, slots=True)
class RegionReport:
    region: str
    instances: int
    cached: bool
    seconds: float
    cache_age: float | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class DiscoverResult:
    provider: str
    account: str | None
    regions: tuple[RegionReport, ...]
    hosts: tuple[Host, ...] = dataclasses.field(repr=False)

    @property
    def partial(self) -> bool:
        return any(r.error for r in self.regions)

    @property
    def failed(self) -> tuple[str, ...]:
        """Each part that failed, named with its reason (the result is partial when there is one)."""
        return tuple(f"region {r.region}: {r.error}" for r in self.regions if r.error)


def ec2_filters(filters: Sequence[str], state: str = "any") -> list[dict[str, Any]]:
    """The filters DescribeInstances can apply itself (the rest, and these again, run client-side).

    Every ``--filter`` (either syntax) on a field EC2 knows, and the ``--state`` filter.
    """
    from stackrig.fleet import parse_filter

    found: list[dict[str, Any]] = []
    for spec in filters:
        parsed = parse_filter(spec)
        name = parsed.field if parsed.field.startswith("tag:") else _EC2_NAMES.get(parsed.field)
        if name is not None:
            found.append({"Name": name, "Values": list(parsed.values)})
    if state != "any":
        found.append({"Name": "instance-state-name", "Values": state.split(",")})
    return found


# ------------------------------------------------------------------ cache of hosts


def _host_fields() -> list[str]:
    from stackrig.fleet import Host

    return [f.name for f in dataclasses.fields(Host)]


def _hosts_to_payload(hosts: Sequence[Host]) -> dict[str, Any]:
    fields = _host_fields()
    rows = [[_plain(getattr(h, name)) for name in fields] for h in hosts]
    return {"format": _CACHE_FORMAT, "fields": fields, "rows": rows}


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if hasattr(value, "items"):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _payload_to_hosts(payload: Any) -> list[Host] | None:
    """Hosts from a cache entry, or None when it was written by another Host layout."""
    from stackrig.fleet import Host

    if not isinstance(payload, dict) or payload.get("format") != _CACHE_FORMAT:
        return None
    fields = payload.get("fields")
    if fields != _host_fields():
        return None
    try:
        return [Host(**dict(zip(fields, row, strict=True))) for row in payload["rows"]]
    except (TypeError, ValueError, KeyError):
        return None


# ------------------------------------------------------------------ AWS


@dataclass(frozen=True, slots=True)
class _Identity:
    account: str
    scope: str


def _identity(target: AwsTarget, session: Any, cache: DiscoverCache, secrets: list[str]) -> _Identity:
    """The account id (through STS, remembered in the cache) and the cache scope."""
    creds = credential_scope(session, target.endpoint_url)
    entry = cache.get("aws-identity", creds, "global", [])
    if entry is not None and isinstance(entry.payload, dict) and entry.payload.get("account"):
        account = str(entry.payload["account"])
    else:
        try:
            sts = target.client(session, "sts", target.region or "us-east-1")
            with aws_errors("identify the AWS account", secrets=secrets):
                account = str(sts.get_caller_identity()["Account"])
        except CredentialsMissingError:
            raise
        except StackrigError:
            account = f"key-{creds}"  # an endpoint without STS: the credentials stand for the account
        cache.put("aws-identity", creds, "global", [], {"account": account})
    return _Identity(account=account, scope=endpoint_scope(account, target.endpoint_url))


def _all_regions(target: AwsTarget, session: Any, cache: DiscoverCache, ident: _Identity) -> list[str]:
    entry = cache.get("aws-regions", ident.scope, "global", [])
    if entry is not None and isinstance(entry.payload, list) and entry.payload:
        return [str(r) for r in entry.payload]
    ec2 = target.client(session, "ec2", target.region or "us-east-1")
    with aws_errors("list the enabled regions", secrets=secrets_of(session)):
        found = ec2.describe_regions(
            Filters=[{"Name": "opt-in-status", "Values": ["opt-in-not-required", "opted-in"]}]
        )
    regions = sorted(str(r["RegionName"]) for r in found.get("Regions", []))
    cache.put("aws-regions", ident.scope, "global", [], regions)
    return regions


def _default_region(target: AwsTarget, session: Any) -> str:
    region = target.region or session.get_config_variable("region")
    if not region:
        raise UsageError(
            "no AWS region given",
            hint="pass --region R[,R...] or --all-regions, or set AWS_REGION / AWS_DEFAULT_REGION",
        )
    return str(region)


def _describe_region(
    client: Any, region: str, filters: list[dict[str, Any]], secrets: list[str]
) -> list[Host]:
    from stackrig.fleet import parse_documents

    params: dict[str, Any] = {"PaginationConfig": {"PageSize": 1000}}
    if filters:
        params["Filters"] = filters
    reservations: list[Any] = []
    with aws_errors("list the instances", region=region, secrets=secrets):
        for page in client.get_paginator("describe_instances").paginate(**params):
            reservations.extend(page.get("Reservations", []))
    hosts = parse_documents([{"Reservations": reservations}], provider="aws")
    return [h if h.region else dataclasses.replace(h, region=region) for h in hosts]


def _discover_aws(
    target: AwsTarget, settings: DiscoverSettings, cache: DiscoverCache, progress: Progress
) -> DiscoverResult:
    session = target.session()
    secrets = secrets_of(session)
    if not secrets:
        credential_scope(session, target.endpoint_url)  # raises the MISSING error with the how-to
    ident = _identity(target, session, cache, secrets)
    if settings.all_regions:
        regions = _all_regions(target, session, cache, ident)
    else:
        regions = list(dict.fromkeys(settings.regions)) or [_default_region(target, session)]
    pushed = ec2_filters(settings.filters, settings.state)
    key = [f"{f['Name']}={','.join(f['Values'])}" for f in pushed]
    results: dict[str, tuple[list[Host], RegionReport]] = {}
    todo: list[str] = []
    for region in regions:
        entry = cache.get("aws", ident.scope, region, key)
        hosts = _payload_to_hosts(entry.payload) if entry is not None else None
        if entry is not None and hosts is not None:
            results[region] = (
                hosts,
                RegionReport(region, len(hosts), True, 0.0, cache_age=round(entry.age, 3)),
            )
        else:
            todo.append(region)
    if todo:
        progress(f"asking {len(todo)} region(s): {', '.join(todo)}")
        clients = {region: target.client(session, "ec2", region) for region in todo}

        def one(region: str) -> tuple[list[Host], float]:
            started = time.perf_counter()
            hosts = _describe_region(clients[region], region, pushed, secrets)
            return hosts, time.perf_counter() - started

        workers = max(1, min(settings.max_workers, len(todo)))
        with concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="discover") as pool:
            futures = {region: pool.submit(one, region) for region in todo}
            errors: dict[str, StackrigError] = {}
            for region, future in futures.items():
                try:
                    hosts, seconds = future.result()
                except StackrigError as exc:
                    errors[region] = exc
                    results[region] = ([], RegionReport(region, 0, False, 0.0, error=exc.message))
                    continue
                cache.put("aws", ident.scope, region, key, _hosts_to_payload(hosts))
                results[region] = (hosts, RegionReport(region, len(hosts), False, round(seconds, 3)))
        if errors and len(errors) == len(regions):
            raise next(iter(errors.values()))
    ordered = [results[r] for r in regions]
    return DiscoverResult(
        provider="aws",
        account=ident.account,
        regions=tuple(report for _, report in ordered),
        hosts=tuple(h for hosts, _ in ordered for h in hosts),
    )


# ------------------------------------------------------------------ Azure, GCP, OpenStack


def _discover_cli(settings: DiscoverSettings, progress: Progress) -> DiscoverResult:
    from stackrig.fleet._input import load_placed
    from stackrig.fleet.providers import parse_placed

    program, args = CLI_COMMANDS[settings.provider]
    shown = " ".join((program, *args))
    progress(f"running {shown}")
    started = time.perf_counter()
    done = _proc.run(
        program,
        args,
        timeout=settings.cli_timeout,
        needed_for=f"fleet discover --provider {settings.provider}",
    )
    docs = load_placed(done.stdout, source=f"the output of {shown}")
    hosts = parse_placed(docs, provider=settings.provider)
    seconds = round(time.perf_counter() - started, 3)
    return DiscoverResult(
        provider=settings.provider,
        account=None,
        regions=(RegionReport("all", len(hosts), False, seconds),),
        hosts=tuple(hosts),
    )


def discover(
    settings: DiscoverSettings,
    *,
    cache_root: Path,
    target: AwsTarget | None = None,
    progress: Progress = _quiet,
) -> DiscoverResult:
    """Every instance the provider lists (AWS: per region, through the cache)."""
    if settings.provider != "aws":
        return _discover_cli(settings, progress)
    cache = DiscoverCache(cache_root, ttl=settings.cache_ttl, refresh=settings.refresh)
    return _discover_aws(target or AwsTarget(), settings, cache, progress)


def forget_region(cache_root: Path, target: AwsTarget, region: str) -> None:
    """Drop the cached discover results of ``region`` (after up/down changed it). Never fails."""
    try:
        session = target.session()
        creds = credential_scope(session, target.endpoint_url)
    except StackrigError:
        return
    cache = DiscoverCache(cache_root, ttl=float(10**12))
    entry = cache.get("aws-identity", creds, "global", [])
    if entry is not None and isinstance(entry.payload, dict) and entry.payload.get("account"):
        scope = endpoint_scope(str(entry.payload["account"]), target.endpoint_url)
        cache.drop_region("aws", scope, region)


# ------------------------------------------------------------------ hosts → the inventory of fleet inventory


@dataclass(frozen=True, slots=True)
class InventoryRequest:
    """The inventory options of ``fleet inventory``, for the commands that find hosts themselves."""

    options: InventoryOptions
    output: Path | None = None
    host_vars_dir: Path | None = None

    def inventory(self, hosts: Sequence[Host]) -> InventoryOutcome:
        """Build and write (or render) the inventory of ``hosts`` exactly as ``fleet inventory`` does."""
        from stackrig.fleet import inventory_from_hosts

        return inventory_from_hosts(hosts, self.options, output=self.output, host_vars_dir=self.host_vars_dir)


@dataclass(frozen=True, slots=True)
class DiscoverOutcome:
    result: DiscoverResult
    inventory: InventoryOutcome

    def notes(self) -> tuple[str, ...]:
        return self.inventory.notes()

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider": self.result.provider,
            "partial": self.result.partial,
            "account": self.result.account,
            "regions": [dataclasses.asdict(r) for r in self.result.regions],
            "instances": len(self.result.hosts),
            "inventory": self.inventory.to_dict(),
        }


def discover_inventory(
    settings: DiscoverSettings,
    request: InventoryRequest,
    *,
    cache_root: Path,
    target: AwsTarget | None = None,
    progress: Progress = _quiet,
) -> DiscoverOutcome:
    """``fleet discover``: list the instances, then write the inventory."""
    from stackrig.fleet import NoHostsError

    result = discover(settings, cache_root=cache_root, target=target, progress=progress)
    if not result.hosts:
        where = ", ".join(r.region for r in result.regions)
        hint = "check --filter and --state (--state any lifts the default: running)"
        if settings.provider == "aws":
            hint = "check --region / --all-regions, " + hint + ", and which account the credentials belong to"
        failed = f"; and {'; '.join(result.failed)}" if result.failed else ""
        raise NoHostsError(f"{settings.provider} lists no instances (regions: {where}){failed}", hint=hint)
    return DiscoverOutcome(result, request.inventory(result.hosts))
