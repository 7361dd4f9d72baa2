"""``fleet play`` and ``fleet run`` with the real ansible-playbook: localhost, and SSH to a real sshd."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT
from tests.fleet.conftest import EXAMPLES, ansible_env
from tests.sshd import SshServer, start_sshd

pytestmark = pytest.mark.skipif(not Path("/usr/sbin/sshd").exists(), reason="openssh-server missing")

SITE = EXAMPLES / "playbooks" / "site.yml"
AGENT = EXAMPLES / "templates" / "agent.yml.j2"
PRINT_PREFIX = "{{ ansible_python_interpreter }} -c 'import sys; print(sys.prefix)'"


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    server = start_sshd(tmp_path_factory.mktemp("sshd"))
    try:
        yield server
    finally:
        server.service.stop()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return ansible_env(tmp_path)


def _describe(address: str, name: str = "web-1") -> dict[str, Any]:
    """describe-instances JSON with one running instance whose public address is ``address``."""
    return {
        "Reservations": [
            {
                "Instances": [
                    {
                        "InstanceId": "i-0aaa",
                        "InstanceType": "t3.micro",
                        "PrivateIpAddress": "10.0.0.1",
                        "PublicIpAddress": address,
                        "Placement": {"AvailabilityZone": "us-east-1a"},
                        "State": {"Code": 16, "Name": "running"},
                        "Tags": [{"Key": "Name", "Value": name}],
                    }
                ]
            }
        ]
    }


def test_seed_flow_over_ssh_with_fleet_run(
    tmp_path: Path, sshd: SshServer, env: dict[str, str], cli: Any
) -> None:
    """aws JSON | fleet run: inventory, agent.yml from env, ansible-playbook --key-file over real SSH."""
    work = tmp_path / "work"
    dest = tmp_path / "etc-flocker"
    dest.mkdir()
    env.update({"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "s3cr3t/key"})
    env.update({"MY_AWS_DEFAULT_REGION": "us-east-1", "MY_AWS_ZONE": "a"})
    done = cli(
        "fleet", "run", str(SITE), "-",
        "--port", str(sshd.port), "--user", sshd.user, "--group", "nodes",
        "--render", f"{AGENT}:agent.yml",
        "--key-file", str(sshd.key), "--no-host-key-checking",
        "-e", "ansible_python_interpreter=/usr/bin/python3",
        "-e", f"agent_dest_dir={dest}",
        "-e", f"flocker_agent_yml_path={work}/agent.yml",
        "--workdir", str(work),
        stdin=json.dumps(_describe("127.0.0.1")), env=env, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "127.0.0.1                  : ok=2    changed=1    unreachable=0    failed=0" in done.stdout
    assert "fleet play: ok (1 hosts)" in done.stderr
    # the intermediates stay in the work dir; the secret file is 0600 there and where ansible put it
    inventory = (work / "inventory.ini").read_text()
    assert f"127.0.0.1 ansible_host=127.0.0.1 ansible_user={sshd.user} ansible_port={sshd.port}" in inventory
    assert (work / "host_vars" / "127.0.0.1.yml").exists()
    assert (work / "agent.yml").stat().st_mode & 0o777 == 0o600
    installed = yaml.safe_load((dest / "agent.yml").read_text())
    assert installed["control-service"]["hostname"] == "127.0.0.1"
    assert installed["dataset"]["secret_access_key"] == "s3cr3t/key"
    assert installed["dataset"]["zone"] == "us-east-1a"
    assert (dest / "agent.yml").stat().st_mode & 0o777 == 0o600


def test_play_over_ssh_unreachable_and_loose_key_file(
    tmp_path: Path, sshd: SshServer, env: dict[str, str], cli: Any
) -> None:
    """A closed port is unreachable (exit 1, named); a 0644 key file draws ssh's complaint first."""
    loose = tmp_path / "key"
    loose.write_bytes(sshd.key.read_bytes())
    loose.chmod(0o644)
    closed = sshd.port + 1 if sshd.port < 65535 else sshd.port - 1
    inventory = tmp_path / "hosts.yml"
    done = cli(
        "fleet", "inventory", "-", "--format", "yaml", "--port", str(closed), "-o", str(inventory),
        stdin=json.dumps(_describe("127.0.0.1")),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    done = cli(
        "fleet", "play", str(SITE), "-i", str(inventory), "--key-file", str(loose), "--no-host-key-checking",
        "--json", env=env,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    doc = done.json()
    assert doc["ok"] is False
    assert doc["data"]["unreachable"] == ["127.0.0.1"]
    assert any("has mode 0644" in w and "chmod 600" in w for w in doc["warnings"])
    assert any("unreachable: 127.0.0.1" in w for w in doc["warnings"])
    assert "UNREACHABLE" in done.stderr  # ansible's own output went to stderr in --json mode


@pytest.mark.parametrize("fmt", ["json", "script"])
def test_play_localhost_json_inventory_uses_venv_python(
    fmt: str, tmp_path: Path, env: dict[str, str], cli: Any
) -> None:
    """A JSON inventory of 127.0.0.1 run with ansible_connection=local (as it is, or through a script)."""
    inventory = tmp_path / "hosts.json"
    done = cli(
        "fleet",
        "inventory",
        "-",
        "--format",
        fmt,
        "-o",
        str(inventory),
        stdin=json.dumps(_describe("127.0.0.1")),
    )
    assert done.returncode == 0, done.stderr
    playbook = tmp_path / "facts.yml"
    out = tmp_path / "out.txt"
    playbook.write_text(
        yaml.safe_dump(
            [
                {
                    "hosts": "all",
                    "gather_facts": False,
                    "tasks": [
                        {
                            "ansible.builtin.command": PRINT_PREFIX,
                            "register": "py",
                            "changed_when": False,
                        },
                        {
                            "ansible.builtin.copy": {
                                "content": "{{ py.stdout }} {{ ec2_tags.Name }} {{ greeting }}\n",
                                "dest": str(out),
                            }
                        },
                    ],
                }
            ]
        )
    )
    done = cli(
        "fleet", "play", str(playbook), "-i", str(inventory), "-e", "ansible_connection=local",
        "-e", "greeting=hello world", env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert out.read_text() == f"{sys.prefix} web-1 hello world\n"


def test_failed_host_is_exit_1_naming_it(tmp_path: Path, env: dict[str, str], cli: Any) -> None:
    inventory = tmp_path / "hosts"
    inventory.write_text("localhost ansible_connection=local\n")
    playbook = tmp_path / "fail.yml"
    playbook.write_text(
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.fail:\n        msg: boom\n"
    )
    done = cli(
        "fleet", "play", str(playbook), "-i", str(inventory), "--limit", "localhost", "--", "-v", env=env
    )
    assert done.returncode == 1
    assert "error: ansible-playbook exited with 2: failed on localhost" in done.stderr
    assert "boom" in done.stdout


def test_quiet_json_play_keeps_only_the_document_and_errors(
    tmp_path: Path, env: dict[str, str], cli: Any
) -> None:
    """Beside --json, ansible-playbook's output is progress on stderr: -q silences it; the error
    that makes it exit 1 is said under -q too (with or without --json)."""
    inventory = tmp_path / "hosts"
    inventory.write_text("localhost ansible_connection=local\n")
    ok, bad = tmp_path / "ok.yml", tmp_path / "fail.yml"
    ok.write_text("- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.ping:\n")
    bad.write_text(
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.fail:\n        msg: boom\n"
    )
    loud = cli("fleet", "play", str(ok), "-i", str(inventory), "--json", env=env)
    assert loud.returncode == 0, loud.stderr
    assert "PLAY RECAP" in loud.stderr
    quiet = cli("-q", "fleet", "play", str(ok), "-i", str(inventory), "--json", env=env)
    assert quiet.returncode == 0
    assert quiet.stderr == ""
    assert json.loads(quiet.stdout)["ok"] is True
    failed = cli("-q", "fleet", "play", str(bad), "-i", str(inventory), "--json", env=env)
    assert failed.returncode == 1
    assert failed.stderr == "error: ansible-playbook exited with 2: failed on localhost\n"
    assert json.loads(failed.stdout)["ok"] is False
    failed = cli("-q", "fleet", "play", str(bad), "-i", str(inventory), env=env)  # text mode: the same error
    assert failed.returncode == 1
    assert failed.stderr == "error: ansible-playbook exited with 2: failed on localhost\n"


def test_bad_play_inputs(tmp_path: Path, env: dict[str, str], cli: Any) -> None:
    inventory = tmp_path / "hosts"
    inventory.write_text("localhost ansible_connection=local\n")
    done = cli("fleet", "play", str(tmp_path / "nope.yml"), "-i", str(inventory))
    assert done.returncode == 2
    assert "playbook" in done.stderr
    assert "does not exist" in done.stderr
    done = cli("fleet", "play", str(SITE), "-i", str(inventory), "--key-file", str(tmp_path / "nokey"))
    assert done.returncode == 2
    assert "key file" in done.stderr
    done = cli("fleet", "play", str(SITE), "-i", str(tmp_path / "none"))
    assert done.returncode == 2
    assert "inventory" in done.stderr
    done = cli("fleet", "play", str(SITE), "-i", str(inventory), "-e", "@/nonexistent.yml")
    assert done.returncode == 2
    assert "/nonexistent.yml does not exist" in done.stderr
    broken = tmp_path / "broken.yml"
    broken.write_text("- hosts: all\n  tasks:\n    - no_such_module_anywhere: {}\n")
    done = cli("fleet", "play", str(broken), "-i", str(inventory), env=env)
    assert done.returncode == 1
    assert "before running any host" in done.stderr
    done = cli("fleet", "run", str(tmp_path / "nope.yml"), "-", stdin="{}")
    assert done.returncode == 2
    assert "playbook" in done.stderr


def test_missing_ansible_is_exit_3(tmp_path: Path) -> None:
    """A Python without ansible next to it and on PATH: MISSING with the install hint."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    python = bindir / "python3"
    python.symlink_to(os.path.realpath(sys.executable))
    site = next(Path(p) for p in sys.path if p.endswith("site-packages"))
    inventory = tmp_path / "hosts"
    inventory.write_text("localhost ansible_connection=local\n")
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(site)]),
        "STACKRIG_HOME": str(tmp_path / "home"),
        "HOME": str(tmp_path),
    }
    done = subprocess.run(
        [str(python), "-m", "stackrig", "fleet", "play", str(SITE), "-i", str(inventory)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 3, done.stderr
    assert "ansible-playbook is not installed" in done.stderr
    assert "pip install 'stackrig[fleet]'" in done.stderr


def test_run_json_without_workdir_cleans_up(tmp_path: Path, env: dict[str, str], cli: Any) -> None:
    """fleet run --json: envelope with inventory, rendered files and recap; the temp work dir is removed."""
    doc = _describe("127.0.0.1")
    doc["Reservations"][0]["Instances"].append(
        {**doc["Reservations"][0]["Instances"][0], "InstanceId": "i-0bbb"}
    )
    del doc["Reservations"][0]["Instances"][1]["PublicIpAddress"]
    doc["Reservations"][0]["Instances"][1]["PrivateIpAddress"] = "not-an-address"
    template = tmp_path / "motd.j2"
    template.write_text("hello {{ first.name }} {{ vars.who }}\n")
    seen = tmp_path / "seen.txt"
    playbook = tmp_path / "check.yml"
    playbook.write_text(
        "- hosts: all\n  gather_facts: false\n  tasks:\n"
        "    - ansible.builtin.copy:\n"
        "        src: '{{ stackrig_workdir }}/motd'\n"
        f"        dest: {seen}\n"
    )
    done = cli(
        "fleet", "run", str(playbook), "-", "--format", "yaml", "--render", f"{template}:motd",
        "--var", "who=ops", "-e", "ansible_connection=local", "--json", stdin=json.dumps(doc), env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    envelope = done.json()
    data = envelope["data"]
    assert data["workdir"] is None
    assert data["inventory"]["summary"].startswith("1 hosts, 0 groups, 1 skipped")
    assert any("skipped i-0bbb" in w for w in envelope["warnings"])
    assert data["play"]["recap"][0]["host"] == "127.0.0.1"
    rendered = Path(data["rendered"][0])
    assert not rendered.parent.exists()
    assert seen.read_text() == "hello 127.0.0.1 ops\n"
    assert "PLAY RECAP" in done.stderr
