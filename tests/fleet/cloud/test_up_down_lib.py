"""fleet_up / plan_down / execute_down against a real moto_server (library level)."""

from __future__ import annotations

import pytest

from stackrig.errors import ConflictError, UsageError
from stackrig.fleet._aws import AwsTarget, UnknownResourceError
from stackrig.fleet.cloud import (
    Rule,
    UpSettings,
    execute_down,
    fleet_up,
    parse_rule,
    parse_tag,
    plan_down,
)
from tests.fleet.moto import MotoAws


def settings(aws: MotoAws, **over: object) -> UpSettings:
    base: dict[str, object] = {
        "prefix": "web",
        "count": 2,
        "image": aws.image,
        "instance_type": "t3.micro",
        "key_name": aws.key_name,
        "vpc": aws.vpc,
        "rules": (parse_rule("tcp:22:0.0.0.0/0"),),
        "poll_interval": 0.05,
    }
    base.update(over)
    return UpSettings(**base)  # type: ignore[arg-type]


def target(aws: MotoAws) -> AwsTarget:
    return AwsTarget(region="us-east-1", endpoint_url=aws.endpoint)


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("tcp:22:0.0.0.0/0", Rule("tcp", 22, 22, "0.0.0.0/0")),
        ("udp:8000-8100:10.1.2.3/8", Rule("udp", 8000, 8100, "10.0.0.0/8")),
        ("tcp:*:::/0", Rule("tcp", 0, 65535, "::/0")),
        ("icmp:*:192.0.2.0/24", Rule("icmp", -1, -1, "192.0.2.0/24")),
        ("all:*:2001:db8::/32", Rule("-1", -1, -1, "2001:db8::/32")),
    ],
)
def test_parse_rule(text: str, rule: Rule) -> None:
    assert parse_rule(text) == rule
    assert parse_rule(str(rule)) == rule


@pytest.mark.parametrize(
    "text",
    ["tcp:22", "sctp:22:0.0.0.0/0", "tcp:22:nowhere", "tcp:99999:0.0.0.0/0", "tcp:9-3:::/0", "all:22:::/0"],
)
def test_parse_rule_rejects(text: str) -> None:
    with pytest.raises(UsageError):
        parse_rule(text)


def test_parse_tag() -> None:
    assert parse_tag("team=storage=a") == ("team", "storage=a")
    for bad in ("novalue", "=x", "Name=x", "stackrig:fleet=x", "aws:foo=1"):
        with pytest.raises(UsageError):
            parse_tag(bad)


def test_up_is_idempotent_scales_up_and_down(aws: MotoAws) -> None:
    first = fleet_up(target(aws), settings(aws))
    assert len(first.launched) == 2
    assert first.security_group.created
    assert first.security_group.added == ("tcp:22:0.0.0.0/0",)
    names = sorted(m.name for m in first.instances)
    assert names == ["web-1", "web-2"]
    assert all(m.state == "running" for m in first.instances)

    again = fleet_up(target(aws), settings(aws))
    assert again.launched == ()
    assert not again.security_group.created
    assert again.security_group.added == ()
    assert len(aws.instances("web")) == 2

    up = fleet_up(target(aws), settings(aws, count=4))
    assert len(up.launched) == 2
    assert sorted(m.name for m in up.instances) == ["web-1", "web-2", "web-3", "web-4"]

    with pytest.raises(ConflictError, match=r"would terminate 2 .*web-3, web-4"):
        fleet_up(target(aws), settings(aws, count=2))
    assert len(aws.instances("web")) == 4

    down = fleet_up(target(aws), settings(aws, count=2, scale_down=True))
    assert len(down.terminated) == 2
    left = aws.instances("web")
    assert sorted(next(t["Value"] for t in i["Tags"] if t["Key"] == "Name") for i in left) == [
        "web-1",
        "web-2",
    ]


def test_rules_converge_and_prune(aws: MotoAws) -> None:
    fleet_up(
        target(aws), settings(aws, count=0, rules=(parse_rule("tcp:22:0.0.0.0/0"), parse_rule("tcp:80:::/0")))
    )
    changed = fleet_up(target(aws), settings(aws, count=0, rules=(parse_rule("tcp:443:0.0.0.0/0"),)))
    assert changed.security_group.added == ("tcp:443:0.0.0.0/0",)
    assert set(changed.security_group.extra) == {"tcp:22:0.0.0.0/0", "tcp:80:::/0"}
    pruned = fleet_up(
        target(aws), settings(aws, count=0, rules=(parse_rule("tcp:443:0.0.0.0/0"),), prune_rules=True)
    )
    assert set(pruned.security_group.removed) == {"tcp:22:0.0.0.0/0", "tcp:80:::/0"}
    group = aws.client().describe_security_groups(GroupIds=[pruned.security_group.group_id])[
        "SecurityGroups"
    ][0]
    assert [(p["FromPort"], p["IpRanges"]) for p in group["IpPermissions"]] == [
        (443, [{"CidrIp": "0.0.0.0/0"}])
    ]


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"vpc": "vpc-0000dead"}, "VPC vpc-0000dead does not exist in us-east-1"),
        ({"subnet": "subnet-0000dead"}, "subnet subnet-0000dead does not exist in us-east-1"),
        ({"image": "ami-0000dead"}, "image (AMI) ami-0000dead does not exist in us-east-1"),
        ({"key_name": "nobody"}, "key pair nobody does not exist in us-east-1"),
    ],
)
def test_unknown_resources(aws: MotoAws, over: dict[str, object], message: str) -> None:
    with pytest.raises(UnknownResourceError) as caught:
        fleet_up(target(aws), settings(aws, **over))
    assert message in caught.value.message
    assert aws.instances("web", states=("pending", "running")) == []


def test_down_plan_and_execute(aws: MotoAws) -> None:
    fleet_up(target(aws), settings(aws, count=3))
    plan = plan_down(target(aws), "web")
    assert [m.name for m in plan.instances] == ["web-1", "web-2", "web-3"]
    assert len(plan.security_groups) == 1
    result = execute_down(target(aws), plan, poll_interval=0.05)
    assert len(result.terminated) == 3
    assert aws.instances("web") == []
    groups = aws.client().describe_security_groups(Filters=[{"Name": "group-name", "Values": ["web-sg"]}])
    assert groups["SecurityGroups"] == []
    assert plan_down(target(aws), "web").empty


def test_subnet_must_belong_to_the_vpc(aws: MotoAws) -> None:
    ec2 = aws.client()
    own = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [aws.vpc]}])["Subnets"][0]["SubnetId"]
    made = fleet_up(target(aws), settings(aws, count=1, subnet=own))
    assert aws.instances("web")[0]["SubnetId"] == own
    assert len(made.launched) == 1
    other_vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    other = ec2.create_subnet(VpcId=other_vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
    with pytest.raises(UsageError, match=f"subnet {other} is in {other_vpc}, not in --vpc {aws.vpc}"):
        fleet_up(target(aws), settings(aws, count=2, subnet=other))
    assert len(aws.instances("web")) == 1


def test_settings_are_checked() -> None:
    for bad in ({"prefix": "-x"}, {"prefix": "a b"}, {"count": -1}, {"poll_interval": 0}):
        values: dict[str, object] = {
            "prefix": "web", "count": 1, "image": "ami-1", "instance_type": "t3.micro", "key_name": None,
            "vpc": "vpc-1",
        }  # fmt: skip
        values.update(bad)
        with pytest.raises(UsageError):
            UpSettings(**values)  # type: ignore[arg-type]
