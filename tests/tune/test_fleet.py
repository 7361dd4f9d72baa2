"""``tune audit/apply/revert --inventory``: the real ``ansible`` over SSH to real sshd servers on loopback.

Every host audits its own copy of one tuned tree (``stackrig_tune_root``); a few are changed
on purpose, and the matrix must show exactly those differences and nothing else.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.fleet.conftest import ansible_env
from tests.services import free_port
from tests.sshd import SshServer, start_sshd
from tests.tune.pythons import python

from .conftest import TREES, snapshot

BASE = TREES / "hosts" / "tuned-nvme"
THP_DEFRAG = "sys/kernel/mm/transparent_hugepage/defrag"
SWAPPINESS = "proc/sys/vm/swappiness"


@dataclass
class Fleet:
    inventory: Path
    roots: dict[str, Path]
    data: dict[str, Path]
    env: dict[str, str]
    key: Path


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[SshServer]]:
    started = [start_sshd(tmp_path_factory.mktemp(f"sshd{i}")) for i in range(2)]
    # One login key for the whole fleet (--key-file): the second server accepts the first's too.
    with (started[1].service.workdir / "authorized_keys").open("a") as keys:
        keys.write(Path(f"{started[0].key}.pub").read_text())
    try:
        yield started
    finally:
        for server in started:
            server.service.stop()


def _ssh(server: SshServer, interpreter: str = "/usr/bin/python3") -> str:
    return (
        f"ansible_host=127.0.0.1 ansible_port={server.port} ansible_user={server.user} "
        f"ansible_python_interpreter={interpreter}"
    )


@pytest.fixture
def fleet(tmp_path: Path, servers: list[SshServer]) -> Fleet:
    """Nine hosts: three plain copies, three with a planted difference, one with a Python too old, one
    without Python, one unreachable."""
    a, b = servers
    roots: dict[str, Path] = {}
    data: dict[str, Path] = {}
    for name in ("cmp-1", "cmp-2", "cmp-3", "cmp-4", "cmp-5", "cmp-6", "cmp-8"):
        roots[name] = tmp_path / "roots" / name
        shutil.copytree(BASE, roots[name])
        data[name] = tmp_path / "data" / name
    (roots["cmp-2"] / SWAPPINESS).write_text("60\n")  # swappiness: fail
    (roots["cmp-3"] / THP_DEFRAG).write_text("[always] defer defer+madvise madvise never\n")  # thp: warn
    hosts = {
        "cmp-1": _ssh(a),
        "cmp-2": _ssh(a),
        "cmp-3": _ssh(b),
        "cmp-4": "ansible_connection=local stackrig_tune_skip=smt,kvm",  # waived: smt and kvm
        "cmp-5": _ssh(b, python("3.9")),
        "cmp-6": _ssh(a, python("3.6")),
        "cmp-7": f"ansible_host=127.0.0.1 ansible_port={free_port()} ansible_user={a.user}",
        "cmp-8": "ansible_connection=local",
        "cmp-9": f"ansible_connection=local ansible_python_interpreter={tmp_path}/no/python3",
    }
    lines = ["[compute]"]
    for name, host_vars in hosts.items():
        extra = ""
        if name in roots:
            extra = f" stackrig_tune_root={roots[name]}"
            if "ansible_connection=local" not in host_vars:
                extra += f" stackrig_tune_data_dir={data[name]}"
        lines.append(f"{name} {host_vars}{extra}")
    inventory = tmp_path / "hosts.ini"
    inventory.write_text("\n".join(lines) + "\n")
    return Fleet(inventory, roots, data, ansible_env(tmp_path), a.key)


def _run(cli: Any, fleet: Fleet, *args: str) -> Any:
    return cli(*args, "--inventory", str(fleet.inventory), "--key-file", str(fleet.key),
               "--no-host-key-checking", env=fleet.env, timeout=300)  # fmt: skip


def test_matrix_shows_exactly_the_planted_differences(cli: Any, fleet: Fleet) -> None:
    inventory_before = fleet.inventory.read_bytes()
    roots_before = {name: snapshot(root) for name, root in fleet.roots.items()}
    done = _run(cli, fleet, "tune", "audit", "--json", "--forks", "4")
    assert done.returncode == 1, done.stderr
    doc = done.json()
    data = doc["data"]
    assert doc["partial"] is True
    states = {h["host"]: h["state"] for h in data["hosts"]}
    assert states == {
        "cmp-1": "ok", "cmp-2": "ok", "cmp-3": "ok", "cmp-4": "ok", "cmp-5": "ok",
        "cmp-6": "python-too-old", "cmp-7": "unreachable", "cmp-8": "ok", "cmp-9": "no-python",
    }  # fmt: skip
    assert [g["hosts"] for g in data["groups"]] == [
        ["cmp-1", "cmp-5", "cmp-8"],
        ["cmp-2"],
        ["cmp-3"],
        ["cmp-4"],
    ]
    assert data["majority"] == "A"
    assert {(d["host"], d["check"], d["status"], d["majority"]) for d in data["differences"]} == {
        ("cmp-2", "swappiness", "fail", "pass"),
        ("cmp-3", "transparent-hugepages", "warn", "pass"),
        ("cmp-4", "smt", "waived", "pass"),
        ("cmp-4", "kvm", "waived", "pass"),
    }
    majority = data["groups"][0]["results"]
    for host, cells in data["matrix"].items():
        planted = {d["check"] for d in data["differences"] if d["host"] == host}
        assert {c for c in cells if cells[c] != majority[c]} == planted
    hosts = {h["host"]: h for h in data["hosts"]}
    assert hosts["cmp-5"]["python"].startswith("3.9.")
    assert "Python 3.6." in hosts["cmp-6"]["reason"]
    assert "too old" in hosts["cmp-6"]["reason"]
    assert "Connection refused" in hosts["cmp-7"]["reason"]
    assert hosts["cmp-7"]["report"] is None
    assert (
        hosts["cmp-9"]["reason"]
        == f"no Python at {fleet.inventory.parent}/no/python3 (ansible_python_interpreter)"
    )
    report = hosts["cmp-2"]["report"]
    assert set(report) == {"root", "profile", "findings", "counts"}  # the single-host audit's shape
    assert report["root"] == str(fleet.roots["cmp-2"])
    swap = next(f for f in report["findings"] if f["check"] == "swappiness")
    assert (swap["status"], swap["current"], swap["fix"]) == ("fail", "60", "sysctl -w vm.swappiness=10")
    assert "cmp-6: python-too-old" in done.stderr
    assert "cmp-7: unreachable" in done.stderr
    assert "cmp-9: no-python" in done.stderr
    assert fleet.inventory.read_bytes() == inventory_before
    assert {name: snapshot(root) for name, root in fleet.roots.items()} == roots_before


def test_text_matrix_names_groups_and_differences(cli: Any, fleet: Fleet) -> None:
    done = _run(cli, fleet, "tune", "audit", "--limit", "cmp-1:cmp-2:cmp-4:cmp-8")
    assert done.returncode == 1, done.stderr
    out = done.stdout
    assert "tune audit of 4 hosts" in out
    assert "A (majority): cmp-1, cmp-8" in out
    assert "cmp-2: swappiness fail (majority pass)" in out
    assert "cmp-4: smt waived (majority pass); kvm waived (majority pass)" in out
    assert "Failing checks on 1 host(s): cmp-2" in out


def test_allow_partial_waives_unreachable_hosts_only(cli: Any, fleet: Fleet) -> None:
    clean = _run(cli, fleet, "tune", "audit", "--limit", "cmp-1:cmp-7", "--json")
    assert clean.returncode == 1
    assert clean.json()["partial"] is True
    waived = _run(cli, fleet, "tune", "audit", "--limit", "cmp-1:cmp-7", "--allow-partial", "--json")
    assert waived.returncode == 0, waived.stderr
    assert waived.json()["partial"] is True
    assert "cmp-7: unreachable" in waived.stderr
    too_old = _run(cli, fleet, "tune", "audit", "--limit", "cmp-1:cmp-6", "--allow-partial")
    assert too_old.returncode == 1
    assert "Python too old" in too_old.stdout
    failing = _run(cli, fleet, "tune", "audit", "--limit", "cmp-2:cmp-7", "--allow-partial")
    assert failing.returncode == 1


def test_apply_dry_run_then_yes_then_revert_latest(cli: Any, fleet: Fleet) -> None:
    before = {name: snapshot(root) for name, root in fleet.roots.items()}
    targets = ("--limit", "cmp-1:cmp-2:cmp-4", "--only", "swappiness,smt")
    dry = _run(cli, fleet, "tune", "apply", *targets, "--json")
    assert dry.returncode == 0, dry.stderr
    answers = {h["host"]: h["result"] for h in dry.json()["data"]["hosts"]}
    assert [c["new"] for c in answers["cmp-2"]["plan"]["changes"]] == ["10"]
    assert answers["cmp-1"]["plan"]["changes"] == []
    assert answers["cmp-4"]["waived"] == ["smt"]
    assert {name: snapshot(root) for name, root in fleet.roots.items()} == before

    done = _run(cli, fleet, "tune", "apply", *targets, "--yes", "--json")
    assert done.returncode == 0, done.stderr
    answers = {h["host"]: h["result"] for h in done.json()["data"]["hosts"]}
    backup = Path(answers["cmp-2"]["backup"])
    assert backup.parent == fleet.data["cmp-2"] / "tune" / "backups"  # kept on that host, path reported
    assert backup.is_file()
    assert answers["cmp-1"]["backup"] is None
    assert (fleet.roots["cmp-2"] / SWAPPINESS).read_text() == "10\n"
    after = _run(cli, fleet, "tune", "audit", "--limit", "cmp-2", "--json")
    assert after.returncode == 0, after.stdout
    text = _run(cli, fleet, "tune", "apply", *targets)
    assert "nothing to write" in text.stdout

    reverted = _run(cli, fleet, "tune", "revert", "--latest", "--limit", "cmp-1:cmp-2:cmp-4", "--json")
    assert reverted.returncode == 0, reverted.stderr
    answers = {h["host"]: h["result"] for h in reverted.json()["data"]["hosts"]}
    assert answers["cmp-2"]["backup"] == str(backup)
    assert answers["cmp-1"]["backup"] is None
    assert {name: snapshot(root) for name, root in fleet.roots.items()} == before
    shown = _run(cli, fleet, "tune", "revert", "--latest", "--limit", "cmp-2")
    assert "nothing to revert" in shown.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("tune", "audit", "--limit", "db-*"), "no host in"),
        (("tune", "audit", "--only", "bogus"), "unknown check id bogus"),
        (("tune", "audit", "--root", "/tmp"), "--root does not apply to --inventory runs"),
        (("tune", "apply", "--yes"), "--inventory needs --only"),
        (("tune", "revert", "backup.json"), "--inventory reverts with --latest, not a backup file"),
        (("tune", "revert", "backup.json", "--latest"), "give a backup file or --latest"),
        (("tune", "audit", "--forks", "0"), "--forks must be at least 1"),
        (("tune", "audit", "--instances-path", "/x{{ 7 }}"), "template marker"),
    ],
)
def test_bad_fleet_inputs(cli: Any, fleet: Fleet, args: tuple[str, ...], message: str) -> None:
    before = fleet.inventory.read_bytes()
    roots_before = {name: snapshot(root) for name, root in fleet.roots.items()}
    done = _run(cli, fleet, *args)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert fleet.inventory.read_bytes() == before
    assert {name: snapshot(root) for name, root in fleet.roots.items()} == roots_before


def test_fleet_flags_need_an_inventory_and_an_inventory_must_exist(cli: Any, tmp_path: Path) -> None:
    done = cli("tune", "audit", "--limit", "compute", "--become")
    assert done.returncode == 2
    assert "--limit, --become only work with --inventory" in done.stderr
    missing = cli("tune", "audit", "--inventory", str(tmp_path / "hosts.ini"))
    assert missing.returncode == 2
    assert "does not exist" in missing.stderr
    assert not (tmp_path / "hosts.ini").exists()


def test_an_unknown_waiver_is_that_hosts_error(cli: Any, fleet: Fleet) -> None:
    text = fleet.inventory.read_text().replace("stackrig_tune_skip=smt,kvm", "stackrig_tune_skip=smt,bogus")
    fleet.inventory.write_text(text)
    done = _run(cli, fleet, "tune", "audit", "--limit", "cmp-4:cmp-8", "--allow-partial", "--json")
    assert done.returncode == 1
    hosts = {h["host"]: h for h in done.json()["data"]["hosts"]}
    assert hosts["cmp-4"]["state"] == "error"
    assert "unknown check id in stackrig_tune_skip bogus" in hosts["cmp-4"]["reason"]
    assert hosts["cmp-8"]["state"] == "ok"


@pytest.mark.parametrize("layout", ["script", "json"])
def test_a_json_inventory_in_either_layout(layout: str, cli: Any, fleet: Fleet, tmp_path: Path) -> None:
    """What 'stackrig fleet inventory --format script' writes (read as a dynamic inventory) and what
    '--format json' writes (the YAML plugin's layout, read as a plain file)."""
    hostvars = {
        "cmp-2": {"ansible_connection": "local", "stackrig_tune_root": str(fleet.roots["cmp-2"])},
        "cmp-8": {"ansible_connection": "local", "stackrig_tune_root": str(fleet.roots["cmp-8"])},
    }
    if layout == "script":
        doc: dict[str, Any] = {
            "_meta": {"hostvars": hostvars},
            "all": {"children": ["compute"]},
            "compute": {"hosts": ["cmp-2", "cmp-8"]},
        }
    else:
        doc = {"all": {"hosts": hostvars, "children": {"compute": {"hosts": dict.fromkeys(hostvars)}}}}
    inventory = tmp_path / "hosts.json"
    inventory.write_text(json.dumps(doc))
    done = cli("tune", "audit", "--inventory", str(inventory), "--json", env=fleet.env, timeout=300)
    assert done.returncode == 1, done.stderr
    data = done.json()["data"]
    assert [h["state"] for h in data["hosts"]] == ["ok", "ok"]
    assert {(d["host"], d["check"]) for d in data["differences"]} == set()  # two hosts, no majority
    assert data["majority"] is None
    assert data["matrix"]["cmp-2"]["swappiness"] == "fail"
