"""The qos CLI without root: validation, exit codes, nothing written on bad input."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stackrig.errors import UsageError
from stackrig.qos.lab import IFNAMSIZ, LabSpec, check_controller, lab_names, parse_topo
from tests.services import run_unprivileged

STACKRIG = str(Path(sys.executable).parent / "stackrig")

GOOD = {
    "name": "p1",
    "switch": "1",
    "match": {"ipv4_src": "10.0.0.1", "tcp_dst": 5201},
    "action": {"kind": "meter", "rate": "2M"},
}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"switch": "s-one"}, "invalid switch"),
        ({"match": {"ipv4_src": "10.0.0.256"}}, "invalid match.ipv4_src"),
        ({"match": {"tcp_dst": 65536}}, "invalid match.tcp_dst"),
        ({"action": {"kind": "meter", "rate": "fast"}}, "invalid action.rate"),
        ({"action": {"kind": "queue", "queue": 1}}, "invalid action.port"),
        ({"service": "gold"}, "invalid service"),
    ],
)
def test_policy_add_rejects_invalid_fields(
    cli: Any, data_dir: Path, change: dict[str, Any], field: str
) -> None:
    doc = {**GOOD, **change}
    done = cli("qos", "policy", "add", json.dumps(doc), "--json")
    assert done.returncode == 2, done.stderr
    assert field in done.stderr
    assert done.json()["error"]["exit_code"] == 2
    assert not (data_dir / "qos" / "state.json").exists()


def test_policy_add_bad_json_and_missing_input(cli: Any, tmp_path: Path) -> None:
    done = cli("qos", "policy", "add", "{nope")
    assert done.returncode == 2
    assert "not valid JSON" in done.stderr
    done = cli("qos", "policy", "add")
    assert done.returncode == 2
    assert "give a policy" in done.stderr
    done = cli("qos", "policy", "add", "--file", str(tmp_path / "missing.json"))
    assert done.returncode == 2
    assert "does not exist" in done.stderr


def test_state_file_kept_when_damaged(cli: Any, tmp_path: Path) -> None:
    state = tmp_path / "mine.json"
    state.write_text("{broken")
    done = cli("qos", "policy", "add", json.dumps(GOOD), "--state", str(state))
    assert done.returncode == 2
    assert "not valid JSON" in done.stderr
    assert state.read_text() == "{broken"


def test_unknown_backend_and_missing_controller(cli: Any) -> None:
    done = cli("qos", "policy", "add", json.dumps(GOOD), "--backend", "pox")
    assert done.returncode == 2
    assert "invalid --backend" in done.stderr
    done = cli("qos", "policy", "add", json.dumps(GOOD), "--backend", "ryu")
    assert done.returncode == 2
    assert "--controller" in done.stderr
    done = cli("qos", "policy", "add", json.dumps(GOOD), "--backend", "ryu", "--controller", "ftp://x")
    assert done.returncode == 2
    assert "REST URL" in done.stderr


def test_empty_state_list_and_rollback(cli: Any) -> None:
    done = cli("qos", "policy", "list", "--json")
    assert done.returncode == 0
    assert done.json()["data"]["installed"] == []
    done = cli("qos", "policy", "rollback")
    assert done.returncode == 2
    assert "nothing to roll back" in done.stderr
    done = cli("qos", "policy", "remove", "ghost")
    assert done.returncode == 2
    assert "no installed policy" in done.stderr


def test_services_cli(cli: Any, data_dir: Path) -> None:
    done = cli("qos", "service", "add", "gold", "--queue", "1", "--dscp", "46", "--json")
    assert done.returncode == 0, done.stderr
    assert done.json()["data"]["name"] == "gold"
    assert cli("qos", "service", "add", "gold", "--dscp", "1").returncode == 4
    bad = cli("qos", "service", "add", "tin", "--dscp", "99")
    assert bad.returncode == 2
    assert "invalid service.dscp" in bad.stderr
    listed = cli("qos", "service", "list", "--json").json()["data"]["services"]
    assert [s["name"] for s in listed] == ["gold"]
    assert "gold" in cli("qos", "service", "list").stdout
    assert cli("qos", "service", "remove", "gold").returncode == 0
    assert cli("qos", "service", "remove", "gold").returncode == 2
    assert json.loads((data_dir / "qos" / "state.json").read_text())["services"] == []


def test_path_flag_validation(cli: Any) -> None:
    done = cli("qos", "path", "--src", "h1", "--dst", "h2", "--rate", "2M", "--queue", "1")
    assert done.returncode == 2
    assert "exactly one of --rate and --queue" in done.stderr
    done = cli("qos", "path", "--src", "h1", "--dst", "h2", "--rate", "2Q")
    assert done.returncode == 2
    assert "invalid --rate" in done.stderr


def test_lab_and_verify_need_a_lab(cli: Any) -> None:
    done = cli("qos", "lab", "status")
    assert done.returncode == 2
    assert "no lab named 'lab'" in done.stderr
    done = cli("qos", "verify", "--src", "h1", "--dst", "h2", "--lab", "other")
    assert done.returncode == 2
    assert "no lab named 'other'" in done.stderr
    done = cli("qos", "verify", "--src", "h1", "--dst", "h2", "--port", "0")
    assert done.returncode == 2
    assert "invalid --port" in done.stderr
    done = cli("qos", "lab", "up", "--topo", "ring,3")
    assert done.returncode == 2
    assert "invalid --topo" in done.stderr
    done = cli("qos", "lab", "up", "--controller", "somewhere")
    assert done.returncode == 2
    assert "invalid --controller" in done.stderr
    done = cli("qos", "queues", "s1", "p1")
    assert done.returncode == 2
    assert "--queue" in done.stderr
    done = cli("qos", "queues", "s1", "p1", "--queue", "1=lots")
    assert done.returncode == 2
    assert "invalid --queue 1" in done.stderr


@pytest.fixture
def world_dir() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="stackrig-qos-"))
    folder.chmod(0o777)
    yield folder
    shutil.rmtree(folder)


def test_lab_up_needs_root(world_dir: Path) -> None:
    done = run_unprivileged([STACKRIG, "--data-dir", str(world_dir), "qos", "lab", "up", "--json"])
    assert done.returncode == 3, done.stderr
    assert "needs root" in done.stderr
    assert json.loads(done.stdout)["error"]["exit_code"] == 3
    assert not (world_dir / "qos").exists()
    down = run_unprivileged([STACKRIG, "--data-dir", str(world_dir), "qos", "lab", "down"])
    assert down.returncode == 3


@given(st.text(alphabet=st.characters(min_codepoint=45, max_codepoint=122), min_size=1, max_size=60))
def test_lab_interface_names_fit_whatever_the_name(name: str) -> None:
    try:
        state = lab_names(LabSpec(name, "linear", 200))
    except UsageError:
        return
    names = [
        *state.bridges,
        *(h.veth for h in state.hosts),
        *(x for p in state.patches for x in (p[2], p[5])),
    ]
    assert all(len(n) <= IFNAMSIZ for n in names)
    assert len(set(names)) == len(names)


def test_lab_names_prefix() -> None:
    assert lab_names(LabSpec("lab", "linear", 2)).bridges == ["lab-s1", "lab-s2"]
    long = lab_names(LabSpec("a-very-long-lab-name", "single", 3))
    assert len(long.bridges) == 1
    assert long.bridges[0] != lab_names(LabSpec("a-very-long-lab-nama", "single", 3)).bridges[0]


def test_parse_topo_and_controller() -> None:
    assert parse_topo("linear, 4") == ("linear", 4)
    assert parse_topo("single,1") == ("single", 1)
    with pytest.raises(UsageError):
        parse_topo("linear,0")
    with pytest.raises(UsageError):
        parse_topo("linear,201")
    assert check_controller("none") == "none"
    assert check_controller("127.0.0.1:6653") == "tcp:127.0.0.1:6653"
    assert check_controller("tcp:127.0.0.1:6653") == "tcp:127.0.0.1:6653"


def test_check_and_sync_options(cli: Any, data_dir: Path) -> None:
    empty = cli("qos", "policy", "list", "--check", "--json")
    assert empty.returncode == 0, empty.stderr
    assert empty.json()["data"]["check"]["policies"] == []
    quiet = cli("qos", "policy", "list", "--check", "--quiet")
    assert quiet.stdout == f"qos state in sync: 0 present ({data_dir / 'qos' / 'state.json'})\n"
    done = cli("qos", "policy", "list", "--quiet")
    assert done.returncode == 2
    assert "--quiet goes with --check" in done.stderr
    done = cli("qos", "policy", "sync")
    assert done.returncode == 2
    assert "say which way to sync" in done.stderr
    done = cli("qos", "policy", "sync", "--reinstall", "--forget", "--json")
    assert done.returncode == 2
    assert "pull opposite ways" in done.json()["error"]["message"]
    nothing = cli("qos", "policy", "sync", "--reinstall", "--remove-orphans")
    assert nothing.returncode == 0
    assert "nothing to do" in nothing.stdout
    assert not (data_dir / "qos" / "state.json").exists()


def test_verify_and_queues_check_options(cli: Any) -> None:
    for args, message in (
        (("--tolerance", "lots"), "invalid --tolerance"),
        (("--sizes", "64,huge"), "invalid --sizes"),
        (("--protocol", "sctp"), "invalid --protocol"),
        (("--duration", "1500ms"), "invalid --duration 1.5s: iperf3 runs whole seconds, 1s-600s"),
        (("--seconds", "0.5"), "invalid --duration 0.5s"),
        (("-t", "soon"), "--duration"),
    ):
        done = cli("qos", "verify", "--src", "h1", "--dst", "h2", *args)
        assert done.returncode == 2, args
        assert message in done.stderr
    done = cli("qos", "queues", "s1", "p1", "--check", "--clear")
    assert done.returncode == 2
    assert "--check reads local OVS" in done.stderr


def test_ovs_not_running_is_missing_with_how_to_start_it(cli: Any, data_dir: Path, tmp_path: Path) -> None:
    """The real ovs-vsctl pointed at an empty run folder: OVS is not running (exit 3, MISSING)."""
    state = data_dir / "qos" / "state.json"
    assert cli("qos", "service", "add", "gold", "--dscp", "46").returncode == 0  # a state file to keep
    before = state.read_bytes()
    env = {"OVS_RUNDIR": str(tmp_path)}
    for args, needs in (
        (("policy", "add", json.dumps(GOOD)), "stackrig qos needs it"),
        (("path", "--src", "10.0.0.1", "--dst", "10.0.0.2", "--rate", "2M"), "stackrig qos needs it"),
        (("queues", "s1", "p1", "--queue", "1=1M"), "stackrig qos queues needs it"),
        (("queues", "s1", "p1", "--check"), "stackrig qos queues needs it"),
    ):
        done = cli("qos", *args, env=env)
        assert done.returncode == 3, (args, done.stderr)
        said = "Open vSwitch is not running on this machine: ovs-vsctl cannot reach its database"
        assert f"{said} ({needs})" in done.stderr
        assert "ovs-ctl start" in done.stderr
        assert state.read_bytes() == before
    # --check: with no lab and no OVS record nothing is asked of OVS, so it stays in sync
    assert cli("qos", "policy", "list", "--check", env=env).returncode == 0
