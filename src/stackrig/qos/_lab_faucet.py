"""The lab's Faucet: its configuration (hosts on one VLAN, switches stacked in a line), its
process (loopback-only OpenFlow and Prometheus ports, PID file) and the wait for every bridge
to connect."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stackrig import _proc, _tools
from stackrig._io import atomic_write, ensure_dir
from stackrig.errors import FailedError

if TYPE_CHECKING:
    from stackrig.qos._lab_plan import LabState

__all__ = ["faucet_config_text", "plan_faucet", "start_faucet", "wait_connected"]


def wait_for(predicate: Callable[[], bool], *, timeout: float, what: str, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise FailedError(f"{what} did not happen within {timeout:g} s")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def faucet_config_text(state: LabState) -> str:
    """A Faucet config for the lab: one VLAN, hosts as native-VLAN ports, switches stacked in a line."""
    import yaml

    dps: dict[str, Any] = {}
    for i, bridge in enumerate(state.bridges):
        interfaces: dict[int, Any] = {}
        for host in state.hosts:
            if host.bridge == bridge:
                interfaces[host.port] = {"name": host.name, "native_vlan": "lab"}
        for a, a_port, _an, b, b_port, _bn in state.patches:
            if a == bridge:
                interfaces[a_port] = {"stack": {"dp": b, "port": b_port}}
            if b == bridge:
                interfaces[b_port] = {"stack": {"dp": a, "port": a_port}}
        dp: dict[str, Any] = {"dp_id": int(state.dpids[bridge], 16), "hardware": "Open vSwitch"}
        if len(state.bridges) > 1 and i == 0:
            dp["stack"] = {"priority": 1}
        dp["interfaces"] = interfaces
        dps[bridge] = dp
    return yaml.safe_dump({"vlans": {"lab": {"vid": 100}}, "dps": dps}, sort_keys=False)


def plan_faucet(state: LabState) -> None:
    if state.path is None:  # pragma: no cover - set by lab_up
        raise FailedError("lab state has no file")
    folder = state.path.with_suffix("")
    state.faucet_config = str(folder / "faucet.yaml")
    state.faucet_port = _free_port()
    state.faucet_metrics = f"http://127.0.0.1:{_free_port()}/"


def start_faucet(state: LabState) -> None:
    if state.faucet_config is None or state.faucet_metrics is None:  # pragma: no cover - set by _plan_faucet
        raise FailedError("Faucet was not planned")
    folder = ensure_dir(Path(state.faucet_config).parent)
    config = Path(state.faucet_config)
    atomic_write(config, faucet_config_text(state))
    faucet = _tools.require("faucet", needed_for="qos lab --controller faucet")
    metrics_port = state.faucet_metrics.rstrip("/").rsplit(":", 1)[1]
    env = dict(os.environ)
    env.update(
        {
            "PATH": os.pathsep.join([str(Path(faucet).parent), env.get("PATH", os.defpath)]),
            "FAUCET_CONFIG": str(config),
            "FAUCET_LOG": str(folder / "faucet.log"),
            "FAUCET_EXCEPTION_LOG": str(folder / "faucet_exception.log"),
            "FAUCET_PROMETHEUS_ADDR": "127.0.0.1",
            "FAUCET_PROMETHEUS_PORT": metrics_port,
        }
    )
    with open(folder / "faucet.out", "ab") as out:
        proc = _proc.start(
            "faucet",
            ["--ryu-ofp-listen-host", "127.0.0.1", "--ryu-ofp-tcp-listen-port", str(state.faucet_port)],
            env=env,
            cwd=folder,
            stdout=out.fileno(),
            stderr=out.fileno(),
            start_new_session=True,
            needed_for="qos lab --controller faucet",
        )
    state.controller_pid = proc.pid
    state.controller_cmd = "faucet"
    atomic_write(folder / "faucet.pid", f"{proc.pid}\n")
    state.save()
    from stackrig.qos.backends.faucet import wait_metrics

    try:
        wait_metrics(state.faucet_metrics, 60)
    except FailedError as exc:
        log_tail = _proc.tail((folder / "faucet.out").read_text(errors="replace"), 5)
        exc.message += f"; faucet said: {log_tail or 'nothing'}"
        raise


def _connected(bridges: Sequence[str]) -> bool:
    """True when every one of ``bridges`` has a controller and all of them are connected."""
    from stackrig.qos.backends.ovs import vsctl_tables

    done = _proc.run(
        "ovs-vsctl",
        [
            "--timeout=10",
            "--format=json",
            "--columns=name,controller",
            "list",
            "Bridge",
            "--",
            "--columns=_uuid,is_connected",
            "list",
            "Controller",
        ],
        timeout=20,
        check=False,
    )
    if done.returncode != 0:
        return False
    rows, controllers = vsctl_tables(done.stdout)
    connected = {c["_uuid"]: c["is_connected"] is True for c in controllers}
    wanted = {r["name"]: r["controller"] for r in rows if r["name"] in set(bridges)}
    if len(wanted) != len(bridges):
        return False
    for refs in wanted.values():
        ids = refs if isinstance(refs, list) else [refs]
        if not ids or not all(connected.get(i, False) for i in ids):
            return False
    return True


def wait_connected(state: LabState) -> None:
    wait_for(lambda: _connected(state.bridges), timeout=60, what="all lab bridges connecting to Faucet")
