"""fleet discover across several AWS accounts (moto keeps resources per account; assumed roles pick it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from stackrig.fleet import Host, InventoryOptions, build_inventory
from tests.fleet import aws_proxy
from tests.fleet.moto import MotoAws

TEAM_B = "arn:aws:iam::222222222222:role/reader"
HUB = "arn:aws:iam::333333333333:role/hub"
SPOKE = "arn:aws:iam::444444444444:role/spoke"


def _assumed(aws: MotoAws, arn: str, via: dict[str, str] | None = None) -> dict[str, str]:
    import boto3

    keys = {} if via is None else _keys(via)
    sts = boto3.client("sts", region_name="us-east-1", endpoint_url=aws.endpoint, **keys)
    creds: dict[str, str] = sts.assume_role(RoleArn=arn, RoleSessionName="test-setup")["Credentials"]
    return creds


def _keys(creds: dict[str, str]) -> dict[str, str]:
    return {
        "aws_access_key_id": creds["AccessKeyId"],
        "aws_secret_access_key": creds["SecretAccessKey"],
        "aws_session_token": creds["SessionToken"],
    }


def _launch(aws: MotoAws, creds: dict[str, str] | None, region: str, names: list[str]) -> list[str]:
    import boto3

    ec2 = boto3.client(
        "ec2", region_name=region, endpoint_url=aws.endpoint, **(_keys(creds) if creds else {})
    )
    made = []
    for name in names:
        tags = [{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]}]
        made += [
            i["InstanceId"]
            for i in ec2.run_instances(
                ImageId=aws.image, MinCount=1, MaxCount=1, InstanceType="t3.micro", TagSpecifications=tags
            )["Instances"]
        ]
    return made


@pytest.fixture
def accounts(aws: MotoAws, tmp_path: Path) -> dict[str, list[str]]:
    """Account 123456789012 (profile prod, static keys) and 222222222222 (a role, alias team-b)."""
    (tmp_path / "no-aws-credentials").write_text(
        "[prod]\naws_access_key_id = testing\naws_secret_access_key = testing\n"
    )
    (tmp_path / "no-aws-config").write_text("[profile prod]\nregion = us-east-1\n")
    team_b = _assumed(aws, TEAM_B)
    import boto3

    boto3.client(
        "iam", region_name="us-east-1", endpoint_url=aws.endpoint, **_keys(team_b)
    ).create_account_alias(AccountAlias="team-b")
    return {
        "prod": _launch(aws, None, "us-east-1", ["web-1", "db-1"]),
        "team-b": _launch(aws, team_b, "us-east-1", ["web-1"]) + _launch(aws, team_b, "eu-west-1", ["api-1"]),
    }


def _discover(cli: Any, endpoint: str, *extra: str) -> Any:
    return cli(
        "fleet", "discover", "--endpoint-url", endpoint, "--region", "us-east-1,eu-west-1",
        "--account", "prod", "--account", TEAM_B, *extra,
    )  # fmt: skip


def test_two_accounts_in_one_inventory(
    aws: MotoAws, accounts: dict[str, list[str]], cli: Any, tmp_path: Path
) -> None:
    out = tmp_path / "hosts.json"
    done = _discover(cli, aws.endpoint, "--hostname", "name", "--group-by", "account", "--format", "json",
                     "-o", str(out), "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = done.json()["data"]
    assert [(a["label"], a["account_id"], a["alias"], a["error"]) for a in data["accounts"]] == [
        ("prod", "123456789012", "prod", None),
        (TEAM_B, "222222222222", "team-b", None),
    ]
    assert [(r["account"], r["region"], r["instances"]) for r in data["regions"]] == [
        ("prod", "us-east-1", 2),
        ("prod", "eu-west-1", 0),
        ("team-b", "us-east-1", 1),
        ("team-b", "eu-west-1", 1),
    ]
    inventory = json.loads(out.read_text())
    hosts = inventory["all"]["hosts"]
    by_id = {v["ec2_id"]["__ansible_unsafe"]: (name, v) for name, v in hosts.items()}
    assert set(by_id) == {*accounts["prod"], *accounts["team-b"]}  # no host dropped
    web_b = accounts["team-b"][0]
    name_b, vars_b = by_id[web_b]
    assert name_b == f"web-1_{web_b}"  # the same name in two accounts: renamed, never dropped
    assert vars_b["ec2_account_id"] == {"__ansible_unsafe": "222222222222"}
    assert vars_b["ec2_account_alias"] == {"__ansible_unsafe": "team-b"}
    assert by_id[accounts["prod"][0]][1]["ec2_account_alias"] == {"__ansible_unsafe": "prod"}
    children = inventory["all"]["children"]
    assert sorted(children["account_team_b"]["hosts"]) == sorted(by_id[i][0] for i in accounts["team-b"])
    assert sorted(children["account_prod"]["hosts"]) == sorted(by_id[i][0] for i in accounts["prod"])
    assert "taken" in " ".join(done.json()["warnings"])


def test_a_denied_account_is_partial_and_the_cache_needs_no_sts(
    aws: MotoAws, accounts: dict[str, list[str]], cli: Any, tmp_path: Path
) -> None:
    with aws_proxy.serve("forward", aws.endpoint) as proxy:
        warm = _discover(cli, proxy.url, "--hostname", "id")
        assert warm.returncode == 0, warm.stderr
        proxy.actions.clear()
        cached = _discover(cli, proxy.url, "--hostname", "id", "--json")
        assert cached.returncode == 0, cached.stderr
        assert all(r["cached"] for r in cached.json()["data"]["regions"])
        assert "AssumeRole" not in proxy.actions  # the role's account id is in its ARN
        assert "DescribeInstances" not in proxy.actions

        proxy.deny_roles.add(TEAM_B)
        out = tmp_path / "hosts"
        denied = _discover(cli, proxy.url, "--hostname", "id", "--refresh", "-o", str(out), "--json")
        assert denied.returncode == 1
        doc = denied.json()
        assert doc["partial"] is True
        assert (
            f"failed: account {TEAM_B}: these AWS credentials may not assume role {TEAM_B} (AccessDenied)\n"
            "partial result: 1 part(s) failed; exit 1\n"
        ) in denied.stderr
        assert [(a["label"], a["error"] is not None) for a in doc["data"]["accounts"]] == [
            ("prod", False),
            (TEAM_B, True),
        ]
        assert [line.split()[0] for line in out.read_text().splitlines()[2:]] == accounts["prod"]
        allowed = _discover(cli, proxy.url, "--hostname", "id", "--refresh", "--allow-partial")
        assert allowed.returncode == 0
        assert "AccessDenied" in allowed.stderr


def test_roles_through_a_hub_with_external_id_and_session_name(aws: MotoAws, cli: Any) -> None:
    spoke = _assumed(aws, SPOKE, via=_assumed(aws, HUB))
    made = _launch(aws, spoke, "us-east-1", ["edge-1"])
    with aws_proxy.serve("forward", aws.endpoint) as proxy:
        done = cli(
            "fleet", "discover", "--endpoint-url", proxy.url, "--region", "us-east-1", "--account", SPOKE,
            "--via", HUB, "--external-id", "stackrig-test-id", "--role-session-name", "nightly-inventory",
            "--hostname", "id", "--json",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assumed = [r for r in proxy.requests if r.get("Action") == "AssumeRole"]
    assert [h["instance_id"] for h in done.json()["data"]["inventory"]["hosts"]] == made
    assert [(r["RoleArn"], r["RoleSessionName"], r.get("ExternalId")) for r in assumed] == [
        (HUB, "nightly-inventory", None),
        (SPOKE, "nightly-inventory", "stackrig-test-id"),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--account", "arn:aws:iam::12:role/x"), "--account 'arn:aws:iam::12:role/x' is not a role ARN"),
        (("--account", "prod", "--via", HUB), "--via applies to role ARNs given with --account"),
        (("--account", TEAM_B, "--role-session-name", "a b"), "--role-session-name 'a b' must be"),
        (("--provider", "gcp", "--account", "prod"), "--account applies to --provider aws only"),
    ],
)
def test_bad_account_options_are_usage_errors(
    cli: Any, args: tuple[str, ...], message: str, tmp_path: Path
) -> None:
    out = tmp_path / "hosts"
    out.write_text("kept\n")
    done = cli("fleet", "discover", "--endpoint-url", "http://127.0.0.1:9", *args, "-o", str(out))
    assert done.returncode == 2
    assert message in done.stderr
    assert out.read_text() == "kept\n"


def test_the_same_instance_id_in_two_accounts_keeps_both() -> None:
    hosts = [
        Host(
            "aws", "i-0abc", private_address="10.0.0.1", state="running", extra={"account_id": "111111111111"}
        ),
        Host(
            "aws", "i-0abc", private_address="10.0.0.1", state="running", extra={"account_id": "222222222222"}
        ),
    ]
    result = build_inventory(hosts, InventoryOptions(hostname="id"))
    assert [h.name for h in result.hosts] == ["i-0abc", "i-0abc_2"]
    assert [h.vars["ec2_account_id"] for h in result.hosts] == ["111111111111", "222222222222"]
