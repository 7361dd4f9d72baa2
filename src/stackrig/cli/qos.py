"""stackrig qos: QoS policies on an OpenFlow network (queues, meters, path push) and a lab to try them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stackrig._units import Seconds
from stackrig.cli import qos_views as views
from stackrig.cli._common import finish, state
from stackrig.cli._qos_options import (
    ControllerOpt,
    LabNameOpt,
    LabOpt,
    NameOpt,
    StateOpt,
    backend_group,
    faucet_group,
    full_backend_group,
    spec_of,
)
from stackrig.cli.options import AllowPartialOpt, Duration, JsonOpt
from stackrig.errors import UsageError
from stackrig.qos import commands as cmd

app = typer.Typer(
    help="QoS on an OpenFlow network: queues, meters, per-path policies, a lab.", no_args_is_help=True
)
lab_app = typer.Typer(
    help="A test bed: userspace OVS bridges with hosts in namespaces (root).", no_args_is_help=True
)
policy_app = typer.Typer(help="Policies on switches, recorded in the state file.", no_args_is_help=True)
service_app = typer.Typer(
    help="Named classes of service (e.g. gold = queue 1 / DSCP 46).", no_args_is_help=True
)
app.add_typer(lab_app, name="lab")
app.add_typer(policy_app, name="policy")
app.add_typer(service_app, name="service")


def _ctx(ctx: typer.Context, state_file: Path | None = None, lab: str | None = None) -> cmd.Context:
    return cmd.Context(state(ctx).paths.qos, state_file, lab)


# ------------------------------------------------------------------ lab


@lab_app.command("up", epilog="Example: sudo stackrig qos lab up --topo linear,4")
def lab_up(
    ctx: typer.Context,
    *,
    topo: Annotated[
        str, typer.Option("--topo", help="linear,N (N switches in a line) or single,N.")
    ] = "linear,4",
    controller: Annotated[
        str, typer.Option("--controller", help="none (OVS switches alone) | faucet | tcp:HOST:PORT.")
    ] = "none",
    name: NameOpt = "lab",
    json_: JsonOpt = False,
) -> None:
    """Build the test bed: bridges s1..sN, hosts h1..hN (10.0.0.i/24), OVS started if needed."""
    finish(ctx, views.lab_up(cmd.lab_up(_ctx(ctx), topo, controller, name)), json_mode=json_)


@lab_app.command("down", epilog="Example: sudo stackrig qos lab down")
def lab_down(
    ctx: typer.Context, name: LabNameOpt = None, state_file: StateOpt = None, json_: JsonOpt = False
) -> None:
    """Remove exactly what `lab up` made (also after a crashed `lab up`), and drop the policies on its
    switches from the state (journaled: `policy rollback` puts them back once the lab is up again)."""
    c = _ctx(ctx, state_file, name)
    finish(ctx, views.lab_down(cmd.lab_down(c, c.lab)), json_mode=json_)


@lab_app.command("status", epilog="Example: stackrig qos lab status --json")
def lab_status(ctx: typer.Context, name: LabNameOpt = None, json_: JsonOpt = False) -> None:
    """Show the lab's bridges, hosts and controller, and whether each is alive (exit 1 if not)."""
    c = _ctx(ctx, None, name)
    finish(ctx, views.lab_status(cmd.lab_status(c, c.lab)), json_mode=json_)


# ------------------------------------------------------------------ queues


