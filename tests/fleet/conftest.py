"""fleet fixtures: an ansible.cfg-free environment, the real ansible-inventory, and a real moto_server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.fleet.moto import MotoAws, fake_credentials
from tests.services import start_moto_server

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
CLOUD = EXAMPLES / "cloud"
BIN = Path(sys.executable).parent


def ansible_env(base: Path) -> dict[str, str]:
    """Environment for real ansible runs: no user config, no colour, no SSH control masters."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    home = base / "ansible-home"
    home.mkdir(parents=True, exist_ok=True)
    env.update(
        {
            "HOME": str(home),
            "ANSIBLE_HOME": str(home / ".ansible"),
            "ANSIBLE_LOCAL_TEMP": str(home / "tmp"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "ANSIBLE_INVENTORY_UNPARSED_FAILED": "1",
            "ANSIBLE_SSH_ARGS": "-o ControlMaster=no",
            "ANSIBLE_DEPRECATION_WARNINGS": "0",
            "ANSIBLE_LOCALHOST_WARNING": "0",
            "ANSIBLE_GATHERING": "explicit",
            "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        }
    )
    return env


def unwrap(value: Any) -> Any:
    """ansible-inventory prints unsafe values as {"__ansible_unsafe": ...}; compare plain values."""
    if isinstance(value, Mapping):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


def json_script(inventory: Path) -> Path:
    """A dynamic-inventory script that prints a JSON inventory (how Ansible reads the --list layout)."""
    script = inventory.with_suffix(".sh")
    script.write_text(f"#!/bin/sh\nexec cat '{inventory}'\n")
    script.chmod(0o755)
    return script


@pytest.fixture(scope="session")
def ansible_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ansible")


def run_ansible_inventory(sources: Sequence[Path], base: Path) -> dict[str, Any]:
    """Run the real ``ansible-inventory -i SOURCE... --list`` in ``base``; return its JSON (raw).

    Every source is given as it is (a file, or a script made by :func:`json_script`): no wrapper.
    """
    args = [str(BIN / "ansible-inventory")]
    for source in sources:
        args += ["-i", str(source)]
    done = subprocess.run(
        [*args, "--list"],
        capture_output=True,
        text=True,
        env=ansible_env(base),
        cwd=base,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    doc: dict[str, Any] = json.loads(done.stdout)
    return doc


@pytest.fixture(scope="session")
def ansible_inventory(ansible_base: Path) -> Callable[..., dict[str, Any]]:
    """:func:`run_ansible_inventory` in the session's Ansible folder."""

    def run(*sources: Path) -> dict[str, Any]:
        return run_ansible_inventory(sources, ansible_base)

    return run


def group_hosts(listing: Mapping[str, Any], group: str) -> list[str]:
    return list(listing.get(group, {}).get("hosts", []))


# ------------------------------------------------------------------ moto (fleet up / discover / down)


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    service, url = start_moto_server(tmp_path_factory.mktemp("moto"))
    try:
        yield url
    finally:
        service.stop()


@pytest.fixture(scope="session")
def moto_image(moto_endpoint: str) -> str:
    """An AMI of moto's built-in catalogue (the same ids after every reset); looked up once."""
    probe = MotoAws(moto_endpoint, "", "", "")
    ec2 = probe.client()
    return str(ec2.describe_images(Owners=["amazon"], MaxResults=5)["Images"][0]["ImageId"])


@pytest.fixture
def aws(moto_endpoint: str, moto_image: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> MotoAws:
    request = urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")  # noqa: S310 - http on loopback (moto)
    with urllib.request.urlopen(request, timeout=30) as reply:  # noqa: S310 - http on loopback (moto)
        assert reply.status == 200
    fake_credentials(monkeypatch, tmp_path)
    probe = MotoAws(moto_endpoint, "", "", "")
    ec2 = probe.client()
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    ec2.create_key_pair(KeyName="deploy")
    return MotoAws(moto_endpoint, vpc, moto_image, "deploy")
