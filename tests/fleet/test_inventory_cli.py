"""``stackrig fleet inventory`` end to end: every format read back by the real ansible-inventory."""

from __future__ import annotations

import json
import os
import pty
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from stackrig.fleet import InventoryOptions, build_inventory, load_hosts, read_inventory
from tests.conftest import STACKRIG
from tests.fleet.conftest import CLOUD, group_hosts, json_script, unwrap
from tests.services import run_unprivileged

AWS = CLOUD / "aws-describe-instances.json"
FLAGS = (
    "--group", "nodes", "--group-by", "tag:Role,zone", "--user", "ubuntu", "--hostname", "name",
    "--port", "2222", "--ssh-proxy", "ops@bastion.example.com:22",
)  # fmt: skip


# Written by hand from examples/cloud/aws-describe-instances.json and the flags above, not computed
# by the code under test. The awkward cases: db-1 has no public address (so it is reached on its
# private one through the --ssh-proxy jump host), i-...4 has no Name tag (so it is named by its id,
# with empty tags), web-2 is stopped and i-...3 terminated (so both are left out); ports and state
# codes stay numbers.
_COMMON = {"ansible_user": "ubuntu", "ansible_port": 2222}
EXPECTED: dict[str, dict[str, Any]] = {
    "my-prefix-web-1": {
        "ansible_host": "54.1.2.3", **_COMMON,
        "ec2_id": "i-0123456789abcdef0", "ec2_name": "my-prefix-web-1", "ec2_state": "running",
        "ec2_type": "t3.micro", "ec2_region": "us-east-1", "ec2_zone": "us-east-1a",
        "ec2_private_ip": "10.0.1.10", "ec2_public_ip": "54.1.2.3", "ec2_key_name": "deploy-key",
        "ec2_image": "ami-0abcdef1234567890", "ec2_launch_time": "2024-05-01T10:00:00+00:00",
        "ec2_tags": {"Name": "my-prefix-web-1", "Role": "web"}, "ec2_vpc_id": "vpc-0bbb",
        "ec2_subnet_id": "subnet-0aaa", "ec2_private_dns_name": "ip-10-0-1-10.ec2.internal",
        "ec2_public_dns_name": "ec2-54-1-2-3.compute-1.amazonaws.com", "ec2_state_code": 16,
    },
    "my-prefix-db-1": {
        "ansible_host": "10.0.2.11", **_COMMON,
        "ansible_ssh_common_args": "-o ProxyJump=ops@bastion.example.com:22",
        "ec2_id": "i-0123456789abcdef1", "ec2_name": "my-prefix-db-1", "ec2_state": "running",
        "ec2_type": "t3.micro", "ec2_region": "us-east-1", "ec2_zone": "us-east-1b",
        "ec2_private_ip": "10.0.2.11", "ec2_key_name": "deploy-key", "ec2_image": "ami-0abcdef1234567890",
        "ec2_launch_time": "2024-05-01T10:00:01+00:00", "ec2_tags": {"Name": "my-prefix-db-1", "Role": "db"},
        "ec2_state_code": 16,
    },
    "i-0123456789abcdef4": {
        "ansible_host": "54.1.2.5", **_COMMON,
        "ec2_id": "i-0123456789abcdef4", "ec2_state": "running", "ec2_type": "m5.large",
        "ec2_region": "us-east-1", "ec2_zone": "us-east-1c", "ec2_private_ip": "10.0.3.13",
        "ec2_public_ip": "54.1.2.5", "ec2_key_name": "deploy-key", "ec2_image": "ami-0fedcba9876543210",
        "ec2_launch_time": "2024-05-03T08:00:00+00:00", "ec2_tags": {}, "ec2_state_code": 16,
    },
}  # fmt: skip


def test_the_library_builds_what_the_hand_written_expectation_says() -> None:
    options = InventoryOptions(
        groups=("nodes",),
        group_by=("tag:Role,zone",),
        user="ubuntu",
        hostname="name",
        port=2222,
        ssh_proxy="ops@bastion.example.com:22",
    )
    inventory = build_inventory(load_hosts([AWS]), options)
    assert [h.name for h in inventory.hosts] == list(EXPECTED)
    for host in inventory.hosts:
        assert dict(host.vars) == EXPECTED[host.name], host.name


