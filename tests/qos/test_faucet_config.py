"""Faucet config editing without a running Faucet: ACL rules, user ACLs kept, meters named per policy."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from stackrig.errors import MissingError, UsageError
from stackrig.qos._lab_faucet import faucet_config_text
from stackrig.qos.backends.faucet import ALLOW_ALL, FaucetBackend, acl_rule, config_hash
from stackrig.qos.lab import LabSpec, lab_names
from stackrig.qos.model import Policy

BASE: dict[str, Any] = {
    "vlans": {"office": {"vid": 100}},
    "acls": {"users": [{"rule": {"dl_type": 0x0806, "actions": {"allow": 1}}}]},
    "dps": {
        "sw1": {
            "dp_id": 1,
            "hardware": "Open vSwitch",
            "interfaces": {1: {"native_vlan": "office", "acls_in": ["users"]}, 2: {"native_vlan": "office"}},
        },
    },
}


def _policy(name: str, in_port: int, **action: Any) -> Policy:
    return Policy.from_dict(
        {
            "name": name,
            "switch": "1",
            "match": {"in_port": in_port, "tcp_dst": 5201},
            "action": action or {"kind": "meter", "rate": "2M"},
        }
    )


def test_acl_rule_fields() -> None:
    rule = acl_rule(_policy("p", 1), "abc", "stackrig-abc")["rule"]
    assert rule == {
        "description": "stackrig:abc",
        "dl_type": 0x0800,
        "nw_proto": 6,
        "tcp_dst": 5201,
        "actions": {"meter": "stackrig-abc", "allow": 1},
    }
    mark = acl_rule(_policy("m", 1, kind="dscp", dscp=46), "k", None)["rule"]
    assert mark["actions"] == {"allow": 1, "output": {"set_fields": [{"ip_dscp": 46}]}}
    assert len(config_hash("x")) == 64


def test_rebuild_keeps_user_acls_and_adds_allow_all_only_when_alone() -> None:
    doc = copy.deepcopy(BASE)
    backend = FaucetBackend(Path("/nonexistent.yaml"), None, "http://127.0.0.1:9")
    rule = acl_rule(_policy("p", 1), "k1", "m1")
    backend._rebuild_acl(doc, "sw1", 1, [rule])
    assert doc["dps"]["sw1"]["interfaces"][1]["acls_in"] == ["stackrig-sw1-1", "users"]
    assert doc["acls"]["stackrig-sw1-1"] == [rule]  # the user's ACL follows: no allow-all of ours
    backend._rebuild_acl(doc, "sw1", 2, [rule])
    assert doc["acls"]["stackrig-sw1-2"] == [rule, ALLOW_ALL]
    backend._rebuild_acl(doc, "sw1", 1, [])
    backend._rebuild_acl(doc, "sw1", 2, [])
    assert doc == BASE
    with pytest.raises(UsageError, match="no interface 9"):
        backend._rebuild_acl(doc, "sw1", 9, [rule])
    with pytest.raises(UsageError, match="no dp with dp_id 7"):
        FaucetBackend._dp_name(doc, f"{7:016x}")


def test_push_refuses_before_touching_the_config(tmp_path: Path) -> None:
    config = tmp_path / "faucet.yaml"
    config.write_text(yaml.safe_dump(BASE))
    before = config.read_text()
    backend = FaucetBackend(config, None, "http://127.0.0.1:9")
    with pytest.raises(UsageError, match="no queue action"):
        backend.push([_policy("q", 1, kind="queue", queue=1, port=2)], [])
    no_port = Policy.from_dict({"name": "n", "switch": "1", "action": {"kind": "meter", "rate": "1M"}})
    with pytest.raises(UsageError, match=r"set match\.in_port"):
        backend.push([no_port], [])
    with pytest.raises(MissingError, match="no running Faucet known"):
        backend.push([_policy("p", 1)], [])
    dead = tmp_path / "pid"
    dead.write_text("nonsense")
    with pytest.raises(MissingError, match="cannot read Faucet's PID"):
        FaucetBackend(config, dead, "http://127.0.0.1:9").push([_policy("p", 1)], [])
    assert config.read_text() == before
    config.write_text("dps: [unclosed")
    with pytest.raises(UsageError, match="not valid YAML"):
        backend.push([_policy("p", 1)], [])
    config.write_text("- a list")
    with pytest.raises(UsageError, match="not a mapping"):
        backend.push([_policy("p", 1)], [])


def test_lab_faucet_config_stacks_the_line() -> None:
    state = lab_names(LabSpec("lab", "linear", 3))
    doc = yaml.safe_load(faucet_config_text(state))
    assert list(doc["dps"]) == ["lab-s1", "lab-s2", "lab-s3"]
    assert doc["dps"]["lab-s1"]["stack"] == {"priority": 1}
    assert doc["dps"]["lab-s2"]["interfaces"][3] == {"stack": {"dp": "lab-s3", "port": 2}}
    assert doc["dps"]["lab-s3"]["interfaces"][1] == {"name": "h3", "native_vlan": "lab"}
    single = yaml.safe_load(faucet_config_text(lab_names(LabSpec("lab", "single", 2))))
    assert "stack" not in single["dps"]["lab-s1"]
