"""Provider parsers on hand-written fixtures of what the cloud CLIs print (awkward cases included)."""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

import pytest

from stackrig.errors import ExitCode
from stackrig.fleet import (
    Host,
    ProviderParseError,
    detect_provider,
    load_documents,
    parse_documents,
)
from tests.fleet.conftest import CLOUD


def _load(name: str) -> Any:
    return json.loads((CLOUD / name).read_text())


def _by_id(hosts: list[Host]) -> dict[str, Host]:
    return {h.instance_id: h for h in hosts}


def test_aws_every_instance_of_every_reservation_in_order() -> None:
    hosts = parse_documents([_load("aws-describe-instances.json")])
    assert [h.instance_id[-1] for h in hosts] == ["0", "1", "2", "3", "4"]
    assert {h.provider for h in hosts} == {"aws"}
    web = hosts[0]
    assert web.name == "my-prefix-web-1"
    assert (web.public_address, web.private_address) == ("54.1.2.3", "10.0.1.10")
    assert (web.region, web.zone, web.instance_type) == ("us-east-1", "us-east-1a", "t3.micro")
    assert web.tags == {"Name": "my-prefix-web-1", "Role": "web"}
    assert web.state == "running"
    assert web.state_code == 16
    assert web.extra["vpc_id"] == "vpc-0bbb"


def test_aws_absent_public_ip_tags_and_terminated() -> None:
    hosts = _by_id(parse_documents([_load("aws-describe-instances.json")]))
    db = hosts["i-0123456789abcdef1"]
    assert db.public_address is None
    assert db.address == "10.0.2.11"
    assert hosts["i-0123456789abcdef2"].state == "stopped"
    gone = hosts["i-0123456789abcdef3"]
    assert gone.state == "terminated"
    assert gone.address is None
    assert hosts["i-0123456789abcdef4"].tags == {}
    assert hosts["i-0123456789abcdef4"].name is None


def test_aws_primary_nic_is_device_index_zero() -> None:
    doc = {
        "Reservations": [
            {
                "Instances": [
                    {
                        "InstanceId": "i-1",
                        "State": {"Code": 16, "Name": "running"},
                        "NetworkInterfaces": [
                            {"Attachment": {"DeviceIndex": 1}, "PrivateIpAddress": "10.9.9.9"},
                            {
                                "Attachment": {"DeviceIndex": 0},
                                "PrivateIpAddress": "10.0.0.1",
                                "Association": {"PublicIp": "3.3.3.3"},
                            },
                        ],
                    }
                ]
            }
        ]
    }
    (host,) = parse_documents([doc])
    assert (host.private_address, host.public_address) == ("10.0.0.1", "3.3.3.3")


def test_aws_boto3_response_with_datetime_and_query_output() -> None:
    doc = _load("aws-describe-instances.json")
    boto = copy.deepcopy(doc)
    boto["ResponseMetadata"] = {"HTTPStatusCode": 200}
    launch = dt.datetime(2024, 5, 1, 10, 0, tzinfo=dt.UTC)
    boto["Reservations"][0]["Instances"][0]["LaunchTime"] = launch
    hosts = parse_documents([boto])
    assert hosts[0].launch_time == launch.isoformat()
    # --query 'Reservations[].Instances[]' prints a bare list of instances
    flat = [i for r in doc["Reservations"] for i in r["Instances"]]
    assert [h.instance_id for h in parse_documents([flat])] == [h.instance_id for h in hosts]


def test_aws_pages_concatenated() -> None:
    page = (CLOUD / "aws-describe-instances.json").read_text()
    docs = load_documents(page + "\n" + page)
    assert len(docs) == 2
    assert len(parse_documents(docs)) == 10


def test_azure_vm_list_d() -> None:
    hosts = _by_id(parse_documents([_load("azure-vm-list-d.json")]))
    web = next(h for h in hosts.values() if h.name == "web1")
    assert web.provider == "azure"
    assert web.state == "running"
    assert web.raw_state == "VM running"
    assert (web.public_address, web.private_address, web.zone) == ("20.1.2.3", "10.1.0.4", "1")
    assert web.region == "eastus"
    assert web.instance_type == "Standard_B1s"
    assert web.image == "Canonical:0001-com-ubuntu-server-jammy:22_04-lts-gen2:latest"
    db = next(h for h in hosts.values() if h.name == "db1")
    assert db.public_address is None
    assert db.private_address == "10.1.0.5"
    assert db.extra["private_ips"] == ["10.1.0.5", "10.1.1.5"]
    assert db.tags == {}
    assert db.zone is None
    old = next(h for h in hosts.values() if h.name == "old1")
    assert old.state == "stopped"
    assert old.raw_state == "VM deallocated"


def test_azure_ip_listing_alone_and_merged_with_vm_list() -> None:
    listing = parse_documents([_load("azure-vm-list-ip-addresses.json")])
    assert [(h.name, h.state, h.address) for h in listing] == [
        ("web1", "unknown", "20.1.2.3"),
        ("db1", "unknown", "10.1.0.5"),
    ]
    vms = _load("azure-vm-list-d.json")
    for vm in vms:
        vm["publicIps"] = ""
    merged = parse_documents([vms, _load("azure-vm-list-ip-addresses.json")])
    assert [h.name for h in merged] == ["web1", "db1", "old1"]
    assert merged[0].public_address == "20.1.2.3"
    assert merged[0].state == "running"


