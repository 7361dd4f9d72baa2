"""fleet up / discover / down: the cloud-API commands of the fleet family (registered on its app)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import Annotated

import typer
from rich.console import Console

from stackrig._units import Seconds
from stackrig.cli._common import consent, finish, state
from stackrig.cli._fleet_options import HostVarsOpt, OutputOpt, inventory_group
from stackrig.cli._params import Opt, option_group
from stackrig.cli.options import AllowPartialOpt, DbOpt, Duration, JsonOpt
from stackrig.errors import UsageError
from stackrig.fleet import InventoryOptions
from stackrig.fleet._accounts import DEFAULT_SESSION_NAME, AccountOptions
from stackrig.fleet.cloud import (
    RETRY_MODES,
    AwsTarget,
    DownPlan,
    DownResult,
    UpOutcome,
    UpSettings,
    fleet_down,
    parse_rule,
    parse_tag,
    plan_down,
    up_inventory,
)
from stackrig.fleet.discover import (
    SNAPSHOTS_KEPT,
    DiscoverOutcome,
    DiscoverSettings,
    InventoryRequest,
    SnapshotPlace,
    discover_inventory,
)
from stackrig.output import Report, stderr_console

__all__ = ["register"]

log = logging.getLogger("stackrig.fleet")

# ------------------------------------------------------------------ AWS options (all three commands)
RegionOpt = Annotated[
    str | None,
    typer.Option("--region", help="AWS region (default: AWS_REGION / AWS_DEFAULT_REGION / the profile's)."),
]
EndpointOpt = Annotated[
    str | None,
    typer.Option(
        "--endpoint-url",
        envvar="AWS_ENDPOINT_URL",
        help="Talk to this EC2-compatible endpoint (private cloud, moto) instead of AWS "
        "[env: AWS_ENDPOINT_URL].",
        show_envvar=False,
    ),
]
ProfileOpt = Annotated[
    str | None,
    typer.Option(
        "--profile", help="Named profile of ~/.aws/config (default: AWS_PROFILE, else the boto3 chain)."
    ),
]
MaxAttemptsOpt = Annotated[
    int,
    typer.Option(
        "--max-attempts",
        min=1,
        max=50,
        envvar="AWS_MAX_ATTEMPTS",
        show_envvar=False,
        help="Attempts per API call, retries of throttled calls included [env: AWS_MAX_ATTEMPTS].",
    ),
]
RetryModeOpt = Annotated[
    str,
    typer.Option(
        "--retry-mode",
        envvar="AWS_RETRY_MODE",
        show_envvar=False,
        help="botocore retry mode: standard or adaptive (client-side rate limiting) [env: AWS_RETRY_MODE].",
    ),
]
PollOpt = Annotated[
    float,
    typer.Option(
        "--poll-interval",
        click_type=Duration(minimum=0.01),
        help="Time between state checks while waiting.",
    ),
]
POLL_DEFAULT, TIMEOUT_DEFAULT = Seconds(2), Seconds(600)
TimeoutOpt = Annotated[
    float,
    typer.Option(
        "--timeout",
        click_type=Duration(minimum=1),
        help="Give up waiting after this long.",
    ),
]


def _target(
    *,
    region: str | None = None,
    endpoint_url: str | None,
    profile: str | None,
    max_attempts: int,
    retry_mode: str,
) -> AwsTarget:
    if retry_mode not in RETRY_MODES[:2]:
        raise UsageError(f"--retry-mode {retry_mode!r} is not standard or adaptive")
    return AwsTarget(
        region=region or None,
        endpoint_url=endpoint_url or None,
        profile=profile or None,
        retry_mode=retry_mode,
        max_attempts=max_attempts,
    )


_AWS_OPTIONS = (
    Opt("endpoint_url", EndpointOpt, None),
    Opt("profile", ProfileOpt, None),
    Opt("max_attempts", MaxAttemptsOpt, 5),
    Opt("retry_mode", RetryModeOpt, "standard"),
)
#: The AWS options of up and down, passed to them as one ``target: AwsTarget``.
aws_group = option_group("target", _target, Opt("region", RegionOpt, None), *_AWS_OPTIONS)
#: The same without --region (discover has its own, for several regions).
aws_endpoint_group = option_group("target", _target, *_AWS_OPTIONS)


@contextlib.contextmanager
def _progress(json_: bool) -> Iterator[Callable[[str], None]]:
    """A progress line on stderr when it is a terminal (and not --json); else log lines (-v)."""
    console = stderr_console()
    if json_ or not console.is_terminal:
        yield log.info
        return
    with console.status("starting") as status:
        yield status.update


def _inventory_lines(console: Console, outcome: UpOutcome | DiscoverOutcome, command: str) -> None:
    inventory = outcome.inventory
    if inventory is None:
        return
    if inventory.output is None:
        console.file.write(inventory.files.content)
    stderr_console().print(f"fleet {command}: {inventory.result.summary()}", markup=False)


# ------------------------------------------------------------------ up


def _up_report(outcome: UpOutcome) -> Report:
    result = outcome.result

    def render(console: Console) -> None:
        err = stderr_console()
        sg = result.security_group
        err.print(
            f"security group {sg.group_name} ({sg.group_id}): {'created' if sg.created else 'kept'}, "
            f"{len(sg.added)} rule(s) added, {len(sg.removed)} removed",
            markup=False,
        )
        err.print(
            f"fleet {result.prefix} in {result.region}: {len(result.instances)} instance(s); "
            f"launched {len(result.launched)}, started {len(result.started)}, "
            f"terminated {len(result.terminated)}",
            markup=False,
        )
        for use in result.subnets:
            public = "public addresses" if use.public_ip_on_launch else "no public address by default"
            err.print(
                f"  subnet {use.subnet_id} ({use.zone}, {public}): {len(use.launched)} launched", markup=False
            )
        for member in result.instances:
            address = member.public_ip or member.private_ip or "-"
            err.print(
                f"  {member.name:<20} {member.instance_id:<22} {member.state:<10} {member.zone or '-':<12} "
                f"{address}",
                markup=False,
            )
        _inventory_lines(console, outcome, "up")

    return Report(outcome.to_dict(), render=render, warnings=outcome.notes())


@aws_group
@inventory_group
def up(  # noqa: PLR0917 - Typer passes options positionally
    ctx: typer.Context,
    prefix: Annotated[str, typer.Option("--prefix", help="Fleet name: instances NAME-<i>, group NAME-sg.")],
    count: Annotated[int, typer.Option("--count", min=0, help="How many instances should run.")],
    image: Annotated[str, typer.Option("--image", help="AMI id to launch.")],
    instance_type: Annotated[str, typer.Option("--type", help="Instance type, e.g. t3.micro.")],
    vpc: Annotated[str, typer.Option("--vpc", help="Existing VPC: the security group and every instance.")],
    key_name: Annotated[str | None, typer.Option("--key-name", help="EC2 key pair for SSH.")] = None,
    subnet: Annotated[
        str | None,
        typer.Option(
            "--subnet",
            help="Subnet of the VPC for new instances (default: the VPC's default-for-zone subnets, else "
            "all its subnets, each new instance in the zone holding the fewest of the fleet).",
        ),
    ] = None,
    public_ip: Annotated[
        bool | None,
        typer.Option(
            "--public-ip/--no-public-ip",
            help="Give new instances a public address, or not (default: the subnet's own setting).",
            show_default=False,
        ),
    ] = None,
    rules: Annotated[
        list[str] | None,
        typer.Option(
            "--rule", help="Ingress rule PROTO:PORT[-PORT]:CIDR (repeatable), e.g. tcp:22:0.0.0.0/0."
        ),
    ] = None,
    tags: Annotated[list[str] | None, typer.Option("--tag", help="Extra tag KEY=VALUE (repeatable).")] = None,
    prune_rules: Annotated[
        bool, typer.Option("--prune-rules", help="Remove ingress rules of NAME-sg that were not asked for.")
    ] = False,
    scale_down: Annotated[
        bool, typer.Option("--scale-down", help="Allow terminating instances above --count.")
    ] = False,
    wait: Annotated[
        bool,
        typer.Option("--wait/--no-wait", help="Wait until every instance runs, then write the inventory."),
    ] = True,
    poll_interval: PollOpt = POLL_DEFAULT,
    timeout: TimeoutOpt = TIMEOUT_DEFAULT,
    *,
    target: AwsTarget,
    options: InventoryOptions,
    host_vars_dir: HostVarsOpt = None,
    output: OutputOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Create fleet NAME on EC2 (security group, N tagged instances), idempotently; write its inventory."""
    settings = UpSettings(
        prefix, count, image, instance_type, key_name, vpc, subnet,
        tuple(parse_rule(r) for r in rules or ()), tuple(parse_tag(t) for t in tags or ()),
        prune_rules, scale_down, wait, poll_interval, timeout, public_ip,
    )  # fmt: skip
    with _progress(json_) as progress:
        outcome = up_inventory(
            target, settings, InventoryRequest(options, output, host_vars_dir),
            cache_root=state(ctx).paths.cache, progress=progress,
        )  # fmt: skip
    finish(ctx, _up_report(outcome), json_mode=json_)