@app.command(
    "queues",
    epilog="Example: sudo stackrig qos queues lab-s1 lab-h1-e --max-rate 10G --queue 1=20M --queue 2=2M\n\n"
    "Check: sudo stackrig qos queues lab-s1 lab-h1-e --check",
)
def queues(
    ctx: typer.Context,
    *,
    switch: Annotated[str, typer.Argument(help="Bridge name or datapath id.")],
    ports: Annotated[list[str], typer.Argument(help="Port names or OpenFlow port numbers.")],
    max_rate: Annotated[
        str | None,
        typer.Option("--max-rate", help="The port's rate and queue 0's cap (bit/s, SI; default 10G)."),
    ] = None,
    queue: Annotated[list[str] | None, typer.Option("--queue", help="ID=RATE, repeatable: 1=20M.")] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Remove the QoS and Queue records instead.")] = False,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Change nothing: read back the QoS and Queue records and `tc class show` of each port and "
            "say whether the rates are in place (exit 1 if not); with --queue/--max-rate, also against them.",
        ),
    ] = False,
    backend: Annotated[str, typer.Option("--backend", help="ovs (ovs-vsctl here) | ryu (rest_qos).")] = "ovs",
    controller: ControllerOpt = None,
    ovsdb: Annotated[
        str, typer.Option("--ovsdb", help="OVSDB address Ryu should use (ryu only).")
    ] = "tcp:127.0.0.1:6640",
    json_: JsonOpt = False,
) -> None:
    """Give ports an OVS QoS record (linux-htb) with queues; idempotent; --clear removes them."""
    if check:
        if clear or backend != "ovs":
            raise UsageError("--check reads local OVS and tc: it goes without --clear and --backend")
        finish(
            ctx, views.queues_check(cmd.queues_check(switch, ports, max_rate, queue or [])), json_mode=json_
        )
        return
    spec = spec_of(backend=backend, controller=controller)
    result = cmd.queues(switch, ports, max_rate or "10G", queue or [], clear, spec=spec, ovsdb=ovsdb)
    finish(ctx, views.queues(result), json_mode=json_)


# ------------------------------------------------------------------ policy


_ADD_EXAMPLE = (
    "Example: stackrig qos policy add "
    """'{"name": "p1", "switch": "1", "match": {"ipv4_src": "10.0.0.1"}, """
    """"action": {"kind": "meter", "rate": "2M"}}'"""
)


@policy_app.command("add", epilog=_ADD_EXAMPLE)
@full_backend_group
def policy_add(
    ctx: typer.Context,
    *,
    policies: Annotated[list[str] | None, typer.Argument(help="Policy JSON object(s) (or a list).")] = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="JSON file with a policy or a list.", dir_okay=False)
    ] = None,
    spec: cmd.BackendSpec,
    state_file: StateOpt = None,
    lab: LabOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Install policies (match → meter | queue | DSCP on a switch) and record them."""
    result = cmd.policy_add(_ctx(ctx, state_file, lab), spec, policies or [], file)
    finish(ctx, views.added(result), json_mode=json_)


@policy_app.command(
    "list",
    epilog="Example: stackrig qos policy list --json\n\nFor cron: stackrig qos policy list --check --quiet",
)
@faucet_group
def policy_list(
    ctx: typer.Context,
    *,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Compare with what the switches and controllers hold: each policy present, missing or "
            "changed, plus stray flows with stackrig's cookie on OVS (orphans); exit 1 when they differ.",
        ),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="With --check: print one summary line.")] = False,
    allow_partial: AllowPartialOpt = False,
    spec: cmd.BackendSpec,
    state_file: StateOpt = None,
    lab: LabOpt = None,
    json_: JsonOpt = False,
) -> None:
    """List the installed policies and where they are (--check: and whether they still are)."""
    c = _ctx(ctx, state_file, lab)
    if not check:
        if quiet:
            raise UsageError("--quiet goes with --check")
        finish(ctx, views.policy_list(cmd.policy_list(c)), json_mode=json_)
        return
    report = views.policy_check(cmd.policy_check(c, spec), quiet=quiet, allow_partial=allow_partial)
    finish(ctx, report, json_mode=json_)


@policy_app.command(
    "sync",
    epilog="Example: stackrig qos policy sync --reinstall --remove-orphans (dry run), then again with --yes",
)
@faucet_group
def policy_sync(
    ctx: typer.Context,
    *,
    reinstall: Annotated[
        bool, typer.Option("--reinstall", help="Push what the state says where it is missing or changed.")
    ] = False,
    forget: Annotated[
        bool,
        typer.Option("--forget", help="Drop from the state what the network no longer has (journaled)."),
    ] = False,
    remove_orphans: Annotated[
        bool, typer.Option("--remove-orphans", help="Delete OVS flows with stackrig's cookie in no record.")
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", help="Do it (without: a dry run that exits 1 if anything would change).")
    ] = False,
    allow_partial: AllowPartialOpt = False,
    spec: cmd.BackendSpec,
    state_file: StateOpt = None,
    lab: LabOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Make the state and the network agree, in the direction you pick (a dry run unless --yes)."""
    req = cmd.SyncRequest(reinstall, forget, remove_orphans, yes)
    result = cmd.policy_sync(_ctx(ctx, state_file, lab), spec, req)
    finish(ctx, views.policy_sync(result, allow_partial=allow_partial), json_mode=json_)


