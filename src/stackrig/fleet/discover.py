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

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stackrig import _proc
from stackrig.errors import StackrigError, UsageError
from stackrig.fleet._accounts import AccountOptions
from stackrig.fleet._aws import AwsTarget, credential_scope
from stackrig.fleet._aws_discover import AccountReport, Query, RegionReport, discover_aws
from stackrig.fleet._cache import DiscoverCache, endpoint_scope
from stackrig.fleet._snapshots import Snapshot, prune_snapshots, save_snapshot

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
#: Snapshots kept by ``--snapshot`` (the oldest beyond are deleted; fleet history --keep prunes further).
SNAPSHOTS_KEPT = 500

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
    accounts: AccountOptions = dataclasses.field(default_factory=AccountOptions)

    def __post_init__(self) -> None:
        if self.provider not in DISCOVER_PROVIDERS:
            raise UsageError(
                f"unknown provider {self.provider!r}", hint=f"choose one of {', '.join(DISCOVER_PROVIDERS)}"
            )
        if self.provider != "aws" and (self.regions or self.all_regions):
            raise UsageError("--region and --all-regions apply to --provider aws only")
        if self.provider != "aws" and self.accounts.accounts:
            raise UsageError("--account applies to --provider aws only")
        if self.regions and self.all_regions:
            raise UsageError("give --region or --all-regions, not both")
        if self.cache_ttl < 0:
            raise UsageError("--cache-ttl must be 0 (off) or more seconds")


@dataclass(frozen=True, slots=True)
class DiscoverResult:
    provider: str
    account: str | None
    regions: tuple[RegionReport, ...]
    hosts: tuple[Host, ...] = dataclasses.field(repr=False)
    accounts: tuple[AccountReport, ...] = ()

    @property
    def partial(self) -> bool:
        return bool(self.failed)

    @property
    def failed(self) -> tuple[str, ...]:
        """Each part that failed, named with its reason (the result is partial when there is one)."""
        parts = [f"account {a.label}: {a.error}" for a in self.accounts if a.error]
        parts += [
            f"{f'account {r.account}, ' if r.account else ''}region {r.region}: {r.error}"
            for r in self.regions
            if r.error
        ]
        return tuple(parts)


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
    """Every instance the provider lists (AWS: per account and region, through the cache)."""
    if settings.provider != "aws":
        return _discover_cli(settings, progress)
    cache = DiscoverCache(cache_root, ttl=settings.cache_ttl, refresh=settings.refresh)
    query = Query(
        settings.regions,
        settings.all_regions,
        tuple(ec2_filters(settings.filters, settings.state)),
        settings.max_workers,
    )
    hosts, regions, accounts = discover_aws(target or AwsTarget(), settings.accounts, query, cache, progress)
    first = next((a.account_id for a in accounts if a.account_id), None)
    return DiscoverResult("aws", first, tuple(regions), tuple(hosts), tuple(accounts))


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
    snapshot: Snapshot | None = None

    def notes(self) -> tuple[str, ...]:
        return self.inventory.notes()

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider": self.result.provider,
            "partial": self.result.partial,
            "account": self.result.account,
            "accounts": [dataclasses.asdict(a) for a in self.result.accounts],
            "regions": [dataclasses.asdict(r) for r in self.result.regions],
            "instances": len(self.result.hosts),
            "snapshot": dataclasses.asdict(self.snapshot) if self.snapshot else None,
            "inventory": self.inventory.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class SnapshotPlace:
    """Where ``--snapshot`` keeps discoveries: the folder of files and the SQLite history."""

    folder: Path
    db: Path
    keep: int = SNAPSHOTS_KEPT


def discover_inventory(
    settings: DiscoverSettings,
    request: InventoryRequest,
    *,
    cache_root: Path,
    target: AwsTarget | None = None,
    progress: Progress = _quiet,
    snapshot: SnapshotPlace | None = None,
) -> DiscoverOutcome:
    """``fleet discover``: list the instances, keep a snapshot if asked, then write the inventory."""
    from stackrig.fleet import NoHostsError

    result = discover(settings, cache_root=cache_root, target=target, progress=progress)
    kept = None
    if snapshot is not None:
        kept = save_snapshot(snapshot.folder, snapshot.db, result, settings.filters)
        prune_snapshots(snapshot.db, keep=snapshot.keep)
    if not result.hosts:
        where = ", ".join(r.region for r in result.regions)
        hint = "check --filter and --state (--state any lifts the default: running)"
        if settings.provider == "aws":
            hint = "check --region / --all-regions, " + hint + ", and which account the credentials belong to"
        failed = f"; and {'; '.join(result.failed)}" if result.failed else ""
        raise NoHostsError(f"{settings.provider} lists no instances (regions: {where}){failed}", hint=hint)
    return DiscoverOutcome(result, request.inventory(result.hosts), kept)
