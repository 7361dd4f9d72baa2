"""Options shared by the ``stackrig qos`` commands (declared once), and the backend option groups."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stackrig.cli._params import Opt, option_group
from stackrig.qos.backends import BackendSpec

__all__ = [
    "BackendOpt",
    "ControllerOpt",
    "LabNameOpt",
    "LabOpt",
    "NameOpt",
    "StateOpt",
    "backend_group",
    "faucet_group",
    "full_backend_group",
    "spec_of",
]

LabOpt = Annotated[
    str | None,
    typer.Option(
        "--lab", help="Lab name (hosts, bridges, Faucet config and PID; default: the only lab, else 'lab')."
    ),
]
NameOpt = Annotated[str, typer.Option("--name", help="Lab name (interface names stay within 15 characters).")]
LabNameOpt = Annotated[
    str | None,
    typer.Option("--name", help="Lab name (default: the only lab in the data folder, else 'lab')."),
]
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


def spec_of(
    *,
    backend: str = "ovs",
    controller: str | None = None,
    faucet_config: Path | None = None,
    faucet_pid: Path | None = None,
    faucet_metrics: str | None = None,
) -> BackendSpec:
    return BackendSpec(backend, controller, faucet_config, faucet_pid, faucet_metrics)


_BACKEND = (Opt("backend", BackendOpt, "ovs"), Opt("controller", ControllerOpt, None))
_FAUCET_RUNNING = (Opt("faucet_pid", FaucetPidOpt, None), Opt("faucet_metrics", FaucetMetricsOpt, None))
#: The backend options, passed to a command as one ``spec: BackendSpec``.
backend_group = option_group("spec", spec_of, *_BACKEND)
#: ... with Faucet's config, PID file and metrics URL (commands that install).
full_backend_group = option_group(
    "spec", spec_of, *_BACKEND, Opt("faucet_config", FaucetConfigOpt, None), *_FAUCET_RUNNING
)
#: Only the running Faucet's (commands that remove through the backend recorded in the state).
faucet_group = option_group("spec", spec_of, *_FAUCET_RUNNING)
