"""stackrig qos: QoS policies on an OpenFlow network (queues, meters, path push) and a lab to try them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stackrig.cli import qos_views as views
from stackrig.cli._common import finish, state
from stackrig.cli._params import Opt, option_group
from stackrig.cli.options import JsonOpt
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

LabOpt = Annotated[str, typer.Option("--lab", help="Lab name (for hosts, Faucet config and PID).")]
NameOpt = Annotated[str, typer.Option("--name", help="Lab name (interface names stay within 15 characters).")]
StateOpt = Annotated[
    Path | None,
    typer.Option(
        "--state", help="Policy state file (default: qos/state.json in the data folder).", dir_okay=False
    ),
]
BackendOpt = Annotated[str, typer.Option("--backend", help="ovs | faucet | ryu | floodlight.")]
ControllerOpt = Annotated[
    str | None,
    typer.Option("--controller", help="Controller REST URL (ryu, floodlight), e.g. http://127.0.0.1:8080."),
]
FaucetConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--faucet-config",
        help="Faucet YAML (default: the lab's, else /etc/faucet/faucet.yaml).",
        dir_okay=False,
    ),
]
FaucetPidOpt = Annotated[
    Path | None,
    typer.Option("--faucet-pid", help="File holding the running Faucet's PID (default: the lab's)."),
]
FaucetMetricsOpt = Annotated[
    str | None,
    typer.Option(
        "--faucet-metrics", help="Faucet's Prometheus URL (default: the lab's, else http://127.0.0.1:9302)."
    ),
]


def _ctx(ctx: typer.Context, state_file: Path | None = None, lab: str = "lab") -> cmd.Context:
    return cmd.Context(state(ctx).paths.qos, state_file, lab)


def _spec(
    *,
    backend: str = "ovs",
    controller: str | None = None,
    faucet_config: Path | None = None,
    faucet_pid: Path | None = None,
    faucet_metrics: str | None = None,
) -> cmd.BackendSpec:
    return cmd.BackendSpec(backend, controller, faucet_config, faucet_pid, faucet_metrics)


_BACKEND = (Opt("backend", BackendOpt, "ovs"), Opt("controller", ControllerOpt, None))
_FAUCET_RUNNING = (Opt("faucet_pid", FaucetPidOpt, None), Opt("faucet_metrics", FaucetMetricsOpt, None))
#: The backend options, passed to a command as one ``spec: cmd.BackendSpec``.
backend_group = option_group("spec", _spec, *_BACKEND)
#: ... with Faucet's config, PID file and metrics URL (commands that install).
full_backend_group = option_group(
    "spec", _spec, *_BACKEND, Opt("faucet_config", FaucetConfigOpt, None), *_FAUCET_RUNNING
)
#: Only the running Faucet's (commands that remove through the backend recorded in the state).
faucet_group = option_group("spec", _spec, *_FAUCET_RUNNING)


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
def lab_down(ctx: typer.Context, name: NameOpt = "lab", json_: JsonOpt = False) -> None:
    """Remove exactly what `lab up` made (also after a crashed `lab up`)."""
    finish(ctx, views.lab_down(cmd.lab_down(_ctx(ctx), name)), json_mode=json_)


@lab_app.command("status", epilog="Example: stackrig qos lab status --json")
def lab_status(ctx: typer.Context, name: NameOpt = "lab", json_: JsonOpt = False) -> None:
    """Show the lab's bridges, hosts and controller, and whether each is alive (exit 1 if not)."""
    finish(ctx, views.lab_status(cmd.lab_status(_ctx(ctx), name)), json_mode=json_)


# ------------------------------------------------------------------ queues


@app.command(
    "queues",
    epilog="Example: sudo stackrig qos queues lab-s1 lab-h1-e --max-rate 10G --queue 1=20M --queue 2=2M",
)
def queues(
    ctx: typer.Context,
    *,
    switch: Annotated[str, typer.Argument(help="Bridge name or datapath id.")],
    ports: Annotated[list[str], typer.Argument(help="Port names or OpenFlow port numbers.")],
    max_rate: Annotated[
        str, typer.Option("--max-rate", help="The port's rate and queue 0's cap (bit/s, SI).")
    ] = "10G",
    queue: Annotated[list[str] | None, typer.Option("--queue", help="ID=RATE, repeatable: 1=20M.")] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Remove the QoS and Queue records instead.")] = False,
    backend: Annotated[str, typer.Option("--backend", help="ovs (ovs-vsctl here) | ryu (rest_qos).")] = "ovs",
    controller: ControllerOpt = None,
    ovsdb: Annotated[
        str, typer.Option("--ovsdb", help="OVSDB address Ryu should use (ryu only).")
    ] = "tcp:127.0.0.1:6640",
    json_: JsonOpt = False,
) -> None:
    """Give ports an OVS QoS record (linux-htb) with queues; idempotent; --clear removes them."""
    spec = _spec(backend=backend, controller=controller)
    result = cmd.queues(switch, ports, max_rate, queue or [], clear, spec=spec, ovsdb=ovsdb)
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
    lab: LabOpt = "lab",
    json_: JsonOpt = False,
) -> None:
    """Install policies (match → meter | queue | DSCP on a switch) and record them."""
    result = cmd.policy_add(_ctx(ctx, state_file, lab), spec, policies or [], file)
    finish(ctx, views.added(result), json_mode=json_)


@policy_app.command("list", epilog="Example: stackrig qos policy list --json")
def policy_list(ctx: typer.Context, state_file: StateOpt = None, json_: JsonOpt = False) -> None:
    """List the installed policies and where they are."""
    finish(ctx, views.policy_list(cmd.policy_list(_ctx(ctx, state_file))), json_mode=json_)


@policy_app.command("remove", epilog="Example: stackrig qos policy remove path-h1-h2")
@faucet_group
def policy_remove(
    ctx: typer.Context,
    *,
    names: Annotated[list[str], typer.Argument(help="Policy names or group names (a path's name).")],
    spec: cmd.BackendSpec,
    state_file: StateOpt = None,
    lab: LabOpt = "lab",
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
    lab: LabOpt = "lab",
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
    lab: LabOpt = "lab",
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
    "verify", epilog="Example: sudo stackrig qos verify --src h1 --dst h2 --expect-max 3.5M --reverse"
)
def verify(
    ctx: typer.Context,
    *,
    src: Annotated[str, typer.Option("--src", help="Sending lab host (h1 or 10.0.0.1).")],
    dst: Annotated[str, typer.Option("--dst", help="Receiving lab host (runs the iperf3 server).")],
    port: Annotated[
        int, typer.Option("--port", help="iperf3 server port (the reverse test uses port+1).")
    ] = 5201,
    seconds: Annotated[float, typer.Option("--seconds", help="Length of each test.")] = 3.0,
    reverse: Annotated[bool, typer.Option("--reverse", help="Also measure dst→src.")] = False,
    expect_max: Annotated[
        str | None, typer.Option("--expect-max", help="Fail (exit 1) above this rate.")
    ] = None,
    expect_min: Annotated[
        str | None, typer.Option("--expect-min", help="Fail (exit 1) below this rate.")
    ] = None,
    lab: LabOpt = "lab",
    json_: JsonOpt = False,
) -> None:
    """Measure the rate between two lab hosts with iperf3 (inside their namespaces)."""
    req = cmd.verify_request(
        src=src,
        dst=dst,
        port=port,
        seconds=seconds,
        reverse=reverse,
        expect_max=expect_max,
        expect_min=expect_min,
    )
    finish(ctx, views.verify(cmd.verify(_ctx(ctx, None, lab), req)), json_mode=json_)