# ------------------------------------------------------------------ discover


def _discover_report(outcome: DiscoverOutcome) -> Report:
    def render(console: Console) -> None:
        err = stderr_console()
        for account in outcome.result.accounts:
            if account.error:
                err.print(f"  account {account.label}: FAILED, see below", markup=False)
        for region in outcome.result.regions:
            if region.error:
                how = "FAILED, see below"
            elif region.cached:
                how = f"cache, {region.cache_age:.0f} s old"
            else:
                how = f"{region.seconds:.2f} s"
            where = f"{region.account} {region.region}" if region.account else region.region
            err.print(f"  {where:<16} {region.instances:>6} instance(s)  ({how})", markup=False)
        if outcome.snapshot is not None:
            err.print(f"  kept as snapshot @{outcome.snapshot.id} ({outcome.snapshot.path})", markup=False)
        _inventory_lines(console, outcome, "discover")

    result = outcome.result
    data = outcome.to_dict()
    return Report(data, render=render, warnings=outcome.notes(), partial=result.partial, failed=result.failed)


@aws_endpoint_group
@inventory_group
def discover(  # noqa: PLR0917 - Typer passes options positionally
    ctx: typer.Context,
    provider: Annotated[
        str,
        typer.Option("--provider", help="aws (boto3), azure (az), gcp (gcloud) or openstack (openstack)."),
    ] = "aws",
    regions: Annotated[
        list[str] | None,
        typer.Option(
            "--region", help="AWS region(s), comma-separated or repeated (default: the configured one)."
        ),
    ] = None,
    all_regions: Annotated[
        bool, typer.Option("--all-regions", help="Every region enabled for the account, in parallel.")
    ] = False,
    cache_ttl: Annotated[
        float,
        typer.Option(
            "--cache-ttl",
            click_type=Duration(),
            help="Reuse results younger than this (0: off).",
        ),
    ] = Seconds(300),
    refresh: Annotated[bool, typer.Option("--refresh", help="Ignore the cache (and renew it).")] = False,
    accounts: Annotated[
        list[str] | None,
        typer.Option(
            "--account",
            help="AWS account to read: a profile name or a role ARN assumed through STS (repeatable or "
            "comma-separated; default: the --profile / boto3 credentials alone).",
        ),
    ] = None,
    external_id: Annotated[
        str | None, typer.Option("--external-id", help="ExternalId for every role --account assumes.")
    ] = None,
    role_session_name: Annotated[
        str, typer.Option("--role-session-name", help="RoleSessionName of the assumed roles (CloudTrail).")
    ] = DEFAULT_SESSION_NAME,
    via: Annotated[
        str | None,
        typer.Option("--via", help="Hub role ARN assumed first, from which every --account role is assumed."),
    ] = None,
    snapshot: Annotated[
        bool,
        typer.Option(
            "--snapshot",
            help=f"Keep this discovery for fleet diff and fleet history (compressed, in the data folder; "
            f"the newest {SNAPSHOTS_KEPT} are kept).",
        ),
    ] = False,
    db: DbOpt = None,
    *,
    target: AwsTarget,
    options: InventoryOptions,
    host_vars_dir: HostVarsOpt = None,
    output: OutputOpt = None,
    allow_partial: AllowPartialOpt = False,
    json_: JsonOpt = False,
) -> None:
    """List instances through the cloud's API (AWS: regions in parallel, cached) and write the inventory.

    A region that fails leaves the others' hosts in the inventory: the result is partial (named on
    stderr, partial: true in the JSON) and exits 1, or 0 with --allow-partial.
    """
    wanted = tuple(r.strip() for given in regions or () for r in given.split(",") if r.strip())
    account_options = AccountOptions(
        tuple(a.strip() for given in accounts or () for a in given.split(",") if a.strip()),
        external_id, role_session_name, via,
    )  # fmt: skip
    settings = DiscoverSettings(
        provider, wanted, all_regions, options.filters, options.resolved_state, cache_ttl, refresh,
        accounts=account_options,
    )  # fmt: skip
    paths = state(ctx).paths
    keep = SnapshotPlace(paths.data_dir / "fleet" / "snapshots", db or paths.db) if snapshot else None
    with _progress(json_) as progress:
        outcome = discover_inventory(
            settings, InventoryRequest(options, output, host_vars_dir),
            cache_root=paths.cache, target=target, progress=progress, snapshot=keep,
        )  # fmt: skip
    finish(ctx, _discover_report(outcome), json_mode=json_, allow_partial=allow_partial)


