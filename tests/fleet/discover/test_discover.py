"""fleet discover: regions in parallel, the disk cache, and the az/gcloud/openstack stand-ins."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Any

import pytest

from stackrig.errors import UsageError
from stackrig.fleet._cache import DiscoverCache
from stackrig.fleet.discover import DiscoverSettings, ec2_filters
from tests.fleet.moto import MotoAws

FIXTURES = Path(__file__).parent / "fixtures"
REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")


def discover(cli: Any, aws: MotoAws, *extra: str) -> Any:
    done = cli("fleet", "discover", "--endpoint-url", aws.endpoint, "--hostname", "id", "--json", *extra)
    assert done.returncode == 0, done.stderr
    return done.json()["data"]


def test_three_regions_in_one_inventory(aws: MotoAws, cli: Any, tmp_path: Path) -> None:
    made = {region: aws.launch(n, region, {"Role": "web"}) for n, region in enumerate(REGIONS, start=1)}
    aws.launch(2, "eu-west-1", {"Role": "db"})
    out = tmp_path / "inventory.json"
    data = discover(
        cli, aws, "--region", "us-east-1,eu-west-1", "--region", "ap-southeast-2",
        "--filter", "tag:Role=web", "--group-by", "region", "--format", "json", "-o", str(out),
    )  # fmt: skip
    assert [r["region"] for r in data["regions"]] == list(REGIONS)
    assert [r["instances"] for r in data["regions"]] == [1, 2, 3]
    assert all(r["cached"] is False for r in data["regions"])
    inventory = json.loads(out.read_text())
    hostvars = inventory["all"]["hosts"]
    assert sorted(hostvars) == sorted(i for ids in made.values() for i in ids)
    region_group = inventory["all"]["children"]["region_ap_southeast_2"]["hosts"]
    assert sorted(region_group) == sorted(made["ap-southeast-2"])


def test_cache_miss_hit_refresh_and_ttl(aws: MotoAws, cli: Any, data_dir: Path) -> None:
    aws.launch(2, "us-east-1")
    first = discover(cli, aws, "--region", "us-east-1")
    assert first["regions"][0]["cached"] is False
    assert first["instances"] == 2
    entries = list((data_dir / "cache" / "fleet-discover" / "aws").rglob("*.json"))
    assert entries
    assert all(stat.S_IMODE(e.stat().st_mode) == 0o600 for e in entries)

    aws.launch(1, "us-east-1")  # behind the cache's back
    hit = discover(cli, aws, "--region", "us-east-1")
    assert hit["regions"][0]["cached"] is True
    assert hit["instances"] == 2

    other_filter = discover(cli, aws, "--region", "us-east-1", "--filter", "type=t3.micro")
    assert other_filter["regions"][0]["cached"] is False  # per (account, region, filter)

    fresh = discover(cli, aws, "--region", "us-east-1", "--refresh")
    assert fresh["regions"][0]["cached"] is False
    assert fresh["instances"] == 3
    assert discover(cli, aws, "--region", "us-east-1")["regions"][0]["cached"] is True
    off = discover(cli, aws, "--region", "us-east-1", "--cache-ttl", "0")
    assert off["regions"][0]["cached"] is False


def test_up_and_down_drop_the_stale_cache(aws: MotoAws, cli: Any) -> None:
    aws.launch(1, "us-east-1")
    assert discover(cli, aws, "--region", "us-east-1")["instances"] == 1
    up = cli("fleet", "up", "--prefix", "app", "--count", "2", "--image", aws.image, "--type", "t3.micro",
             "--vpc", aws.vpc, "--endpoint-url", aws.endpoint, "--poll-interval", "0.05")  # fmt: skip
    assert up.returncode == 0, up.stderr
    after = discover(cli, aws, "--region", "us-east-1")
    assert after["regions"][0]["cached"] is False
    assert after["instances"] == 3
    down = cli(
        "fleet", "down", "--prefix", "app", "--yes", "--endpoint-url", aws.endpoint, "--poll-interval", "0.05"
    )
    assert down.returncode == 0, down.stderr
    assert discover(cli, aws, "--region", "us-east-1")["instances"] == 1
    ec2 = aws.client()
    ec2.terminate_instances(
        InstanceIds=[
            i["InstanceId"] for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]
        ]
    )
    gone = cli(
        "fleet", "discover", "--endpoint-url", aws.endpoint, "--region", "us-east-1", "--refresh", "--json"
    )
    assert gone.returncode == 1  # zero hosts: as fleet inventory, exit 1
    assert gone.json()["error"]["message"] == "aws lists no instances (regions: us-east-1)"


def test_all_regions(aws: MotoAws, cli: Any) -> None:
    aws.launch(1, "eu-central-1")
    aws.launch(1, "sa-east-1")
    data = discover(cli, aws, "--all-regions")
    counts = {r["region"]: r["instances"] for r in data["regions"]}
    assert len(counts) > 10
    assert counts["eu-central-1"] == 1
    assert counts["sa-east-1"] == 1
    assert data["instances"] == 2
    again = cli("fleet", "discover", "--all-regions", "--json", env={"AWS_ENDPOINT_URL": aws.endpoint})
    assert again.returncode == 0, again.stderr
    assert all(r["cached"] for r in again.json()["data"]["regions"])  # same endpoint, from the environment


def stand_in(folder: Path, program: str, fixture: str) -> Path:
    script = folder / program
    script.write_text(
        f'#!/bin/sh\nprintf "%s\\n" "$@" > "{folder}/{program}.args"\ncat "{FIXTURES / fixture}"\n'
    )
    script.chmod(0o755)
    return script


@pytest.mark.parametrize(
    ("provider", "program", "fixture", "argv", "hosts"),
    [
        ("azure", "az", "az-vm-list-d.json", ["vm", "list", "-d", "-o", "json"], ["web1", "db1"]),
        ("gcp", "gcloud", "gcloud-instances-list.json", ["compute", "instances", "list", "--format=json"],
         ["web-1"]),
        ("openstack", "openstack", "openstack-server-list.json", ["server", "list", "--long", "-f", "json"],
         ["web-1", "db-1"]),
    ],
)  # fmt: skip
def test_other_providers_through_their_cli(  # noqa: PLR0917 - parametrised
    cli: Any, tmp_path: Path, provider: str, program: str, fixture: str, argv: list[str], hosts: list[str]
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stand_in(bin_dir, program, fixture)
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    done = cli("fleet", "discover", "--provider", provider, "--hostname", "name", "--json", env=env)
    assert done.returncode == 0, done.stderr
    data = done.json()["data"]
    assert [h["name"] for h in data["inventory"]["hosts"]] == hosts
    assert (bin_dir / f"{program}.args").read_text().split() == argv


def test_missing_cloud_cli_names_the_package(cli: Any, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    done = cli("fleet", "discover", "--provider", "azure", env={"PATH": str(empty)})
    assert done.returncode == 3
    assert "az is not installed" in done.stderr
    assert "azure-cli" in done.stderr


def test_cli_output_that_is_not_json(cli: Any, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "openstack").write_text(
        "#!/bin/sh\necho 'Missing value auth-url required for auth plugin password'\n"
    )
    (bin_dir / "openstack").chmod(0o755)
    done = cli(
        "fleet", "discover", "--provider", "openstack", env={"PATH": f"{bin_dir}{os.pathsep}/usr/bin:/bin"}
    )
    assert done.returncode == 2
    assert "the output of openstack server list --long -f json is not valid JSON" in done.stderr


def test_region_options_are_aws_only() -> None:
    with pytest.raises(UsageError, match="apply to --provider aws only"):
        DiscoverSettings(provider="gcp", regions=("x",))
    with pytest.raises(UsageError, match="not both"):
        DiscoverSettings(regions=("us-east-1",), all_regions=True)
    with pytest.raises(UsageError, match="unknown provider"):
        DiscoverSettings(provider="vsphere")


def test_filters_pushed_to_ec2() -> None:
    pushed = ec2_filters(
        ["Name=tag:Name,Values=web-*,db-*", "type=t3.*", "region=us-east-1", "name=x"], "running"
    )
    assert pushed == [
        {"Name": "tag:Name", "Values": ["web-*", "db-*"]},
        {"Name": "instance-type", "Values": ["t3.*"]},
        {"Name": "tag:Name", "Values": ["x"]},
        {"Name": "instance-state-name", "Values": ["running"]},
    ]
    assert ec2_filters([], "any") == []


def test_cache_ttl_with_a_clock(tmp_path: Path) -> None:
    now = [1000.0]
    cache = DiscoverCache(tmp_path, ttl=60, clock=lambda: now[0])
    assert cache.get("aws", "acct", "us-east-1", ["f"]) is None
    cache.put("aws", "acct", "us-east-1", ["f"], {"x": 1})
    now[0] += 59
    entry = cache.get("aws", "acct", "us-east-1", ["f"])
    assert entry is not None
    assert entry.payload == {"x": 1}
    assert entry.age == 59
    assert cache.get("aws", "acct", "us-east-1", ["g"]) is None
    now[0] += 1
    assert cache.get("aws", "acct", "us-east-1", ["f"]) is None
    now[0] -= 30
    refreshing = DiscoverCache(tmp_path, ttl=60, refresh=True, clock=lambda: now[0])
    assert refreshing.get("aws", "acct", "us-east-1", ["f"]) is None
    cache.path("aws", "acct", "us-east-1", ["f"]).write_text("{broken")
    assert cache.get("aws", "acct", "us-east-1", ["f"]) is None
    cache.drop_region("aws", "acct", "us-east-1")
    assert not cache.path("aws", "acct", "us-east-1", ["f"]).parent.exists()
    off = DiscoverCache(tmp_path, ttl=0)
    off.put("aws", "acct", "eu-west-1", [], {})
    assert not off.path("aws", "acct", "eu-west-1", []).exists()


def test_a_failing_region_is_partial(aws: MotoAws, cli: Any, tmp_path: Path) -> None:
    from tests.fleet import aws_proxy

    made = aws.launch(1, "us-east-1")
    out = tmp_path / "hosts"
    with aws_proxy.serve("forward", aws.endpoint) as proxy:
        proxy.deny_region = "eu-west-1"
        args = ("fleet", "discover", "--endpoint-url", proxy.url, "--region", "us-east-1,eu-west-1",
                "--hostname", "id")  # fmt: skip
        done = cli(*args, "--json", "-o", str(out))
        assert done.returncode == 1, done.stderr
        doc = done.json()
        assert doc["ok"] is False
        assert doc["exit_code"] == 1
        assert doc["partial"] is True
        assert doc["data"]["partial"] is True
        assert [r["instances"] for r in doc["data"]["regions"]] == [1, 0]
        assert doc["warnings"][-1].startswith(
            "region eu-west-1: region eu-west-1 is not enabled for this account"
        )
        # What was done is kept: the inventory of the region that answered.
        assert out.read_text().split("\n")[2].split()[0] == made[0]
        assert "failed: region eu-west-1: region eu-west-1 is not enabled" in done.stderr
        assert "partial result: 1 part(s) failed; exit 1" in done.stderr

        allowed = cli(*args, "--allow-partial")
        assert allowed.returncode == 0, allowed.stderr
        assert allowed.stdout.split("\n")[2].split()[0] == made[0]
        assert re.search(r"eu-west-1 +0 instance\(s\)  \(FAILED, see below\)", allowed.stderr)
        assert "failed: region eu-west-1: region eu-west-1 is not enabled" in allowed.stderr
        assert "exit 0 (--allow-partial)" in allowed.stderr

        empty = cli("fleet", "discover", "--endpoint-url", proxy.url, "--region", "ap-southeast-2,eu-west-1")
        assert empty.returncode == 1
        assert (
            "aws lists no instances (regions: ap-southeast-2, eu-west-1); and region eu-west-1:"
            in empty.stderr
        )

        alone = cli("fleet", "discover", "--endpoint-url", proxy.url, "--region", "eu-west-1", "--refresh")
    assert alone.returncode == 3
    assert "region eu-west-1 is not enabled for this account (OptInRequired" in alone.stderr
