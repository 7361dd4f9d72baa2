"""QoS backends behind one small protocol (topology, push, delete).

Selection: the ``--backend`` flag (default ``ovs``); a recorded policy is always
removed through the backend and target it was installed with.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from stackrig.errors import UsageError
from stackrig.qos.backends._base import (
    BACKENDS,
    Backend,
    BackendSpec,
    Observation,
    Orphan,
    Seen,
    push_per_switch,
)
from stackrig.qos.backends.fake import FakeBackend

__all__ = [
    "BACKENDS",
    "Backend",
    "BackendSpec",
    "FakeBackend",
    "Observation",
    "Orphan",
    "Seen",
    "open_backend",
    "opener",
    "push_per_switch",
]


def open_backend(spec: BackendSpec) -> Backend:
    """The backend ``spec`` names (imports only that adapter)."""
    if spec.kind == "ovs":
        from stackrig.qos.backends.ovs import OvsBackend

        return OvsBackend(timeout=spec.timeout, bridges=spec.ovs_bridges)
    if spec.kind in ("ryu", "floodlight"):
        if not spec.controller:
            raise UsageError(f"--backend {spec.kind} needs --controller URL (e.g. http://127.0.0.1:8080)")
        if spec.kind == "ryu":
            from stackrig.qos.backends.ryu import RyuBackend

            return RyuBackend(spec.controller, timeout=spec.timeout)
        from stackrig.qos.backends.floodlight import FloodlightBackend

        return FloodlightBackend(spec.controller, timeout=spec.timeout)
    if spec.kind == "faucet":
        from stackrig.qos.backends.faucet import FaucetBackend

        return FaucetBackend.from_spec(spec)
    raise UsageError(f"invalid --backend {spec.kind!r}: use one of {', '.join(BACKENDS)}")


def opener(spec: BackendSpec) -> Callable[[str, str], Backend]:
    """A function that opens the backend a record was installed with (kind, target)."""

    def open_for(kind: str, target: str) -> Backend:
        if kind == "ovs":
            return open_backend(replace(spec, kind="ovs"))
        if kind in ("ryu", "floodlight"):
            return open_backend(replace(spec, kind=kind, controller=target))
        if kind == "faucet":
            return open_backend(replace(spec, kind=kind, faucet_config=Path(target)))
        raise UsageError(f"the state file names an unknown backend {kind!r}")

    return open_for
