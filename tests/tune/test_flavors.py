"""``tune flavors``: Nova placement arithmetic, the seed's case, bad input, property tests."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stackrig.tune import Allocation, Flavor, HostSpec, fit_flavors, parse_flavor, parse_host
from stackrig.tune.flavors import FlavorSettings, FlavorSpecError, parse_size, run_flavors, this_host

from .conftest import TREES

OPENSTACK_JSON = [
    {
        "ID": "1",
        "Name": "m1.tiny",
        "RAM": 512,
        "Disk": 1,
        "Ephemeral": 0,
        "VCPUs": 1,
        "Is Public": True,
        "Swap": "",
        "RXTX Factor": 1.0,
        "Properties": "",
    },
    {
        "ID": "3",
        "Name": "m1.medium",
        "RAM": 4096,
        "Disk": 40,
        "Ephemeral": 0,
        "VCPUs": 2,
        "Is Public": True,
        "Swap": "",
        "RXTX Factor": 1.0,
        "Properties": "",
    },
    {
        "ID": "9",
        "Name": "db.large",
        "RAM": 32768,
        "Disk": 80,
        "Ephemeral": 20,
        "VCPUs": 2,
        "Is Public": False,
        "Swap": 2048,
        "RXTX Factor": 1.0,
        "Properties": "hw:mem_page_size='large'",
    },
]


def test_seed_case_library() -> None:
    report = fit_flavors(parse_host("64G:8"), [parse_flavor("seed=2:32G")])
    [fit] = report.fits
    assert fit.fits == 1
    assert fit.bound_by == ("ram",)
    assert fit.stranded["vcpu"] == 30
    assert report.capacities[0].capacity == 32
    assert report.capacities[1].capacity == 65536 - 512


def test_seed_case_cli(cli) -> None:  # type: ignore[no-untyped-def]
    done = cli("tune", "flavors", "--host", "64G:8", "--flavor", "m1.seed=2:32G")
    assert done.returncode == 0, done.stderr
    assert "m1.seed fits 1 time, bound by RAM; stranded: 30 of 32 vCPUs" in done.stdout
    done = cli("tune", "flavors", "--host", "64G:8", "--flavor", "m1.seed=2:32G", "--json")
    data = done.json()["data"]
    assert data["summary"] == ["m1.seed fits 1 time, bound by RAM; stranded: 30 of 32 vCPUs"]
    fit = data["report"]["fits"][0]
    assert fit["fits"] == 1
    assert fit["bound_by"] == ["ram"]
    assert fit["stranded"] == {"vcpu": 30, "ram": 32256}


def test_mix_and_disk(cli) -> None:  # type: ignore[no-untyped-def]
    done = cli(
        "tune", "flavors", "--host", "64G:8:200G", "--flavor", "big=2:32G:20G", "--flavor", "small=1:2G:100G",
        "--cpu-ratio", "2", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = done.json()["data"]["report"]
    fits = {f["flavor"]["name"]: f for f in report["fits"]}
    assert fits["small"]["fits"] == 2
    assert fits["small"]["bound_by"] == ["disk"]
    packing = report["packing"]
    assert packing["counts"] == {"big": 1, "small": 1}
    assert packing["exact"] is True
    text = cli(
        "tune", "flavors", "--host", "64G:8:200G", "--flavor", "big=2:32G:20G", "--flavor", "small=1:2G:100G"
    )
    assert "Best mix: 1 x big + 1 x small = 2 guests" in text.stdout


def test_flavor_bigger_than_the_host_never_fits() -> None:
    report = fit_flavors(parse_host("64G:8"), [parse_flavor("huge=16:8G")])
    [fit] = report.fits
    assert fit.fits == 0  # placement's max_unit: 16 vCPUs > 8 CPUs, even with ratio 4
    assert fit.too_big == ("vcpu",)


def test_reserved_and_ratios() -> None:
    alloc = Allocation(reserved_ram_mib=0, reserved_cpus=2, cpu_ratio=1.0, ram_ratio=1.5)
    report = fit_flavors(HostSpec(ram_mib=65536, cpus=8), [Flavor("f", 1, 8192)], alloc)
    assert [c.capacity for c in report.capacities] == [6, 98304]
    assert report.fits[0].fits == 6
    assert report.fits[0].bound_by == ("vcpu",)


def test_flavors_json(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "flavors.json"
    path.write_text(json.dumps(OPENSTACK_JSON))
    done = cli("tune", "flavors", "--host", "128G:16:1T", "--flavors-json", str(path), "--json")
    assert done.returncode == 0, done.stderr
    fits = {f["flavor"]["name"]: f["flavor"] for f in done.json()["data"]["report"]["fits"]}
    assert fits["db.large"] == {"name": "db.large", "vcpus": 2, "ram_mib": 32768, "disk_gib": 102}
    assert fits["m1.tiny"]["disk_gib"] == 1


def test_this_host(cli) -> None:  # type: ignore[no-untyped-def]
    root = TREES / "hosts" / "legacy-hdd-numa"
    host = this_host(root)
    assert host.cpus == 8
    meminfo = (root / "proc/meminfo").read_text().splitlines()[0].split()
    assert host.ram_mib == int(meminfo[1]) // 1024
    done = cli("tune", "flavors", "--this-host", "--flavor", "x=1:1G", "--json")
    assert done.returncode == 0, done.stderr
    assert done.json()["data"]["report"]["host"]["cpus"] >= 1


def test_this_host_unreadable(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    done = cli("tune", "flavors", "--this-host", "--root", str(tmp_path), "--flavor", "x=1:1G")
    assert done.returncode == 2
    assert "--this-host: cannot read /proc/meminfo" in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--host", "64:8"], "host RAM '64' is not a size"),
        (["--host", "64G"], "is not RAM:CPUS[:DISK]"),
        (["--host", "64G:eight"], "host CPU count 'eight' is not a whole number"),
        (["--host", "64G:0"], "is not a whole number of at least 1"),
        (["--host", "64G:8:1T:9"], "is not RAM:CPUS[:DISK]"),
        (["--host", "64G:8", "--flavor", "noequals"], "is not NAME=VCPUS:RAM[:DISK]"),
        (["--host", "64G:8", "--flavor", "=2:4G"], "is not NAME=VCPUS:RAM[:DISK]"),
        (["--host", "64G:8", "--flavor", "a=0:4G"], "flavor a vCPUs '0'"),
        (["--host", "64G:8", "--flavor", "a=2:4"], "flavor a RAM '4' is not a size"),
        (["--host", "64G:8", "--flavor", "a=2:4X"], "is not a size"),
        (["--host", "64G:8", "--flavor", "a=1:1G", "--flavor", "a=2:2G"], "given twice"),
        (["--host", "64G:8"], "no flavors given"),
        (["--flavor", "a=1:1G"], "no host given"),
        (["--host", "64G:8", "--this-host", "--flavor", "a=1:1G"], "not both"),
        (["--host", "64G:8", "--reserved-ram", "64G", "--flavor", "a=1:1G"], "no RAM left for guests"),
        (["--host", "64G:8", "--cpu-ratio", "0", "--flavor", "a=1:1G"], "ratio must be a number above 0"),
        (["--host", "64G:8", "--ram-ratio", "nan", "--flavor", "a=1:1G"], "ratio must be a number above 0"),
        (
            ["--host", "64G:8:1T", "--disk-ratio", "inf", "--flavor", "a=1:1G"],
            "ratio must be a number above 0",
        ),
        (["--host", "64G:8", "--reserved-cpus", "-1", "--flavor", "a=1:1G"], "cannot be negative"),
        (["--host", "64G:8", "--reserved-ram", "lots", "--flavor", "a=1:1G"], "--reserved-ram 'lots'"),
    ],
)
def test_bad_specs(cli, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    done = cli("tune", "flavors", *args, "--json")
    assert done.returncode == 2, done.stdout
    assert message in done.json()["error"]["message"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{oops", "is not JSON (line 1"),
        ('{"Name": "x"}', "is not a list of flavors"),
        ('[{"VCPUs": 1, "RAM": 512}]', "flavor #1 in --flavors-json has no Name"),
        ('[{"Name": "x", "VCPUs": "2", "RAM": 512}]', "VCPUs must be a whole number >= 1, got '2'"),
        ('[{"Name": "x", "VCPUs": 2, "RAM": 0}]', "RAM must be a whole number >= 1"),
        ('[{"Name": "x", "VCPUs": 2, "RAM": 512, "Disk": -1}]', "Disk must be a whole number >= 0"),
        ('[{"Name": "x", "VCPUs": true, "RAM": 512}]', "VCPUs must be a whole number"),
    ],
)
def test_bad_flavors_json(cli, tmp_path: Path, content: str, message: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "f.json"
    path.write_text(content)
    done = cli("tune", "flavors", "--host", "64G:8", "--flavors-json", str(path), "--json")
    assert done.returncode == 2
    assert message in done.json()["error"]["message"]
    assert path.read_text() == content


def test_missing_flavors_json(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    done = cli("tune", "flavors", "--host", "64G:8", "--flavors-json", str(tmp_path / "none.json"))
    assert done.returncode == 2
    assert "does not exist" in done.stderr


def test_sizes() -> None:
    assert parse_size("32G", "x") == 32 * 1024**3
    assert parse_size("1.5T", "x") == int(1.5 * 1024**4)
    assert parse_size("512MiB", "x") == 512 * 1024**2
    assert parse_size("0", "x") == 0
    with pytest.raises(FlavorSpecError):
        parse_size("12", "x")
    with pytest.raises(FlavorSpecError, match="too large"):
        parse_size("9" * 400 + "G", "x")


# ------------------------------------------------------------------ properties

hosts = st.builds(
    HostSpec,
    ram_mib=st.integers(1024, 4 * 1024 * 1024),
    cpus=st.integers(1, 256),
    disk_gib=st.one_of(st.none(), st.integers(10, 20_000)),
)
flavor_lists = st.lists(
    st.builds(
        Flavor,
        name=st.text("abcdefgh", min_size=1, max_size=6),
        vcpus=st.integers(1, 64),
        ram_mib=st.integers(64, 512 * 1024),
        disk_gib=st.integers(0, 2000),
    ),
    min_size=1,
    max_size=4,
    unique_by=lambda f: f.name,
)
allocations = st.builds(
    Allocation,
    reserved_ram_mib=st.integers(0, 1000),
    reserved_cpus=st.integers(0, 0),
    cpu_ratio=st.floats(1.0, 16.0),
    ram_ratio=st.floats(0.5, 2.0),
    disk_ratio=st.floats(0.5, 2.0),
)


@settings(max_examples=150, deadline=None)
@given(hosts, flavor_lists, allocations)
def test_never_more_instances_than_any_single_resource_allows(
    host: HostSpec, flavors: list[Flavor], alloc: Allocation
) -> None:
    report = fit_flavors(host, flavors, alloc)
    caps = {c.resource: c for c in report.capacities}
    for fit in report.fits:
        for resource, cap in caps.items():
            amount = fit.flavor.amount(resource)
            if amount:
                assert fit.fits <= cap.capacity // amount
                assert fit.fits * amount <= cap.capacity
                if amount > cap.total:
                    assert fit.fits == 0
            assert fit.stranded[resource] >= 0
        # maximal: one more guest would overrun a resource (or it is bigger than the host)
        if not fit.too_big:
            assert any(
                (fit.fits + 1) * fit.flavor.amount(r) > caps[r].capacity for r in caps if fit.flavor.amount(r)
            )
    if report.packing is not None:
        for resource, cap in caps.items():
            assert report.packing.used[resource] <= cap.capacity
            assert report.packing.stranded[resource] >= 0
        assert report.packing.instances == sum(report.packing.counts.values())
        if report.packing.exact:
            # the best mix fills the host at least as well as any one flavor alone
            def share(used: dict[str, int]) -> float:
                return sum(used[r] / caps[r].capacity for r in caps) / len(caps)

            best = share(report.packing.used)
            for fit in report.fits:
                if fit.fits and not fit.too_big:
                    assert best >= share(fit.used) - 1e-9


def test_settings_object_is_what_the_cli_builds() -> None:
    report = run_flavors(FlavorSettings(host="64G:8", flavors=("seed=2:32G",)))
    assert report.fits[0].fits == 1


def test_large_mix_search_is_bounded(cli) -> None:  # type: ignore[no-untyped-def]
    specs = ["t=1:512M:1G", "s=1:2G:20G", "m=2:4G:40G", "l=4:8G:80G", "xl=8:16G:160G", "db=2:32G:100G"]
    specs += ["c=16:16G:40G", "h=4:64G:100G"]
    args = [arg for spec in specs for arg in ("--flavor", spec)]
    done = cli("tune", "flavors", "--host", "512G:64:4000G", *args)
    assert done.returncode == 0, done.stderr
    assert "(search cut short: best found)" in done.stdout
    report = run_flavors(FlavorSettings(host="512G:64:4000G", flavors=tuple(specs)))
    assert report.packing is not None
    assert report.packing.exact is False
    for cap in report.capacities:
        assert report.packing.used[cap.resource] <= cap.capacity


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_hostile_specs_only_raise_usage_errors(text: str) -> None:
    assert FlavorSpecError.exit_code == 2
    for parse in (parse_host, parse_flavor):
        with contextlib.suppress(FlavorSpecError):
            parse(text)
