"""QoS on an OpenFlow network: model, state, topology/path, backends, and a lab to try it."""

from __future__ import annotations

from stackrig.qos.backends import Backend, BackendSpec, FakeBackend, open_backend
from stackrig.qos.manage import ChangeResult, PathRequest, add_policies, plan_path, remove_policies, rollback
from stackrig.qos.model import Action, Match, Policy, PolicyFieldError, Service, parse_dpid, parse_rate
from stackrig.qos.state import Installed, PolicyState
from stackrig.qos.topology import Hop, HostInfo, Link, Topology, find_path

__all__ = [
    "Action",
    "Backend",
    "BackendSpec",
    "ChangeResult",
    "FakeBackend",
    "Hop",
    "HostInfo",
    "Installed",
    "Link",
    "Match",
    "PathRequest",
    "Policy",
    "PolicyFieldError",
    "PolicyState",
    "Service",
    "Topology",
    "add_policies",
    "find_path",
    "open_backend",
    "parse_dpid",
    "parse_rate",
    "plan_path",
    "remove_policies",
    "rollback",
]
