"""Filters (aws CLI syntax and the short form), names, groups and skipped hosts, in-process."""

from __future__ import annotations

import json

import pytest

from stackrig.errors import ExitCode, UsageError
from stackrig.fleet import (
    Host,
    InventoryOptions,
    NoHostsError,
    build_inventory,
    parse_documents,
    parse_filter,
    safe_group_name,
    safe_host_name,
)
from tests.fleet.conftest import CLOUD


@pytest.fixture(scope="module")
def aws_hosts() -> list[Host]:
    return parse_documents([json.loads((CLOUD / "aws-describe-instances.json").read_text())])


def _names(hosts: list[Host], **options: object) -> list[str]:
    result = build_inventory(hosts, InventoryOptions(**options))  # type: ignore[arg-type]
    return [h.host.instance_id[-1] for h in result.hosts]


def test_seed_filters_in_aws_syntax(aws_hosts: list[Host]) -> None:
    seed = ("Name=tag:Name,Values=my-prefix*", "Name=instance-state-code,Values=16")
    assert _names(aws_hosts, filters=seed, state="any") == ["0", "1"]


def test_short_form_is_the_same_filter(aws_hosts: list[Host]) -> None:
    assert parse_filter("tag:Name=a*,b").values == parse_filter("Name=tag:Name,Values=a*,b").values
    assert _names(aws_hosts, filters=("tag:Name=my-prefix*",)) == ["0", "1"]
    assert _names(aws_hosts, filters=("tag:Role=web,db",)) == ["0", "1"]
    assert _names(aws_hosts, filters=("type=t3.*",), state="any") == ["0", "1", "2"]
    assert _names(aws_hosts, filters=("state-code=80",), state="any") == ["2"]
    assert _names(aws_hosts, filters=("zone=us-east-1?", "region=us-east-1"), state="any") == [
        "0",
        "1",
        "2",
        "4",
    ]


def test_globs_are_case_sensitive_and_escapable(aws_hosts: list[Host]) -> None:
    with pytest.raises(NoHostsError):
        build_inventory(aws_hosts, InventoryOptions(filters=("tag:Name=MY-PREFIX*",)))
    hosts = [
        Host("aws", "i-1", name="a*b", state="running", private_address="10.0.0.1", tags={"Name": "a*b"})
    ]
    hosts.append(
        Host("aws", "i-2", name="axb", state="running", private_address="10.0.0.2", tags={"Name": "axb"})
    )
    result = build_inventory(hosts, InventoryOptions(filters=(r"tag:Name=a\*b",)))
    assert [h.host.instance_id for h in result.hosts] == ["i-1"]
    with pytest.raises(NoHostsError):  # [ is a literal character in AWS globs
        build_inventory(hosts, InventoryOptions(filters=("tag:Name=[ab]*",)))


def test_zero_hosts_names_the_filter_that_removed_them(aws_hosts: list[Host]) -> None:
    with pytest.raises(NoHostsError) as info:
        build_inventory(aws_hosts, InventoryOptions(filters=("tag:Role=web", "zone=eu-*")))
    assert info.value.exit_code == ExitCode.FAILED
    assert "filter zone=eu-* removed the last 1" in info.value.message
    with pytest.raises(NoHostsError, match=r"state=pending \(--state"):
        build_inventory(aws_hosts, InventoryOptions(state="pending"))


def test_bad_filters_and_options_are_usage_errors(aws_hosts: list[Host]) -> None:
    for spec, message in [
        ("nothing", "not NAME=VALUES"),
        ("colour=red", "unknown field 'colour'"),
        ("tag:Name=", "has no values"),
        ("tag:=x", "unknown field"),
    ]:
        with pytest.raises(UsageError, match=message):
            parse_filter(spec)
    for options, message in [
        (InventoryOptions(user="bad user"), "--user"),
        (InventoryOptions(port=70000), "--port"),
        (InventoryOptions(ssh_proxy="a b@c"), "--ssh-proxy"),
        (InventoryOptions(groups=("all",)), "Ansible's own groups"),
        (InventoryOptions(group_by=("colour",)), "--group-by 'colour'"),
    ]:
        with pytest.raises(UsageError, match=message):
            build_inventory(aws_hosts, options)