@policy_app.command("remove", epilog="Example: stackrig qos policy remove path-h1-h2")
@faucet_group
def policy_remove(
    ctx: typer.Context,
    *,
    names: Annotated[list[str], typer.Argument(help="Policy names or group names (a path's name).")],
    spec: cmd.BackendSpec,
    state_file: StateOpt = None,
    lab: LabOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Remove policies from the network (through the backend that installed them) and the state."""
    result = cmd.policy_remove(_ctx(ctx, state_file, lab), spec, names)
    finish(ctx, views.removed(result), json_mode=json_)


@policy_app.command("rollback", epilog="Example: stackrig qos policy rollback")
@faucet_group
def policy_rollback(
    ctx: typer.Context,
    *,
    spec: cmd.BackendSpec,
    state_file: StateOpt = None,
    lab: LabOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Undo the last change: remove what it added, put back what it removed."""
    finish(ctx, views.rollback(cmd.policy_rollback(_ctx(ctx, state_file, lab), spec)), json_mode=json_)


# ------------------------------------------------------------------ service


@service_app.command("add", epilog="Example: stackrig qos service add gold --queue 1 --dscp 46")
@backend_group
def service_add(
    ctx: typer.Context,
    *,
    name: Annotated[str, typer.Argument(help="Service name.")],
    queue: Annotated[int | None, typer.Option("--queue", help="Queue id.")] = None,
    dscp: Annotated[int | None, typer.Option("--dscp", help="DSCP value 0-63.")] = None,
    rate: Annotated[str | None, typer.Option("--rate", help="Meter rate (bit/s, SI).")] = None,
    spec: cmd.BackendSpec,
    state_file: StateOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Define a named class that policies can use with "service": NAME."""
    stored = cmd.service_add(_ctx(ctx, state_file), spec=spec, name=name, queue=queue, dscp=dscp, rate=rate)
    finish(ctx, views.service(stored, "added"), json_mode=json_)


@service_app.command("list", epilog="Example: stackrig qos service list")
def service_list(ctx: typer.Context, state_file: StateOpt = None, json_: JsonOpt = False) -> None:
    """List the services."""
    finish(ctx, views.service_list(cmd.service_list(_ctx(ctx, state_file))), json_mode=json_)


@service_app.command("remove", epilog="Example: stackrig qos service remove gold")
def service_remove(
    ctx: typer.Context,
    *,
    name: Annotated[str, typer.Argument(help="Service name.")],
    state_file: StateOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Remove a service no policy uses."""
    removed = cmd.service_remove(_ctx(ctx, state_file), name)
    finish(ctx, views.service(removed, "removed"), json_mode=json_)


# ------------------------------------------------------------------ path, verify


@app.command(
    "path",
    epilog="Example: stackrig qos path --src 10.0.0.1 --dst 10.0.0.2 --rate 2M --protocol tcp --dst-port 5201"
    "",
)
@full_backend_group
def path(
    ctx: typer.Context,
    *,
    src: Annotated[str, typer.Option("--src", help="Source host (address or lab name).")],
    dst: Annotated[str, typer.Option("--dst", help="Destination host.")],
    rate: Annotated[
        str | None, typer.Option("--rate", help="Meter rate on every switch (bit/s, SI).")
    ] = None,
    queue: Annotated[
        int | None, typer.Option("--queue", help="Enqueue on this queue of each out port.")
    ] = None,
    protocol: Annotated[str | None, typer.Option("--protocol", help="tcp | udp | icmp.")] = None,
    dst_port: Annotated[
        int | None, typer.Option("--dst-port", help="Destination port (server port).")
    ] = None,
    both_directions: Annotated[bool, typer.Option("--both-directions", help="Also the way back.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the per-switch policies; install nothing.")
    ] = False,
    name: Annotated[str | None, typer.Option("--name", help="Group name (default path-SRC-DST).")] = None,
    spec: cmd.BackendSpec,
    state_file: StateOpt = None,
    lab: LabOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Install one policy per switch on the shortest path between two hosts."""
    req = cmd.path_request(
        src=src,
        dst=dst,
        rate=rate,
        queue=queue,
        protocol=protocol,
        dst_port=dst_port,
        both=both_directions,
        name=name,
    )
    finish(ctx, views.path(cmd.path(_ctx(ctx, state_file, lab), spec, req, dry_run)), json_mode=json_)


@app.command(
    "verify",
    epilog="Example: sudo stackrig qos verify --src h1 --dst h2 --sizes 64,512,1400\n\n"
    "Without a policy: sudo stackrig qos verify --src h1 --dst h2 --expect-min 50M",
)
def verify(
    ctx: typer.Context,
    *,
    src: Annotated[str, typer.Option("--src", help="Sending lab host (h1 or 10.0.0.1).")],
    dst: Annotated[str, typer.Option("--dst", help="Receiving lab host (runs the iperf3 server).")],
    policy: Annotated[
        str | None,
        typer.Option(
            "--policy", help="Policy or group to check (default: the path group recorded for --src/--dst)."
        ),
    ] = None,
    sizes: Annotated[
        str | None,
        typer.Option(
            "--sizes",
            help="Payload sizes in bytes, e.g. 64,512,1400: UDP datagrams (-l) at twice the meter's rate, "
            "TCP segments (--set-mss, at least 88); one test per size and protocol.",
        ),
    ] = None,
    protocol: Annotated[
        str,
        typer.Option("--protocol", help="auto (the policy's; TCP without --sizes) | tcp | udp | both."),
    ] = "auto",
    tolerance: Annotated[
        str | None,
        typer.Option(
            "--tolerance",
            help="How far from a meter's rate is still enforced: TCP at most 1+T times it (default 50%), "
            "UDP within ±T (default 25%); 30% sets both, tcp=60%,udp=20% each.",
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            "--port",
            help="iperf3 server port (default: the policy's, else 5201; the reverse test uses port+1).",
        ),
    ] = None,
    seconds: Annotated[
        float,
        typer.Option(
            "--duration",
            "--seconds",
            "-t",
            click_type=Duration(),
            help="Length of each test, whole seconds (iperf3's -t): 3s, 1m; a bare number is seconds.",
        ),
    ] = Seconds(3),
    reverse: Annotated[bool, typer.Option("--reverse", help="Also measure dst→src.")] = False,
    expect_max: Annotated[
        str | None, typer.Option("--expect-max", help="Fail (exit 1) above this rate.")
    ] = None,
    expect_min: Annotated[
        str | None, typer.Option("--expect-min", help="Fail (exit 1) below this rate.")
    ] = None,
    state_file: StateOpt = None,
    lab: LabOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Prove a policy is enforced: iperf3 between two lab hosts (in their namespaces) and the switches'
    counters (flows, meters, queues) before and after; DSCP from a capture on the receiver."""
    req = cmd.verify_request(
        src=src,
        dst=dst,
        port=port,
        seconds=seconds,
        reverse=reverse,
        expect_max=expect_max,
        expect_min=expect_min,
        policy=policy,
        sizes=sizes,
        protocol=protocol,
        tolerance=tolerance,
    )
    finish(ctx, views.verify(cmd.verify(_ctx(ctx, state_file, lab), req)), json_mode=json_)