def test_gcp_urls_nics_and_terminated() -> None:
    hosts = parse_documents([_load("gcp-instances-list.json")])
    web, internal, stopped = hosts
    assert (web.zone, web.region, web.instance_type) == ("us-central1-a", "us-central1", "e2-medium")
    assert (web.public_address, web.private_address) == ("34.70.1.2", "10.128.0.2")
    assert web.tags == {"role": "web", "env": "dev"}
    assert web.extra["network_tags"] == ["http-server", "https-server"]
    assert web.extra["private_ips"] == ["10.128.0.2", "10.130.0.2"]
    assert internal.public_address is None
    assert internal.tags == {}
    assert stopped.state == "stopped"
    assert stopped.raw_state == "TERMINATED"
    assert stopped.public_address is None  # access config without natIP


def test_openstack_networks_dict_and_string_properties() -> None:
    web, db, old = parse_documents([_load("openstack-server-list.json")])
    assert (web.private_address, web.public_address) == ("10.0.0.21", "172.24.4.120")  # floating IP
    assert web.tags == {"role": "web", "owner": "ops"}
    assert web.zone == "nova"
    assert web.instance_type == "m1.small"
    assert web.region is None
    assert (db.private_address, db.public_address) == ("10.0.0.22", None)
    assert db.tags == {"role": "db", "backup": "daily"}
    assert db.extra["networks"] == {"private": ["10.0.0.22"], "storage": ["192.168.50.22"]}
    assert old.state == "stopped"
    assert old.public_address == "203.0.113.30"


def test_openstack_server_show_shape() -> None:
    show = {
        "id": "abc",
        "name": "x",
        "status": "ACTIVE",
        "flavor": {"name": "m1.tiny"},
        "addresses": {"private": [{"addr": "10.0.0.9", "OS-EXT-IPS:type": "fixed"}]},
        "OS-EXT-AZ:availability_zone": "az1",
        "key_name": "k",
        "properties": {"a": 1},
    }
    (host,) = parse_documents([show])
    assert (host.provider, host.private_address, host.instance_type, host.zone) == (
        "openstack",
        "10.0.0.9",
        "m1.tiny",
        "az1",
    )
    assert host.key_name == "k"
    assert host.tags == {"a": "1"}


@pytest.mark.parametrize(
    ("name", "provider"),
    [
        ("aws-describe-instances.json", "aws"),
        ("azure-vm-list-d.json", "azure"),
        ("azure-vm-list-ip-addresses.json", "azure"),
        ("gcp-instances-list.json", "gcp"),
        ("openstack-server-list.json", "openstack"),
    ],
)
def test_detection(name: str, provider: str) -> None:
    assert detect_provider(_load(name)) == provider


def test_unknown_shape_lists_understood_shapes() -> None:
    with pytest.raises(ProviderParseError) as info:
        parse_documents([{"hello": "world"}])
    assert info.value.exit_code == ExitCode.USAGE
    assert "no shape" in info.value.message
    assert "describe-instances" in str(info.value.hint)
    assert "openstack server list" in str(info.value.hint)


def test_ambiguous_shape_asks_for_provider() -> None:
    both = [{"InstanceId": "i-1", "networkInterfaces": [], "machineType": "x"}]
    with pytest.raises(ProviderParseError, match="several providers"):
        parse_documents([both])
    assert parse_documents([both], provider="aws")[0].instance_id == "i-1"


def test_forced_provider_mismatch_and_unknown_provider() -> None:
    with pytest.raises(ProviderParseError, match="is not gcp output"):
        parse_documents([_load("aws-describe-instances.json")], provider="gcp")
    with pytest.raises(ProviderParseError, match="unknown provider"):
        parse_documents([[]], provider="digitalocean")


def test_bad_items_are_usage_errors_naming_the_place() -> None:
    with pytest.raises(ProviderParseError, match=r"^<input>: instance 2: expected an object, found str$"):
        parse_documents([[{"InstanceId": "i-1"}, "oops"]])
    with pytest.raises(ProviderParseError, match=r"^in\.json: reservation 1, instance 1: instance without"):
        parse_documents([{"Reservations": [{"Instances": [{"State": {}}]}]}], source="in.json")
    with pytest.raises(ProviderParseError, match="Reservations is not a list"):
        parse_documents([{"Reservations": "x"}], provider="aws")


def test_invalid_json_names_line_and_column() -> None:
    with pytest.raises(ProviderParseError) as info:
        load_documents('{\n  "Reservations": [\n    {,\n', source="in.json")
    assert "in.json is not valid JSON" in info.value.message
    assert "line 3, column 6" in info.value.message
    with pytest.raises(ProviderParseError, match="line 1, column 10"):
        load_documents('{} {"a": }')


def test_empty_documents_mean_no_instances() -> None:
    assert parse_documents([{"Reservations": []}, []]) == []
