"""``tune capacity``: documented API samples (tests/corpus/openstack), generated clouds with
hypothesis properties, a plain-loop reference, and every bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stackrig.tune._cloud import Cloud, ComputeHost, Inventory, parse_aggregates, parse_cloud
from stackrig.tune.capacity import cloud_capacity
from stackrig.tune.flavors import RESOURCES, Allocation, Flavor

from .conftest import snapshot

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "openstack"


def _corpus(name: str) -> Any:
    return json.loads((CORPUS / name).read_text())


def placement_export(aggregates_of_first: bool = True) -> dict[str, Any]:
    """GET /resource_providers, with the documented inventories and usages for each provider."""
    providers = _corpus("placement-resource-providers.json")
    uuids = [p["uuid"] for p in providers["resource_providers"]]
    doc = {
        **providers,
        "inventories": {u: _corpus("placement-inventories.json") for u in uuids},
        "usages": {u: _corpus("placement-usages.json") for u in uuids},
        "traits": {uuids[1]: _corpus("placement-traits.json")},
    }
    if aggregates_of_first:
        doc["aggregates"] = {uuids[0]: _corpus("placement-aggregates.json")}
    return doc


def _write(tmp_path: Path, name: str, doc: Any) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return path


FLAVORS = [
    {"Name": "m1.small", "VCPUs": 1, "RAM": 2048, "Disk": 20, "Ephemeral": 0, "Swap": "", "Properties": {}},
    {"Name": "m1.tiny", "VCPUs": 1, "RAM": 512, "Disk": 1, "Ephemeral": 0, "Swap": "", "Properties": ""},
]


def test_placement_samples_give_the_hand_counted_numbers(cli: Any, tmp_path: Path) -> None:
    """Each sample host: VCPU (4-0)x16 - 1 = 63, RAM floor((5825-512)x1.5) - 512 = 7457 MiB,
    disk 35 - 1 = 34 GiB."""
    export = _write(tmp_path, "providers.json", placement_export())
    flavors = _write(tmp_path, "flavors.json", FLAVORS)
    # The flags differ from the inventories on purpose: placement's own ratios and reserved amounts win.
    done = cli("tune", "capacity", "--hypervisors", str(export), "--flavors-json", str(flavors),
               "--cpu-ratio", "1", "--ram-ratio", "1", "--reserved-ram", "4G", "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = done.json()["data"]
    assert data["source"] == "placement"
    assert data["hosts"] == 2
    assert data["free"] == {"vcpu": 126, "ram": 2 * 7457, "disk": 68}
    rows = {r["flavor"]["name"]: r for r in data["flavors"]}
    small, tiny = rows["m1.small"], rows["m1.tiny"]
    assert (small["fits"], small["bound_by"], small["largest_on_one_host"]) == (
        2,
        {"vcpu": 0, "ram": 0, "disk": 2},
        1,
    )
    assert (tiny["fits"], tiny["bound_by"]) == (2 * (7457 // 512), {"vcpu": 0, "ram": 2, "disk": 0})
    mix = data["mix"]
    assert mix["counts"] == {"m1.small": 2, "m1.tiny": 20}
    assert mix["stranded"] == {
        "vcpu": 126 - 22,
        "ram": 2 * (7457 - 2048 - 10 * 512),
        "disk": 2 * (34 - 20 - 10),
    }


def test_traits_and_max_unit_narrow_placement(tmp_path: Path) -> None:
    cloud = parse_cloud(placement_export())
    fpga = Flavor("fpga", 1, 512, 1)
    wide = Flavor("wide", 5, 512, 1)  # 5 vCPUs > max_unit 4 on both sample hosts
    props = {"fpga": {"trait:CUSTOM_HW_FPGA_CLASS1": "required"}}
    report = cloud_capacity(cloud, [fpga, wide], properties=props)
    fpga_row, wide_row = report.flavors
    assert (fpga_row.hosts, fpga_row.fits) == (1, 7457 // 512)  # only pony1 has the trait
    assert (wide_row.fits, wide_row.too_big) == (0, 2)
    forbidden = cloud_capacity(
        cloud, [fpga], properties={"fpga": {"trait:CUSTOM_HW_FPGA_CLASS1": "forbidden"}}
    )
    assert forbidden.flavors[0].hosts == 1


def test_hypervisor_list_v253_uses_the_flags_and_takes_reserved_ram_out_of_used(cli: Any) -> None:
    """fake-mini: 2 vCPUs x 4 = 8; RAM 8192 - 512 reserved (its memory_mb_used 512 is that reserve);
    disk 1028."""
    sample = CORPUS / "nova-hypervisors-detail-v2.53.json"
    done = cli("tune", "capacity", "--hypervisors", str(sample), "--flavor", "m1.small=1:2G:20G", "--json")
    assert done.returncode == 0, done.stderr
    data = done.json()["data"]
    assert data["free"] == {"vcpu": 8, "ram": 7680, "disk": 1028}
    assert data["flavors"][0]["fits"] == 3
    assert data["flavors"][0]["bound_by"] == {"vcpu": 0, "ram": 1, "disk": 0}
    assert any("flags" in note for note in data["notes"])
    ratio = cli("tune", "capacity", "--hypervisors", str(sample), "--flavor", "m1.small=1:2G:20G",
                "--ram-ratio", "2", "--json")  # fmt: skip
    assert ratio.json()["data"]["flavors"][0]["fits"] == 7  # (8192 - 512) x 2 // 2048


def test_openstack_cli_hypervisor_list_columns() -> None:
    """The columns of 'openstack hypervisor list --long -f json'; down or disabled hosts are skipped."""
    rows = [
        {"ID": 1, "Hypervisor Hostname": "cmp1", "Hypervisor Type": "QEMU", "Host IP": "10.0.0.1",
         "State": "up", "vCPUs Used": 12, "vCPUs": 32, "Memory MB Used": 24576, "Memory MB": 131072},
        {"ID": 2, "Hypervisor Hostname": "cmp2", "Hypervisor Type": "QEMU", "Host IP": "10.0.0.2",
         "State": "down", "vCPUs Used": 0, "vCPUs": 32, "Memory MB Used": 512, "Memory MB": 131072},
    ]  # fmt: skip
    cloud = parse_cloud(rows)
    assert [h.name for h in cloud.hosts] == ["cmp1"]
    assert cloud.skipped == (("cmp2", "state down, status enabled"),)
    report = cloud_capacity(cloud, [Flavor("m1.large", 4, 8192)])
    # vCPU 32 x 4 - 12 = 116 -> 29; RAM 131072 - 512 - (24576 - 512) = 106496 -> 13
    assert report.flavors[0].fits == 13


def test_aggregates_give_zones_and_metadata(tmp_path: Path) -> None:
    sample = _corpus("nova-aggregates-list.json")
    member = sample["aggregates"][0]["hosts"][0]
    aggregates = parse_aggregates(
        {
            "aggregates": [
                *sample["aggregates"],
                {"name": "ssd", "hosts": ["cmp2.example.org"], "metadata": {"ssd": "true,fast"}},
            ]
        }
    )
    hosts = [
        {"hypervisor_hostname": f"{member}.example.org", "vcpus": 8, "vcpus_used": 0, "memory_mb": 16384,
         "memory_mb_used": 512, "state": "up", "status": "enabled"},
        {"hypervisor_hostname": "cmp2", "vcpus": 8, "vcpus_used": 0, "memory_mb": 16384,
         "memory_mb_used": 512, "state": "up", "status": "enabled"},
    ]  # fmt: skip
    cloud = parse_cloud(hosts)
    flavors = [Flavor("m1.medium", 2, 4096), Flavor("ssd", 2, 4096)]
    props = {"ssd": {"aggregate_instance_extra_specs:ssd": "true"}}
    report = cloud_capacity(cloud, flavors, properties=props, aggregates=aggregates)
    assert report.zones == ("london", "nova")
    medium, ssd = report.flavors
    assert medium.by_zone == {"london": 3, "nova": 3}  # (16384 - 512) // 4096 per host
    assert (ssd.fits, ssd.hosts, ssd.narrowed_by) == (3, 1, ("aggregate_instance_extra_specs:ssd=true",))
    london = cloud_capacity(cloud, flavors, properties=props, aggregates=aggregates, zone="london")
    assert [r.fits for r in london.flavors] == [3, 0]


def test_string_properties_from_older_openstack_clients(cli: Any, tmp_path: Path) -> None:
    flavors = [
        dict(FLAVORS[1], Properties="aggregate_instance_extra_specs:ssd='true', hw:cpu_policy='dedicated'")
    ]
    aggregates = {"aggregates": [{"name": "fast", "hosts": ["pony1"], "metadata": {"ssd": "true"}}]}
    done = cli("tune", "capacity", "--hypervisors", str(_write(tmp_path, "p.json", placement_export())),
               "--flavors-json", str(_write(tmp_path, "f.json", flavors)),
               "--aggregates", str(_write(tmp_path, "a.json", aggregates)))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "m1.tiny may go only where aggregate_instance_extra_specs:ssd=true" in done.stdout
    assert "More fit by availability zone" in done.stdout


@pytest.mark.parametrize(
    ("doc", "extra", "message"),
    [
        ("{broken", (), "is not JSON"),
        ({"servers": []}, (), "not a placement export nor a hypervisor list"),
        (
            _corpus("nova-hypervisors-detail-v2.88.json"),
            (),
            "Nova removed them from the hypervisor list in API 2.88",
        ),
        ({"resource_providers": [{"name": "x"}]}, (), "resource provider #1 has no uuid"),
        (
            {"resource_providers": [{"uuid": "u", "inventories": {"VCPU": {"total": -4}}}]},
            (),
            "total must be a number >= 0",
        ),
        (
            {"resource_providers": [{"uuid": "u", "inventories": {"VCPU": {"reserved": 1}}}]},
            (),
            "inventory VCPU has no total",
        ),
        ([{"vCPUs": 4, "Memory MB": 1024}], ("--mix", "nope=1"), "no flavor named 'nope'"),
        ([{"vCPUs": 4, "Memory MB": 1024}], ("--mix", "m1.small=0"), "whole weight of at least 1"),
        ([{"vCPUs": 4, "Memory MB": 1024}], ("--zone", "london"), "--zone needs --aggregates"),
        ([{"vCPUs": 4, "Memory MB": 1024}], ("--cpu-ratio", "0"), "--cpu-ratio must be a number above 0"),
    ],
)
def test_bad_documents_and_flags(
    cli: Any, tmp_path: Path, doc: Any, extra: tuple[str, ...], message: str
) -> None:
    path = tmp_path / "hypervisors.json"
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    before = snapshot(tmp_path)
    done = cli("tune", "capacity", "--hypervisors", str(path), "--flavor", "m1.small=1:2G", *extra)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr
    assert snapshot(tmp_path) == before


def test_missing_inputs(cli: Any, tmp_path: Path) -> None:
    none = cli("tune", "capacity", "--flavor", "a=1:1G")
    assert none.returncode == 2
    assert "no hypervisors given" in none.stderr
    sample = str(CORPUS / "nova-hypervisors-detail-v2.53.json")
    assert "no flavors given" in cli("tune", "capacity", "--hypervisors", sample).stderr
    unknown_zone = cli("tune", "capacity", "--hypervisors", sample, "--flavor", "a=1:1G", "--aggregates",
                       str(CORPUS / "nova-aggregates-list.json"), "--zone", "paris")  # fmt: skip
    assert unknown_zone.returncode == 2
    assert "no host is in availability zone 'paris'" in unknown_zone.stderr
    listing = _write(tmp_path, "agg.json", [{"ID": 1, "Name": "a", "Availability Zone": "z"}])
    no_hosts = cli(
        "tune", "capacity", "--hypervisors", sample, "--flavor", "a=1:1G", "--aggregates", str(listing)
    )
    assert no_hosts.returncode == 2
    assert "lists no hosts" in no_hosts.stderr


# ------------------------------------------------------------------ generated clouds

inventories = st.builds(
    lambda total, used, reserved, ratio, cap: Inventory(
        total=total, used=used, reserved=min(reserved, total), ratio=ratio, max_unit=max(1, min(cap, total))
    ),
    st.integers(1, 512),
    st.integers(0, 600),
    st.integers(0, 64),
    st.sampled_from([1.0, 1.5, 4.0, 16.0]),
    st.integers(1, 512),
)
hosts = st.builds(
    lambda i, v, r, d: ComputeHost(
        name=f"h{i}", inventories={"vcpu": v, "ram": r, **({"disk": d} if d else {})}
    ),
    st.integers(0, 10**6),
    inventories,
    inventories,
    st.one_of(st.none(), inventories),
)
flavors = st.lists(
    st.builds(Flavor, st.uuids().map(str), st.integers(1, 32), st.integers(1, 256), st.integers(0, 64)),
    min_size=1,
    max_size=5,
    unique_by=lambda f: f.name,
)


def _reference(cloud: Cloud, flavor: Flavor) -> int:
    """A plain loop, written apart from the code under test: placement's rules, host by host."""
    total = 0
    for host in cloud.hosts:
        most = None
        for resource in RESOURCES:
            inv, amount = host.inventories.get(resource), flavor.amount(resource)
            if inv is None or amount == 0:
                continue
            assert inv.reserved is not None
            assert inv.ratio is not None
            assert inv.max_unit is not None
            free = int((inv.total - inv.reserved) * inv.ratio) - inv.used
            n = 0 if amount > inv.max_unit else max(free, 0) // amount
            most = n if most is None else min(most, n)
        total += most or 0
    return total


