"""The inventory plugin stackrig.fleet.discover under the real ansible-inventory and ansible-playbook."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from stackrig.fleet.collection import PACKAGE_ROOT
from tests.fleet import aws_proxy
from tests.fleet.conftest import BIN, ansible_env, unwrap
from tests.fleet.moto import MotoAws

EVIL = "{{ lookup('pipe', 'echo PWNED') }}"


def _config(folder: Path, **options: Any) -> Path:
    path = folder / "fleet.stackrig.yml"
    path.write_text(yaml.safe_dump({"plugin": "stackrig.fleet.discover", **options}))
    return path


def _env(tmp_path: Path, data_dir: Path, collections: Path = PACKAGE_ROOT) -> dict[str, str]:
    env = ansible_env(tmp_path)
    env.update(
        {
            "ANSIBLE_COLLECTIONS_PATH": str(collections),
            "STACKRIG_HOME": str(data_dir),
            "ANSIBLE_INVENTORY_UNPARSED_FAILED": "1",
        }
    )
    return env


def _inventory(config: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "ansible-inventory"), "-i", str(config), "--list"],
        capture_output=True, text=True, env=env, cwd=config.parent, timeout=300, check=False,
    )  # fmt: skip


def test_plugin_lists_hosts_from_the_same_cache_as_fleet_discover(
    aws: MotoAws, cli: Any, tmp_path: Path, data_dir: Path
) -> None:
    made = aws.launch(2, "us-east-1", {"Name": EVIL, "Role": "web"})
    first = cli(
        "fleet", "discover", "--endpoint-url", aws.endpoint, "--region", "us-east-1", "--hostname", "id"
    )
    assert first.returncode == 0, first.stderr
    late = aws.launch(1, "us-east-1", {"Role": "web"})  # behind the cache's back
    config = _config(tmp_path, region=["us-east-1"], endpoint_url=aws.endpoint, hostname="id",
                     group_by=["account", "tag:Role"], user="deploy", cache_ttl="1h")  # fmt: skip
    done = _inventory(config, _env(tmp_path, data_dir))
    assert done.returncode == 0, done.stderr
    listing = json.loads(done.stdout)
    hostvars = listing["_meta"]["hostvars"]
    assert sorted(hostvars) == sorted(made)  # the cached answer, as fleet discover would give it
    one = hostvars[made[0]]
    assert one["ec2_name"] == {"__ansible_unsafe": EVIL}  # cloud values are marked unsafe
    assert unwrap(one["ec2_account_id"]) == "123456789012"
    assert unwrap(one["ansible_user"]) == "deploy"
    assert sorted(listing["account_123456789012"]["hosts"]) == sorted(made)
    assert sorted(listing["tag_Role_web"]["hosts"]) == sorted(made)

    refreshed = _inventory(_config(tmp_path, region=["us-east-1"], endpoint_url=aws.endpoint, hostname="id",
                                   refresh=True), _env(tmp_path, data_dir))  # fmt: skip
    assert refreshed.returncode == 0, refreshed.stderr
    assert sorted(json.loads(refreshed.stdout)["_meta"]["hostvars"]) == sorted(made + late)


def test_playbook_runs_on_the_plugins_hosts_without_evaluating_their_values(
    aws: MotoAws, tmp_path: Path, data_dir: Path
) -> None:
    made = aws.launch(2, "us-east-1", {"Name": EVIL})
    config = _config(tmp_path, region="us-east-1", endpoint_url=aws.endpoint, hostname="id")
    out = tmp_path / "out"
    out.mkdir()
    playbook = tmp_path / "site.yml"
    playbook.write_text(
        yaml.safe_dump(
            [
                {
                    "hosts": "all",
                    "gather_facts": False,
                    "connection": "local",
                    "tasks": [
                        {
                            "ansible.builtin.copy": {
                                "dest": f"{out}/{{{{ inventory_hostname }}}}.txt",
                                "content": "{{ ec2_name }}",
                            }
                        }
                    ],
                }
            ]
        )
    )
    env = _env(tmp_path, data_dir)
    env["ANSIBLE_PYTHON_INTERPRETER"] = str(BIN / "python")
    done = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(config), str(playbook)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{i}.txt" for i in made)
    assert {p.read_text() for p in out.iterdir()} == {EVIL}


def test_a_failing_region_fails_the_source_unless_allow_partial(
    aws: MotoAws, tmp_path: Path, data_dir: Path
) -> None:
    made = aws.launch(1, "us-east-1")
    with aws_proxy.serve("forward", aws.endpoint) as proxy:
        proxy.deny_region = "eu-west-1"
        options = {"region": "us-east-1,eu-west-1", "endpoint_url": proxy.url, "hostname": "id"}
        strict = _inventory(_config(tmp_path, **options), _env(tmp_path, data_dir))
        assert strict.returncode != 0
        assert (
            "only part of the inventory could be read (region eu-west-1: region eu-west-1 is not enabled"
            in (strict.stderr.replace("\n", " "))
        )
        lenient = _inventory(_config(tmp_path, **options, allow_partial=True), _env(tmp_path, data_dir))
    assert lenient.returncode == 0, lenient.stderr
    assert sorted(json.loads(lenient.stdout)["_meta"]["hostvars"]) == made
    assert "failed: region eu-west-1" in lenient.stderr


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ({"hostname": "colour"}, "hostname 'colour' is not one of address, name, id"),
        ({"cache_ttl": "5 parsecs"}, "cache_ttl '5 parsecs' is not a duration"),
    ],
)
def test_bad_option_value_is_one_line(
    tmp_path: Path, data_dir: Path, option: dict[str, str], message: str
) -> None:
    done = _inventory(_config(tmp_path, **option), _env(tmp_path, data_dir))
    assert done.returncode != 0
    assert f"stackrig.fleet.discover: {message}" in done.stderr


def test_an_ansible_that_cannot_import_stackrig_says_how_to_install_it(
    tmp_path: Path, data_dir: Path
) -> None:
    shadow = tmp_path / "stackrig-shadow" / "stackrig"  # coverage omits it (pyproject.toml)
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('No module named stackrig')\n")
    env = _env(tmp_path, data_dir)
    env["PYTHONPATH"] = str(shadow.parent)
    done = _inventory(_config(tmp_path, region="us-east-1"), env)
    assert done.returncode != 0
    line = next(line for line in done.stderr.splitlines() if "needs the stackrig package" in line)
    assert "pip install 'stackrig[fleet]' into the environment that runs Ansible" in line


def test_collection_path_and_install(cli: Any, tmp_path: Path, aws: MotoAws, data_dir: Path) -> None:
    shown = cli("fleet", "ansible-collection", "--json")
    assert shown.returncode == 0, shown.stderr
    info = shown.json()["data"]
    assert info["name"] == "stackrig.fleet"
    assert (Path(info["collections_path"]) / "ansible_collections/stackrig/fleet/galaxy.yml").is_file()
    text = cli("fleet", "ansible-collection")
    assert text.stdout == f"export ANSIBLE_COLLECTIONS_PATH={info['collections_path']}\n"

    root = tmp_path / "collections"
    installed = cli("fleet", "ansible-collection", "--install", "--path", str(root))
    assert installed.returncode == 0, installed.stderr
    plugin = root / "ansible_collections/stackrig/fleet/plugins/inventory/discover.py"
    assert plugin.is_file()
    again = cli("fleet", "ansible-collection", "--install", "--path", str(root))  # an upgrade replaces it
    assert again.returncode == 0, again.stderr
    made = aws.launch(1, "us-east-1")
    config = _config(tmp_path, region="us-east-1", endpoint_url=aws.endpoint, hostname="id")
    done = _inventory(config, _env(tmp_path, data_dir, collections=root))
    assert done.returncode == 0, done.stderr
    assert list(json.loads(done.stdout)["_meta"]["hostvars"]) == made

    foreign = tmp_path / "other" / "ansible_collections" / "stackrig" / "fleet"
    foreign.mkdir(parents=True)
    (foreign / "mine.txt").write_text("keep me\n")
    refused = cli("fleet", "ansible-collection", "--install", "--path", str(tmp_path / "other"))
    assert refused.returncode == 4
    assert "is not the stackrig.fleet collection; nothing was changed" in refused.stderr
    assert sorted(p.name for p in foreign.iterdir()) == ["mine.txt"]
