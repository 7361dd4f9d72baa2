"""Every public cloud document of tests/corpus/cloud through ``fleet inventory`` in every format.

Each file gives an inventory or one line saying why not. For an inventory, the real
``ansible-inventory`` reads every format back (ini, yaml and json as plain files, script
through a script): no host is dropped silently (each instance read is in the inventory or
named on stderr with its reason) and every host variable is the same in every format.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.fleet.conftest import json_script, unwrap

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "cloud"
FILES = sorted(p.name for p in CORPUS.glob("*.json"))
FORMATS = ("ini", "yaml", "json", "script")

#: The files that give no inventory, and the reason they give (exit code, start of the one line).
NO_INVENTORY = {
    "aws-describe-instances-docs-broken.json": (2, "is not valid JSON: Invalid control character at line 5"),
    "aws-run-instances-classic-docs.json": (1, "no host has a usable address"),
    "azure-arm-vm-get-libcloud.json": (1, "no host has a usable address"),
    "azure-arm-vm-list-2015-libcloud.json": (1, "no host has a usable address"),
    "azure-arm-vm-list-libcloud.json": (1, "no host has a usable address"),
    "nova-server-get-libcloud.json": (1, "no host has a usable address"),
    "nova-servers-detail-v2.69-down-cell.json": (1, "no host has a usable address"),
}
#: What each file must give: instances read, hosts in the inventory (the rest are named as skipped).
COUNTS = {
    "aws-describe-instances-docs-example.json": (1, 1),
    "aws-run-instances-vpc-docs.json": (1, 1),
    "gce-aggregated-instances-libcloud.json": (3, 3),
    "gce-instance-get-v1beta15-libcloud.json": (1, 1),
    "gce-instances-list-libcloud.json": (1, 1),
    "nova-servers-detail-libcloud.json": (2, 2),
    "nova-servers-detail-v2.1-api-sample.json": (1, 1),
    "nova-servers-detail-v2.47-api-sample.json": (1, 1),
}


def test_the_corpus_is_complete_and_documented() -> None:
    assert len(FILES) >= 15
    assert set(FILES) == set(NO_INVENTORY) | set(COUNTS)
    sources = (CORPUS / "SOURCES.md").read_text()
    for name in FILES:
        row = next((line for line in sources.splitlines() if line.startswith(f"| `{name}` |")), None)
        assert row is not None, f"{name} is not in SOURCES.md"
        repo, commit, path, licence = (cell.strip() for cell in row.split("|")[2:6])
        assert re.fullmatch(r"[\w.-]+/[\w.-]+", repo), row
        assert re.fullmatch(r"[0-9a-f]{40}", commit), row
        assert path, row
        assert licence, row


def _run(cli: Any, name: str, *args: str) -> Any:
    return cli("fleet", "inventory", str(CORPUS / name), "--state", "any", "--hostname", "id", *args)


@pytest.mark.parametrize("name", sorted(NO_INVENTORY))
def test_a_file_without_inventory_says_why_in_one_line(name: str, cli: Any, tmp_path: Path) -> None:
    code, reason = NO_INVENTORY[name]
    target = tmp_path / "hosts"
    target.write_text("previous\n")
    done = _run(cli, name, "-o", str(target))
    assert done.returncode == code, done.stderr
    error = next(line for line in done.stderr.splitlines() if line.startswith("error: "))
    assert reason in error
    assert done.stderr.count("error: ") == 1
    assert target.read_text() == "previous\n"
    envelope = _run(cli, name, "--json").json()
    assert "\n" not in envelope["error"]["message"]
    assert reason in envelope["error"]["message"]


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_every_format_reads_back_with_the_same_hosts_and_variables(
    name: str, cli: Any, tmp_path: Path, ansible_inventory: Callable[..., dict[str, Any]]
) -> None:
    summary = _run(cli, name, "--json").json()
    assert summary["ok"] is True
    data = summary["data"]
    read, kept = COUNTS[name]
    assert (data["read"], len(data["hosts"])) == (read, kept)
    for skipped in data["skipped"]:
        assert any(w.startswith(f"skipped {skipped['instance_id']}") for w in summary["warnings"])
    expected_names = {h["name"] for h in data["hosts"]}
    per_format: dict[str, dict[str, Any]] = {}
    for fmt in FORMATS:
        folder = tmp_path / fmt
        folder.mkdir()
        target = folder / ("hosts.json" if fmt in ("json", "script") else f"hosts.{fmt}")
        extra = ("--host-vars-dir", str(folder / "host_vars")) if fmt == "ini" else ()
        done = _run(cli, name, "--format", fmt, "-o", str(target), *extra)
        assert done.returncode == 0, done.stderr
        assert f"fleet inventory: {kept} hosts" in done.stderr
        listing = ansible_inventory(json_script(target) if fmt == "script" else target)
        hostvars = listing["_meta"]["hostvars"]
        assert set(hostvars) == expected_names, fmt
        for host in data["hosts"]:
            assert unwrap(hostvars[host["name"]])["ansible_host"] == host["ansible_host"]
        per_format[fmt] = {host: unwrap(vars_) for host, vars_ in hostvars.items()}
    for fmt in FORMATS[1:]:
        assert per_format[fmt] == per_format["ini"], f"{fmt} differs from ini (with host_vars)"