@settings(max_examples=150, deadline=None)
@given(st.lists(hosts, min_size=1, max_size=8), flavors, hosts)
def test_generated_clouds(cloud_hosts: list[ComputeHost], wanted: list[Flavor], extra: ComputeHost) -> None:
    cloud = Cloud("placement", tuple(cloud_hosts))
    report = cloud_capacity(cloud, wanted, Allocation())
    for row, flavor in zip(report.flavors, wanted, strict=True):
        assert row.fits == _reference(cloud, flavor)
        for resource in RESOURCES:  # never more instances than any single resource allows
            if flavor.amount(resource):
                assert row.fits * flavor.amount(resource) <= sum(
                    max(int((h.inventories[resource].total - (h.inventories[resource].reserved or 0))
                            * (h.inventories[resource].ratio or 1.0)) - h.inventories[resource].used, 0)
                    if resource in h.inventories else 10**12
                    for h in cloud.hosts
                )  # fmt: skip
    bigger = cloud_capacity(Cloud("placement", (*cloud_hosts, extra)), wanted, Allocation())
    for before, after in zip(
        report.flavors, bigger.flavors, strict=True
    ):  # adding a host never lowers a count
        assert after.fits >= before.fits
        assert after.hosts_with_room >= before.hosts_with_room
    if report.mix is not None:
        assert report.mix.instances <= sum(r.fits for r in report.flavors)
        for resource in RESOURCES:
            assert 0 <= report.mix.stranded[resource] <= report.free[resource]