GROUPS = {
    "nodes": ["my-prefix-web-1", "my-prefix-db-1", "i-0123456789abcdef4"],
    "tag_Role_web": ["my-prefix-web-1"],
    "tag_Role_db": ["my-prefix-db-1"],
    "zone_us_east_1a": ["my-prefix-web-1"],
    "zone_us_east_1b": ["my-prefix-db-1"],
    "zone_us_east_1c": ["i-0123456789abcdef4"],
}
FORMATS = ("ini", "yaml", "json", "script")


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One inventory per format, written by the real CLI (INI with its host_vars folder)."""
    base = tmp_path_factory.mktemp("inventories")
    out: dict[str, Path] = {}
    for fmt in FORMATS:
        folder = base / fmt
        folder.mkdir()
        target = folder / f"hosts.{'json' if fmt == 'script' else fmt}"
        extra = ["--host-vars-dir", str(folder / "host_vars")] if fmt == "ini" else []
        done = subprocess.run(
            [
                str(STACKRIG),
                "fleet",
                "inventory",
                str(AWS),
                *FLAGS,
                "--format",
                fmt,
                "-o",
                str(target),
                *extra,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout == ""
        assert "fleet inventory: 3 hosts, 6 groups, 0 skipped" in done.stderr
        out[fmt] = target
    return out


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_reads_back_with_plain_ansible_inventory(
    fmt: str, written: dict[str, Path], ansible_inventory: Callable[..., dict[str, Any]]
) -> None:
    # ini, yaml and json load as plain files (-i FILE); script is what a dynamic-inventory script
    # prints, so Ansible reads it through one.
    source = json_script(written[fmt]) if fmt == "script" else written[fmt]
    listing = ansible_inventory(source)
    expected = EXPECTED
    hostvars = listing["_meta"]["hostvars"]
    assert sorted(hostvars) == sorted(expected)  # ansible-inventory's own order, not ours
    for name, vars_ in expected.items():
        assert unwrap(hostvars[name]) == vars_, name
    for group, members in GROUPS.items():
        assert group_hosts(listing, group) == members, group
    assert set(listing["all"]["children"]) == {"ungrouped", *GROUPS}
    if fmt != "ini":  # YAML and both JSON layouts mark every cloud string unsafe
        assert hostvars["my-prefix-web-1"]["ec2_tags"]["Role"] == {"__ansible_unsafe": "web"}
        assert hostvars["my-prefix-db-1"]["ec2_zone"] == {"__ansible_unsafe": "us-east-1b"}
        assert hostvars["my-prefix-db-1"]["ansible_user"] == "ubuntu"  # given on the command line
    # our own reader agrees with ansible
    ours = read_inventory(written[fmt])
    assert {e.name: dict(e.vars) for e in ours.hosts} == expected
    assert {g: list(m) for g, m in ours.groups.items()} == GROUPS


def test_json_is_the_yaml_plugins_layout_and_script_the_dynamic_one(written: dict[str, Path]) -> None:
    plain = json.loads(written["json"].read_text())
    assert set(plain) == {"all"}
    assert set(plain["all"]["hosts"]) == {"my-prefix-web-1", "my-prefix-db-1", "i-0123456789abcdef4"}
    assert plain["all"]["children"]["nodes"] == {"hosts": dict.fromkeys(GROUPS["nodes"])}
    script = json.loads(written["script"].read_text())
    assert script["all"]["children"][0] == "ungrouped"
    assert sorted(script["all"]["children"][1:]) == sorted(GROUPS)
    assert set(script["_meta"]["hostvars"]) == set(plain["all"]["hosts"])


def test_ini_without_host_vars_dir_holds_only_safe_values(tmp_path: Path, cli: Any) -> None:
    done = cli("fleet", "inventory", str(AWS), "--hostname", "name", "-o", str(tmp_path / "hosts"))
    assert done.returncode == 0, done.stderr
    assert "left out: add --host-vars-dir" in done.stderr
    text = (tmp_path / "hosts").read_text()
    assert "ec2_tags" not in text
    assert "ec2_id=i-0123456789abcdef0" in text
    assert not (tmp_path / "host_vars").exists()


def test_json_envelope_carries_hosts_groups_skipped_and_content(cli: Any) -> None:
    done = cli(
        "fleet", "inventory", str(AWS), "--state", "any", "--address", "public", "--json", "--group", "g"
    )
    assert done.returncode == 0, done.stderr
    doc = done.json()
    assert doc["command"] == "fleet inventory"
    assert doc["ok"] is True
    assert doc["partial"] is False  # skipped hosts are named with their reason; nothing failed
    data = doc["data"]
    assert [h["name"] for h in data["hosts"]] == ["54.1.2.3", "54.1.2.4", "54.1.2.5"]
    assert data["groups"] == {"g": ["54.1.2.3", "54.1.2.4", "54.1.2.5"]}
    assert {s["instance_id"] for s in data["skipped"]} == {"i-0123456789abcdef1", "i-0123456789abcdef3"}
    assert data["content"].count("ansible_host=") == 3
    assert any("skipped i-0123456789abcdef1" in w for w in doc["warnings"])
    assert done.stderr == ""


def test_stdin_and_several_files(cli: Any) -> None:
    text = AWS.read_text()
    done = cli("fleet", "inventory", "-", str(CLOUD / "gcp-instances-list.json"), stdin=text, env={})
    assert done.returncode == 0, done.stderr
    assert "54.1.2.3 ansible_host=54.1.2.3" in done.stdout
    # GCE ids are digits: Ansible's INI parser would make them numbers, so they stay out of INI
    assert "34.70.1.2 ansible_host=34.70.1.2 gce_name=web-1 " in done.stdout
    assert "gce_id=" not in done.stdout


# ------------------------------------------------------------------ bad input


def test_empty_stdin(cli: Any) -> None:
    done = cli("fleet", "inventory", stdin="")
    assert done.returncode == 2
    assert "error: <stdin> is empty" in done.stderr
    assert "pipe the output of aws ec2 describe-instances" in done.stderr


def test_terminal_on_stdin() -> None:
    leader, follower = pty.openpty()
    try:
        done = subprocess.run(
            [str(STACKRIG), "fleet", "inventory"],
            stdin=follower,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(follower)
        os.close(leader)
    assert done.returncode == 2
    assert "<stdin> is a terminal" in done.stderr
    assert "pipe the output of aws ec2" in done.stderr


def test_invalid_json_names_file_line_and_column(tmp_path: Path, cli: Any) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"Reservations": [\n  {"Instances": [}\n]}')
    done = cli("fleet", "inventory", str(bad))
    assert done.returncode == 2
    assert f"{bad} is not valid JSON" in done.stderr
    assert "line 2, column 18" in done.stderr


def test_unknown_shape(cli: Any) -> None:
    done = cli("fleet", "inventory", "--json", stdin='{"items": [1, 2]}')
    assert done.returncode == 2
    error = done.json()["error"]
    assert error["type"] == "ProviderParseError"
    assert "no shape stackrig understands" in error["message"]
    assert "gcloud compute instances list" in error["hint"]


def test_zero_hosts_after_filtering_is_failed_naming_the_filter(tmp_path: Path, cli: Any) -> None:
    target = tmp_path / "hosts"
    target.write_text("previous inventory\n")
    done = cli("fleet", "inventory", str(AWS), "--filter", "Name=tag:Name,Values=other*", "-o", str(target))
    assert done.returncode == 1
    assert "filter Name=tag:Name,Values=other* removed the last 3" in done.stderr
    assert target.read_text() == "previous inventory\n"


def test_missing_output_folder(tmp_path: Path, cli: Any) -> None:
    done = cli("fleet", "inventory", str(AWS), "-o", str(tmp_path / "nope" / "hosts"))
    assert done.returncode == 2
    assert f"folder {tmp_path / 'nope'} does not exist" in done.stderr
    assert not (tmp_path / "nope").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name != "stackrig-home"] == []


def test_output_equal_to_input_is_a_conflict(tmp_path: Path, cli: Any) -> None:
    given = tmp_path / "in.json"
    shutil.copy(AWS, given)
    done = cli("fleet", "inventory", str(given), "-o", str(given))
    assert done.returncode == 4
    assert "also an input" in done.stderr
    assert given.read_text() == AWS.read_text()


def test_bad_flag_values(cli: Any) -> None:
    done = cli("fleet", "inventory", str(AWS), "--format", "toml")
    assert done.returncode == 2
    assert "'toml' is not one of ini, yaml, json, script" in done.stderr
    done = cli("fleet", "inventory", str(AWS), "--filter", "colour=red")
    assert done.returncode == 2
    assert "unknown field 'colour'" in done.stderr
    done = cli("fleet", "inventory", str(AWS), "--provider", "gcp")
    assert done.returncode == 2
    assert "is not gcp output" in done.stderr


@pytest.fixture
def world_dir() -> Iterator[Path]:
    """A folder others may enter but not write (tmp_path's parents are 0700)."""
    folder = Path(tempfile.mkdtemp(prefix="stackrig-fleet-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


def test_read_only_output_folder_as_unprivileged_user(world_dir: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to drop privileges (CI runs as root)")
    source = world_dir / "in.json"
    shutil.copy(AWS, source)
    source.chmod(0o644)
    existing = world_dir / "hosts"
    existing.write_text("precious\n")
    existing.chmod(0o644)
    done = run_unprivileged(
        [str(STACKRIG), "fleet", "inventory", str(source), "-o", str(existing)],
        env={**os.environ, "STACKRIG_HOME": str(world_dir / "home")},
    )
    assert done.returncode == 2, done.stderr
    assert "permission denied" in done.stderr
    assert str(existing) in done.stderr
    assert existing.read_text() == "precious\n"
    assert sorted(p.name for p in world_dir.iterdir()) == ["hosts", "in.json"]


def test_host_vars_folder_blocked_by_a_file(tmp_path: Path, cli: Any) -> None:
    (tmp_path / "host_vars").write_text("not a folder")
    done = cli(
        "fleet",
        "inventory",
        str(AWS),
        "-o",
        str(tmp_path / "hosts"),
        "--host-vars-dir",
        str(tmp_path / "host_vars"),
    )
    assert done.returncode == 2
    assert "is a file" in done.stderr
    assert not (tmp_path / "hosts").exists()


def test_script_inventory_written_to_stdout_is_a_dynamic_inventory_document(cli: Any) -> None:
    done = cli("fleet", "inventory", str(CLOUD / "openstack-server-list.json"), "--format", "script")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["all"]["children"] == ["ungrouped"]
    assert doc["ungrouped"]["hosts"] == ["172.24.4.120", "10.0.0.22"]
    assert doc["_meta"]["hostvars"]["10.0.0.22"]["os_tags"]["role"] == {"__ansible_unsafe": "db"}
