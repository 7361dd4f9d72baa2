"""fleet up --vpc on a non-default VPC with two subnets in two zones (the moto server)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from stackrig.fleet import read_inventory
from tests.fleet.moto import MotoAws


def _vpc_with_two_zones(aws: MotoAws) -> tuple[str, dict[str, str]]:
    ec2 = aws.client()
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    subnets = {
        zone: ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=zone)["Subnet"]["SubnetId"]
        for zone, cidr in (("us-east-1a", "10.42.1.0/24"), ("us-east-1b", "10.42.2.0/24"))
    }
    return vpc, subnets


def _up(cli: Any, aws: MotoAws, vpc: str, count: int, *extra: str) -> Any:
    return cli(
        "fleet", "up", "--prefix", "web", "--count", str(count), "--image", aws.image, "--type", "t3.micro",
        "--vpc", vpc, "--endpoint-url", aws.endpoint, "--poll-interval", "0.05", "--hostname", "name",
        *extra,
    )  # fmt: skip


def test_up_stays_in_its_vpc_and_spreads_over_zones(aws: MotoAws, cli: Any, tmp_path: Path) -> None:
    vpc, subnets = _vpc_with_two_zones(aws)
    out = tmp_path / "hosts"
    done = _up(cli, aws, vpc, 4, "--json", "-o", str(out))
    assert done.returncode == 0, done.stderr
    data = done.json()["data"]
    instances = aws.instances("web")
    assert len(instances) == 4
    assert {i["VpcId"] for i in instances} == {vpc}
    assert Counter(i["Placement"]["AvailabilityZone"] for i in instances) == {
        "us-east-1a": 2,
        "us-east-1b": 2,
    }
    assert {i["SubnetId"] for i in instances} == set(subnets.values())
    used = {u["subnet_id"]: (u["zone"], len(u["launched"])) for u in data["subnets"]}
    assert used == {subnets["us-east-1a"]: ("us-east-1a", 2), subnets["us-east-1b"]: ("us-east-1b", 2)}
    # subnets of a new VPC give no public address: said, not silently private
    warning = next(w for w in done.json()["warnings"] if "give no public address" in w)
    assert "--public-ip gives them one" in warning
    inventory = read_inventory(out)
    assert {e.address for e in inventory.hosts} == {i["PrivateIpAddress"] for i in instances}

    again = _up(cli, aws, vpc, 4, "--json")
    assert again.returncode == 0, again.stderr
    assert again.json()["data"]["launched"] == []
    assert len(aws.instances("web")) == 4

    more = _up(cli, aws, vpc, 5)  # the fifth goes to the first of the two equally full zones
    assert more.returncode == 0, more.stderr
    assert (
        f"subnet {subnets['us-east-1a']} (us-east-1a, no public address by default): 1 launched"
        in more.stderr
    )
    zones = Counter(i["Placement"]["AvailabilityZone"] for i in aws.instances("web"))
    assert zones == {"us-east-1a": 3, "us-east-1b": 2}


def test_public_ip_flag_gives_new_instances_an_address(aws: MotoAws, cli: Any) -> None:
    vpc, _ = _vpc_with_two_zones(aws)
    done = _up(cli, aws, vpc, 2, "--public-ip", "--json")
    assert done.returncode == 0, done.stderr
    instances = aws.instances("web")
    assert all(i.get("PublicIpAddress") for i in instances)
    assert {i["VpcId"] for i in instances} == {vpc}
    assert not any("give no public address" in w for w in done.json()["warnings"])
    hosts = done.json()["data"]["inventory"]["hosts"]
    assert {h["ansible_host"] for h in hosts} == {i["PublicIpAddress"] for i in instances}
    private = _up(cli, aws, vpc, 3, "--no-public-ip", "--json")
    assert private.returncode == 0, private.stderr
    newest = [i for i in aws.instances("web") if not i.get("PublicIpAddress")]
    assert len(newest) == 1
    assert not any("give no public address" in w for w in private.json()["warnings"])


def test_a_vpc_without_subnets_is_a_usage_error_naming_it(aws: MotoAws, cli: Any) -> None:
    bare = aws.client().create_vpc(CidrBlock="10.43.0.0/16")["Vpc"]["VpcId"]
    done = _up(cli, aws, bare, 1)
    assert done.returncode == 2
    assert f"error: VPC {bare} has no subnets, so no instance can be launched in it" in done.stderr
    assert aws.instances("web", states=("pending", "running")) == []
    assert (
        aws.client().describe_security_groups(Filters=[{"Name": "group-name", "Values": ["web-sg"]}])[
            "SecurityGroups"
        ]
        == []
    )


def test_a_given_subnet_is_used_for_every_new_instance(aws: MotoAws, cli: Any) -> None:
    vpc, subnets = _vpc_with_two_zones(aws)
    done = _up(cli, aws, vpc, 3, "--subnet", subnets["us-east-1b"])
    assert done.returncode == 0, done.stderr
    assert {i["SubnetId"] for i in aws.instances("web")} == {subnets["us-east-1b"]}


def test_a_vpc_with_default_for_zone_subnets_uses_only_those(aws: MotoAws, cli: Any) -> None:
    ec2 = aws.client()
    default = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    # roomier than the default /20s, so only the default-for-zone rule keeps instances out of it
    own = ec2.create_subnet(VpcId=default, CidrBlock="172.31.128.0/17", AvailabilityZone="us-east-1a")
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [default]}])["Subnets"]
    defaults = {s["SubnetId"]: s["AvailabilityZone"] for s in subnets if s.get("DefaultForAz")}
    assert len(defaults) >= 3
    assert own["Subnet"]["SubnetId"] not in defaults
    done = _up(cli, aws, default, 3, "--json")
    assert done.returncode == 0, done.stderr
    instances = aws.instances("web")
    assert {i["SubnetId"] for i in instances} <= set(defaults)  # never the subnet someone added
    assert len({i["Placement"]["AvailabilityZone"] for i in instances}) == 3  # one zone each
    used = {u["subnet_id"] for u in done.json()["data"]["subnets"]}
    assert used == {i["SubnetId"] for i in instances}
