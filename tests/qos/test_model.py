"""The QoS model: rates, datapath ids, matches, actions, policies, services."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stackrig.errors import UsageError
from stackrig.qos.model import (
    Action,
    Match,
    Policy,
    PolicyFieldError,
    Service,
    format_dpid,
    format_rate,
    parse_dpid,
    parse_rate,
)


@pytest.mark.parametrize(
    ("text", "bits"),
    [
        ("2M", 2_000_000),
        ("2Mbit", 2_000_000),
        ("2mbps", 2_000_000),
        ("2.5M", 2_500_000),
        ("500k", 500_000),
        ("10G", 10**10),
        ("1234", 1234),
        (1234, 1234),
        ("1 Gbit/s", 10**9),
    ],
)
def test_parse_rate(text: str | int, bits: int) -> None:
    assert parse_rate(text) == bits


@pytest.mark.parametrize("text", ["", "fast", "2X", "-2M", "0", "0M", "1000T", "2MiB"])
def test_parse_rate_rejects_with_field_name(text: str) -> None:
    with pytest.raises(PolicyFieldError) as info:
        parse_rate(text, field_name="action.rate")
    assert "action.rate" in str(info.value)
    assert info.value.exit_code == 2


def test_parse_rate_rejects_bool() -> None:
    with pytest.raises(PolicyFieldError):
        parse_rate(True)  # type: ignore[arg-type]


@given(st.integers(min_value=1, max_value=10**13))
def test_parse_rate_integers_round_trip(bits: int) -> None:
    assert parse_rate(str(bits)) == bits


def test_format_rate() -> None:
    assert format_rate(2_000_000) == "2 Mbit/s"
    assert format_rate(1.5e9) == "1.5 Gbit/s"
    assert format_rate(1500) == "1.5 kbit/s"
    assert format_rate(12) == "12 bit/s"


@pytest.mark.parametrize(
    "text", ["00:00:00:00:00:00:00:01", "0000000000000001", "0x1", "1", 1, "00:00:00:00:00:00:00:1"]
)
def test_parse_dpid_forms(text: str | int) -> None:
    assert parse_dpid(text) == "0000000000000001"


@pytest.mark.parametrize(
    "text", ["s1", "00:00:01", "0", "0x", "1:2:3:4:5:6:7:8:9", "xyz", "0x10000000000000000", True]
)
def test_parse_dpid_rejects(text: str) -> None:
    with pytest.raises(PolicyFieldError, match="invalid switch"):
        parse_dpid(text)


def test_format_dpid() -> None:
    assert format_dpid("00000000000000ab", colons=True) == "00:00:00:00:00:00:00:ab"
    assert format_dpid("00000000000000ab") == "00000000000000ab"


def test_match_fills_implied_fields() -> None:
    m = Match.from_dict({"tcp_dst": 5201, "ipv4_src": "10.0.0.1/32", "protocol": "tcp"})
    assert m.eth_type == 0x0800
    assert m.ip_proto == 6
    assert m.ipv4_src == "10.0.0.1"
    m2 = Match.from_dict({"ipv4_dst": "10.0.0.0/255.255.255.0", "udp-dst": "53"})
    assert m2.ipv4_dst == "10.0.0.0/24"
    assert m2.ip_proto == 17
    assert Match.from_dict({"in_port": 3, "vlan": 100, "dscp": 46, "eth_type": "0x0800"}).to_dict() == {
        "eth_type": 0x0800,
        "in_port": 3,
        "vlan": 100,
        "dscp": 46,
    }


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"ipv4_src": "10.0.0.300"}, "match.ipv4_src"),
        ({"ipv4_dst": "not-an-ip"}, "match.ipv4_dst"),
        ({"tcp_dst": 70000}, "match.tcp_dst"),
        ({"udp_src": -1}, "match.udp_src"),
        ({"tcp_dst": "http"}, "match.tcp_dst"),
        ({"in_port": 0}, "match.in_port"),
        ({"vlan": 4096}, "match.vlan"),
        ({"dscp": 64}, "match.dscp"),
        ({"ip_proto": 300}, "match.ip_proto"),
        ({"eth_type": "0x86dd", "ipv4_src": "10.0.0.1"}, "match.eth_type"),
        ({"ip_proto": 17, "tcp_dst": 80}, "match.ip_proto"),
        ({"tcp_dst": 80, "udp_dst": 53}, "match"),
        ({"colour": "blue"}, "match.colour"),
        ({"in_port": True}, "match.in_port"),
    ],
)
def test_match_rejects_naming_the_field(raw: dict[str, object], field: str) -> None:
    with pytest.raises(PolicyFieldError) as info:
        Match.from_dict(raw)
    assert info.value.field == field
    assert f"invalid {field}" in info.value.message


def test_actions() -> None:
    assert Action.meter("2M", 2).to_dict() == {"kind": "meter", "rate": 2_000_000, "port": 2}
    assert Action.enqueue(2, 3).describe() == "queue 2 → port 3"
    assert Action.set_dscp(46).describe() == "set dscp 46"
    assert Action.meter("2M").describe() == "meter 2 Mbit/s"


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"kind": "police"}, "action.kind"),
        ({"kind": "meter"}, "action.rate"),
        ({"kind": "meter", "rate": "lots"}, "action.rate"),
        ({"kind": "queue", "port": 2}, "action.queue"),
        ({"kind": "queue", "queue": 1}, "action.port"),
        ({"kind": "queue", "queue": 1, "port": 0}, "action.port"),
        ({"kind": "dscp"}, "action.dscp"),
        ({"kind": "dscp", "dscp": 99}, "action.dscp"),
        ({"kind": "meter", "rate": "1M", "burst": 3}, "action.burst"),
    ],
)
def test_action_rejects(raw: dict[str, object], field: str) -> None:
    with pytest.raises(PolicyFieldError) as info:
        Action.from_dict(raw)
    assert info.value.field == field


def _policy(**over: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "name": "p1",
        "switch": "00:00:00:00:00:00:00:01",
        "match": {"ipv4_src": "10.0.0.1", "tcp_dst": 5201},
        "action": {"kind": "meter", "rate": "2M", "port": 2},
    }
    doc.update(over)
    return doc


def test_policy_round_trip() -> None:
    policy = Policy.from_dict(_policy(priority=100, group="g"))
    again = Policy.from_dict(policy.to_dict())
    assert again == policy
    assert policy.switch == "0000000000000001"


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"name": "bad name!"}, "name"),
        ({"name": None}, "name"),
        ({"switch": None}, "switch"),
        ({"switch": "s1"}, "switch"),
        ({"priority": 70000}, "priority"),
        ({"match": [1]}, "match"),
        ({"action": None}, "action"),
        ({"service": "gold"}, "service"),
        ({"extra": 1}, "extra"),
        ({"group": "a b"}, "group"),
    ],
)
def test_policy_rejects(over: dict[str, object], field: str) -> None:
    with pytest.raises(PolicyFieldError) as info:
        Policy.from_dict(_policy(**over))
    assert info.value.field == field


def test_policy_not_an_object() -> None:
    with pytest.raises(PolicyFieldError):
        Policy.from_dict([1, 2])  # type: ignore[arg-type]


def test_service_gives_policies_their_action() -> None:
    gold = Service.from_dict({"name": "gold", "queue": 1, "dscp": 46})
    silver = Service.from_dict({"name": "silver", "dscp": 26})
    capped = Service.from_dict({"name": "capped", "rate": "2M", "ids": {"sid": 3}})
    services = {s.name: s for s in (gold, silver, capped)}
    doc = _policy(service="gold", action={"port": 2})
    assert Policy.from_dict(doc, services).action == Action.enqueue(1, 2)
    assert Policy.from_dict(_policy(service="silver", action=None), services).action == Action.set_dscp(26)
    assert Policy.from_dict(_policy(service="capped", action=None), services).action.rate == 2_000_000
    assert Service.from_dict(capped.to_dict()) == capped
    assert gold.to_dict() == {"name": "gold", "queue": 1, "dscp": 46}


def test_service_needs_something() -> None:
    with pytest.raises(UsageError, match="needs a queue, a dscp or a rate"):
        Service.from_dict({"name": "empty"})
    with pytest.raises(PolicyFieldError, match=r"service\.dscp"):
        Service.from_dict({"name": "x", "dscp": 64})


def test_public_names_are_sorted_and_importable() -> None:
    from stackrig import qos

    assert list(qos.__all__) == sorted(qos.__all__)
    assert all(hasattr(qos, name) for name in qos.__all__)


def test_faucet_and_ovs_ctl_are_found_outside_path() -> None:
    from stackrig import _tools

    assert _tools.tool("ovs-ctl").extra_dirs == ("/usr/share/openvswitch/scripts",)
    found = _tools.find_tool("check_faucet_config")
    if found is not None and "/.venv-faucet/" in found:
        assert found.endswith(".venv-faucet/bin/check_faucet_config")
    assert _tools.find_tool("no-such-tool-anywhere") is None
