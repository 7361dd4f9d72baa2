"""Hostile tag values never create a host, group or variable, nor reach Jinja (real Ansible checks)."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from stackrig.fleet import InventoryOptions, build_inventory, parse_documents, write_inventory
from tests.fleet.conftest import BIN, ansible_env, json_script, run_ansible_inventory, unwrap

NASTY = [
    "",
    "\n",
    "a\nb = c\n[evil]\nhost2 ansible_host=6.6.6.6",
    "[all:vars]",
    "x ansible_connection=local",
    "# comment",
    "\"quoted\" 'single'",
    "{{ lookup('pipe', 'touch /tmp/stackrig-hostile-PWNED') }}",
    "{% raw %}{{ 7*7 }}{% endraw %}",
    "{{",
    "}}{#",
    "!unsafe '{{ x }}'",
    '{"__ansible_unsafe": "x"}',
    "ünïcødé 漢字 \u2028 \u0085 🙂",
    "key: value\n- item",
    "&anchor *alias",
    "x" * 10_000,
    "{{ '" + "{" * 5000 + "' }}",
]
SPECIAL = st.sampled_from([*"\n\t\r[]=\"'#{}%:;,\\/$`|&<>!*?@ -_.", "é", "漢", "\u2028", "🙂"])
VALUES = st.one_of(
    st.sampled_from(NASTY),
    st.text(st.one_of(SPECIAL, st.characters(codec="utf-8", exclude_categories=("Cc", "Cs"))), max_size=40),
)
FORMATS = ("ini", "yaml", "json", "script")


def _target(folder: Path, fmt: str) -> Path:
    return folder / f"hosts.{'json' if fmt == 'script' else fmt}"


def _source(target: Path, fmt: str) -> Path:
    """What ansible reads: the file itself, or for the script layout a script printing it."""
    return json_script(target) if fmt == "script" else target


def _doc(tags: list[dict[str, str]], net: int, first_octet: int = 10) -> dict[str, Any]:
    instances = []
    for i, pairs in enumerate(tags):
        instances.append(
            {
                "InstanceId": f"i-{net}{i:04d}",
                "InstanceType": "t3.micro",
                "PrivateIpAddress": f"{first_octet}.{net}.{i // 250}.{i % 250 + 1}",
                "Placement": {"AvailabilityZone": "us-east-1a"},
                "State": {"Code": 16, "Name": "running"},
                "KeyName": pairs.get("Name", "k"),
                "Tags": [{"Key": k, "Value": v} for k, v in pairs.items()],
            }
        )
    return {"Reservations": [{"Instances": instances}]}


TAGS = st.fixed_dictionaries(
    {"Name": VALUES, "Role": VALUES},
    optional={"Owner": VALUES, "x{{ y }}": VALUES, "a=b [c]": VALUES},
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
    database=None,
)
# Values YAML and Ansible would resolve to other types (this test found '0' read back as 0).
@example([[{"Name": "0", "Role": "True"}, {"Name": "1.5", "Role": "null"}]] * 4)
@example([[{"Name": "~", "Role": "yes"}, {"Name": "2024-01-01", "Role": "0x1F"}]] * 4)
@given(st.lists(st.lists(TAGS, min_size=1, max_size=5), min_size=4, max_size=4))
def test_hostile_tags_survive_every_format_exactly(per_format: list[list[dict[str, str]]]) -> None:
    base = Path(tempfile.mkdtemp(prefix="stackrig-hostile-"))
    try:
        expected_vars: dict[str, Any] = {}
        expected_groups: dict[str, set[str]] = {}
        sources = []
        options = InventoryOptions(group_by=("tag:Role", "tag:Name"), groups=("nodes",), user="deploy")
        for net, (fmt, tags) in enumerate(zip(FORMATS, per_format, strict=True), start=1):
            result = build_inventory(parse_documents([_doc(tags, net)]), options)
            folder = base / fmt
            folder.mkdir()
            target = _target(folder, fmt)
            write_inventory(result, target, fmt, host_vars_dir=folder / "host_vars" if fmt == "ini" else None)
            sources.append(_source(target, fmt))
            for host in result.hosts:
                expected_vars[host.name] = dict(host.vars)
            for group, members in result.groups.items():
                expected_groups.setdefault(group, set()).update(members)
        listing = run_ansible_inventory(sources, base)
        hostvars = listing["_meta"]["hostvars"]
        assert set(hostvars) == set(expected_vars)  # no extra host, none lost
        for name, vars_ in expected_vars.items():
            assert unwrap(hostvars[name]) == vars_  # no extra variable, values unchanged (not templated)
        groups = {g: set(body.get("hosts", [])) for g, body in listing.items() if g not in ("_meta", "all")}
        groups.pop("ungrouped", None)
        assert {g: m for g, m in groups.items() if m} == expected_groups  # no extra group
        for name, vars_ in hostvars.items():
            if not name.startswith("10.1."):  # YAML and JSON: every value Jinja could evaluate is unsafe
                for value in vars_["ec2_tags"].values():
                    if "{" in unwrap(value):
                        assert isinstance(value, dict)
                        assert set(value) == {"__ansible_unsafe"}
    finally:
        shutil.rmtree(base)


PLAYBOOK = """
- hosts: all
  gather_facts: false
  tasks:
    - ansible.builtin.copy:
        dest: "{{ out_dir }}/{{ inventory_hostname }}.txt"
        content: "{{ ec2_tags.Evil }}|{{ ec2_key_name }}|{{ ec2_tags | to_json }}"