def test_default_state_keeps_hosts_without_state() -> None:
    hosts = [Host("azure", "rg/a", name="a", private_address="10.0.0.1")]
    assert len(build_inventory(hosts, InventoryOptions()).hosts) == 1
    with pytest.raises(NoHostsError):
        build_inventory(hosts, InventoryOptions(filters=("state=running",)))


def test_address_modes_and_skipped_reasons(aws_hosts: list[Host]) -> None:
    result = build_inventory(aws_hosts, InventoryOptions(address="public", state="any"))
    assert [h.name for h in result.hosts] == ["54.1.2.3", "54.1.2.4", "54.1.2.5"]
    reasons = {s.instance_id[-1]: s.reason for s in result.skipped}
    assert reasons["1"].startswith("no public address (private 10.0.2.11")
    assert "state terminated" in reasons["3"]
    assert "2 skipped" in result.summary()
    assert "of 5 instances read" in result.summary()
    private = build_inventory(aws_hosts, InventoryOptions(address="private"))
    assert [h.vars["ansible_host"] for h in private.hosts] == ["10.0.1.10", "10.0.2.11", "10.0.3.13"]


def test_no_usable_address_at_all() -> None:
    hosts = [Host("aws", "i-1", state="running", private_address="not-an-ip")]
    with pytest.raises(NoHostsError, match="no host has a usable address"):
        build_inventory(hosts, InventoryOptions())
    with pytest.raises(NoHostsError, match="holds no instances"):
        build_inventory([], InventoryOptions())


def test_duplicates_never_drop_a_host() -> None:
    twin = Host("aws", "i-1", name="web", state="running", private_address="10.0.0.1")
    hosts = [twin, Host("aws", "i-2", name="web", state="running", private_address="10.0.0.1"), twin]
    result = build_inventory(hosts, InventoryOptions(hostname="name"))
    assert [h.name for h in result.hosts] == ["web", "web_i-2", "web_i-1"]
    assert len(result.warnings) == 2
    assert "web_i-2" in result.warnings[0]
    by_address = build_inventory(hosts, InventoryOptions(groups=("g",)))
    assert by_address.groups["g"] == ("10.0.0.1", "10.0.0.1_i-2", "10.0.0.1_i-1")
    by_id = build_inventory(hosts, InventoryOptions(hostname="id"))
    assert [h.name for h in by_id.hosts] == ["i-1", "i-2", "i-1_2"]


def test_keyed_groups_like_aws_ec2(aws_hosts: list[Host]) -> None:
    result = build_inventory(
        aws_hosts,
        InventoryOptions(
            group_by=("tag:Role,region", "type", "zone", "provider"), groups=("nodes", "1st"), state="any"
        ),
    )
    groups = result.groups
    assert list(groups)[:2] == ["nodes", "_1st"]
    assert groups["tag_Role_web"] == ("54.1.2.3",)
    assert groups["region_us_east_1"] == ("54.1.2.3", "10.0.2.11", "54.1.2.4", "54.1.2.5")
    assert groups["type_t3_micro"] == ("54.1.2.3", "10.0.2.11")
    assert "zone_us_east_1c" in groups
    assert "provider_aws" in groups


def test_connection_options_and_proxy_only_for_private_hosts(aws_hosts: list[Host]) -> None:
    result = build_inventory(
        aws_hosts, InventoryOptions(user="ubuntu", port=2222, ssh_proxy="ops@bastion:22")
    )
    web, db, _ = result.hosts
    assert web.vars["ansible_user"] == "ubuntu"
    assert web.vars["ansible_port"] == 2222
    assert "ansible_ssh_common_args" not in web.vars
    assert db.vars["ansible_ssh_common_args"] == "-o ProxyJump=ops@bastion:22"
    assert db.vars["ec2_tags"] == {"Name": "my-prefix-db-1", "Role": "db"}


def test_sanitizers() -> None:
    assert safe_group_name("tag_Role_web-1.a b") == "tag_Role_web_1_a_b"
    assert safe_group_name("9lives") == "_9lives"
    assert safe_group_name("") == "_"
    assert safe_host_name("web 1\n[x]") == "web_1__x_"
    assert safe_host_name("-x") == "_-x"
    assert safe_host_name("é") == "_"
    assert len(safe_host_name("a" * 10_000)) == 253