# ------------------------------------------------------------------ down


def _consent(plan: DownPlan, yes: bool) -> None:
    """Ask on a terminal; without one, refuse unless --yes (CONFLICT)."""
    what = f"{len(plan.instances)} instance(s) and {len(plan.security_groups)} security group(s)"
    consent(
        f"Terminate {what} of fleet {plan.prefix} in {plan.region}?",
        yes=yes,
        refusal=f"refusing to terminate {what} of fleet {plan.prefix} without --yes "
        "(stdin is not a terminal)",
        hint="pass --yes to go ahead, or --dry-run to list them",
    )


def _down_report(result: DownResult) -> Report:
    plan = result.plan

    def render(console: Console) -> None:
        verb = "would terminate" if result.dry_run else "terminated"
        if plan.empty:
            console.print(f"fleet {plan.prefix} in {plan.region}: nothing to remove", markup=False)
            return
        for member in plan.instances:
            console.print(f"{verb} {member.name or '-'} {member.instance_id} ({member.state})", markup=False)
        verb = "would delete" if result.dry_run else "deleted"
        for group in plan.security_groups:
            console.print(f"{verb} security group {group}", markup=False)

    return Report(result, render=render)


@aws_group
def down(  # noqa: PLR0917 - Typer passes options positionally
    ctx: typer.Context,
    prefix: Annotated[str, typer.Option("--prefix", help="Fleet name given to fleet up.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do it without asking.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list what would be removed.")] = False,
    poll_interval: PollOpt = POLL_DEFAULT,
    timeout: TimeoutOpt = TIMEOUT_DEFAULT,
    *,
    target: AwsTarget,
    json_: JsonOpt = False,
) -> None:
    """Terminate the fleet's instances, then delete its security group (asks first)."""
    plan = plan_down(target, prefix)
    if dry_run or plan.empty:
        finish(ctx, _down_report(DownResult(plan, (), (), dry_run=dry_run)), json_mode=json_)
        return
    _consent(plan, yes)
    with _progress(json_) as progress:
        result = fleet_down(
            target, plan, cache_root=state(ctx).paths.cache, poll_interval=poll_interval, timeout=timeout,
            progress=progress,
        )  # fmt: skip
    finish(ctx, _down_report(result), json_mode=json_)


def register(app: typer.Typer) -> None:
    """Add up, discover and down to the fleet app."""
    app.command(
        epilog="Example: stackrig fleet up --prefix web --count 3 --image ami-0abc --type t3.micro "
        "--key-name deploy --vpc vpc-0abc --rule tcp:22:203.0.113.0/24 -o hosts"
    )(up)
    app.command(
        epilog="Example: stackrig fleet discover --region us-east-1,eu-west-1 --filter tag:Name=web-* "
        "--account prod --account arn:aws:iam::123456789012:role/inventory --group-by account -o hosts"
    )(discover)
    app.command(epilog="Example: stackrig fleet down --prefix web --dry-run")(down)