"""


def test_hostile_values_are_not_evaluated_by_a_real_playbook(tmp_path: Path) -> None:
    """INI (+host_vars), YAML, JSON and script inventories used by ansible-playbook: values print as text."""
    marker = tmp_path / "PWNED"
    evil = "{{ lookup('pipe', 'touch " + str(marker) + "') }}"
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    sources: list[str] = []
    for net, fmt in enumerate(FORMATS, start=1):
        doc = _doc([{"Name": evil, "Evil": evil}], net, first_octet=127)  # loopback only
        result = build_inventory(parse_documents([doc]), InventoryOptions())
        folder = tmp_path / fmt
        folder.mkdir()
        target = _target(folder, fmt)
        write_inventory(result, target, fmt, host_vars_dir=folder / "host_vars" if fmt == "ini" else None)
        sources += ["-i", str(_source(target, fmt))]
    playbook = tmp_path / "show.yml"
    playbook.write_text(PLAYBOOK)
    done = subprocess.run(
        [
            str(BIN / "ansible-playbook"),
            *sources,
            str(playbook),
            "-e",
            json.dumps({"out_dir": str(out_dir), "ansible_connection": "local"}),
        ],
        capture_output=True,
        text=True,
        env={
            **ansible_env(tmp_path),
            "ANSIBLE_CONNECTION": "local",
            "ANSIBLE_PYTHON_INTERPRETER": str(BIN / "python"),
        },
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    written = sorted(out_dir.iterdir())
    assert [p.name for p in written] == ["127.1.0.1.txt", "127.2.0.1.txt", "127.3.0.1.txt", "127.4.0.1.txt"]
    for path in written:
        evil_out, key_out, tags_out = path.read_text().split("|", 2)
        assert evil_out == evil
        assert key_out == evil
        assert json.loads(tags_out) == {"Name": evil, "Evil": evil}
    assert not marker.exists()


@pytest.mark.parametrize("fmt", FORMATS)
def test_hostile_names_become_safe_host_names(fmt: str, tmp_path: Path) -> None:
    doc = _doc([{"Name": v} for v in NASTY[1:8]], 1)
    result = build_inventory(parse_documents([doc]), InventoryOptions(hostname="name"))
    target = _target(tmp_path, fmt)
    write_inventory(result, target, fmt, host_vars_dir=tmp_path / "host_vars" if fmt == "ini" else None)
    listing = run_ansible_inventory([_source(target, fmt)], tmp_path)
    assert set(listing["_meta"]["hostvars"]) == {h.name for h in result.hosts}
    assert len(result.hosts) == 7
    for host in result.hosts:
        assert yaml.safe_load(json.dumps(host.name)) == host.name
