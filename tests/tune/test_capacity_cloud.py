"""``tune capacity --from-cloud``: the real ``openstack`` CLI authenticating against a stub Keystone on
127.0.0.1, then placement and compute documents fetched with its token (no OpenStack here)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.tune.openstack_stub import TOKEN, Stub, serve
from tests.tune.test_capacity import CORPUS, _corpus, placement_export

from .conftest import snapshot

FLAVOR_ROWS = [
    {"name": "m1.small", "vcpus": 1, "ram": 2048, "disk": 20, "OS-FLV-EXT-DATA:ephemeral": 0, "swap": "",
     "extra_specs": {}},
    {"name": "fpga.tiny", "vcpus": 1, "ram": 512, "disk": 1, "OS-FLV-EXT-DATA:ephemeral": 0, "swap": 1024,
     "extra_specs": {"trait:CUSTOM_HW_FPGA_CLASS1": "required"}},
]  # fmt: skip


def _routes(placement: bool = True) -> dict[str, Any]:
    export = placement_export()
    routes: dict[str, Any] = {
        "/compute/v2.1/os-aggregates": _corpus("nova-aggregates-list.json"),
        "/compute/v2.1/flavors/detail?is_public=None": {"flavors": FLAVOR_ROWS[:1], "flavors_links": [
            {"rel": "next", "href": "PAGE2"}]},
        "/compute/v2.1/flavors/detail?is_public=None&marker=m1.small": {"flavors": FLAVOR_ROWS[1:]},
        "/compute/v2.1/os-hypervisors/detail": _corpus("nova-hypervisors-detail-v2.53.json") | {
            "hypervisors_links": []},
    }  # fmt: skip
    if placement:
        routes["/placement/resource_providers"] = {"resource_providers": export["resource_providers"]}
        for provider in export["resource_providers"]:
            uuid = provider["uuid"]
            for kind in ("inventories", "usages", "aggregates", "traits"):
                empty = {
                    "resource_provider_generation": 1,
                    kind: [] if kind in ("aggregates", "traits") else {},
                }
                routes[f"/placement/resource_providers/{uuid}/{kind}"] = export.get(kind, {}).get(uuid, empty)
    return routes


@pytest.fixture
def stub() -> Iterator[Stub]:
    with serve(Stub(_routes())) as running:
        page = running.routes["/compute/v2.1/flavors/detail?is_public=None"]
        page["flavors_links"][0]["href"] = (
            f"{running.base}/compute/v2.1/flavors/detail?is_public=None&marker=m1.small"
        )
        yield running


def _env(stub: Stub, tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    keep = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    return {**keep, **stub.env(), "HOME": str(home)}


def test_from_cloud_reads_placement_aggregates_and_flavors(cli: Any, stub: Stub, tmp_path: Path) -> None:
    saved = tmp_path / "cloud.json"
    done = cli("tune", "capacity", "--from-cloud", "--save", str(saved), "--json", env=_env(stub, tmp_path))
    assert done.returncode == 0, done.stderr
    data = done.json()["data"]
    assert data["source"] == "placement"
    rows = {r["flavor"]["name"]: r for r in data["flavors"]}
    assert rows["m1.small"]["fits"] == 2  # as from the saved documents (test_capacity)
    assert rows["fpga.tiny"]["flavor"]["disk_gib"] == 2  # 1 GiB disk + 1024 MiB swap
    assert (rows["fpga.tiny"]["hosts"], rows["fpga.tiny"]["fits"]) == (
        1,
        7457 // 512,
    )  # the trait: pony1 only
    assert data["zones"] == ["nova"]  # the sample aggregate's host is none of these providers
    assert "stub-secret" not in done.stdout + done.stderr
    asked = {path for method, path, _token in stub.seen if method == "GET" and path.startswith("/placement")}
    assert len(asked) == 1 + 2 * 4  # the list, then four documents per provider
    assert all(
        token == TOKEN for method, path, token in stub.seen if path.startswith(("/placement", "/compute"))
    )
    again = cli("tune", "capacity", "--hypervisors", str(saved), "--flavor", "m1.small=1:2G:20G", "--json")
    assert again.json()["data"]["flavors"][0]["fits"] == 2


def test_from_cloud_without_placement_reads_the_hypervisor_list(cli: Any, tmp_path: Path) -> None:
    with serve(Stub(_routes(placement=False), placement=False)) as running:
        done = cli("tune", "capacity", "--from-cloud", "--flavor", "m1.small=1:2G:20G", "--json",
                   env=_env(running, tmp_path))  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = done.json()["data"]
    assert data["source"] == "hypervisors"
    assert data["flavors"][0]["fits"] == 3
    assert "no placement endpoint" in done.stderr


def test_from_cloud_failures(cli: Any, stub: Stub, tmp_path: Path) -> None:
    env = _env(stub, tmp_path)
    wrong = cli("tune", "capacity", "--from-cloud", env={**env, "OS_PASSWORD": "wrong"})
    assert wrong.returncode == 1
    assert "openstack token issue" in wrong.stderr
    assert "wrong" not in wrong.stdout
    elsewhere = cli("tune", "capacity", "--from-cloud", env={**env, "OS_REGION_NAME": "Mars"})
    assert elsewhere.returncode == 2
    assert "no public placement or compute endpoint" in elsewhere.stderr
    del stub.routes["/compute/v2.1/os-aggregates"]
    missing = cli("tune", "capacity", "--from-cloud", env=env)
    assert missing.returncode == 1
    assert "os-aggregates answered 404" in missing.stderr


def test_from_cloud_bad_flag_combinations_and_a_missing_client(cli: Any, tmp_path: Path) -> None:
    sample = str(CORPUS / "nova-hypervisors-detail-v2.53.json")
    flavors = tmp_path / "flavors.json"
    flavors.write_text(json.dumps([{"Name": "a", "VCPUs": 1, "RAM": 512}]))
    before = snapshot(tmp_path)
    both = cli("tune", "capacity", "--from-cloud", "--hypervisors", sample, "--flavor", "a=1:1G")
    assert both.returncode == 2
    assert "not both" in both.stderr
    lonely = cli(
        "tune", "capacity", "--hypervisors", sample, "--flavor", "a=1:1G", "--save", str(tmp_path / "x")
    )
    assert lonely.returncode == 2
    assert "--save keeps what --from-cloud read" in lonely.stderr
    over = cli("tune", "capacity", "--from-cloud", "--flavors-json", str(flavors), "--save", str(flavors))
    assert over.returncode == 4
    no_client = cli("tune", "capacity", "--from-cloud", env={"PATH": str(Path(sys.executable).parent)})
    assert no_client.returncode == 3
    assert "openstack" in no_client.stderr
    assert snapshot(tmp_path) == before
