"""API-shaped cloud documents (ARM, GCE lists, Nova), IPv6-only hosts, malformed addresses, positions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from stackrig.errors import ExitCode
from stackrig.fleet import (
    Host,
    InventoryOptions,
    NoHostsError,
    ProviderParseError,
    build_inventory,
    detect_provider,
    load_hosts,
    parse_documents,
)

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "cloud"


def _arm_vm(name: str, *, power: str | None = "running", nic: dict[str, Any] | None = None) -> dict[str, Any]:
    rid = f"/subscriptions/s/resourceGroups/RG1/providers/Microsoft.Compute/virtualMachines/{name}"
    props: dict[str, Any] = {
        "vmId": f"id-{name}",
        "hardwareProfile": {"vmSize": "Standard_B1s"},
        "storageProfile": {"imageReference": {"publisher": "Canonical", "offer": "ubuntu", "sku": "22_04"}},
        "osProfile": {"computerName": name, "adminUsername": "azureuser"},
        "networkProfile": {"networkInterfaces": [nic or {"id": f"{rid}-nic"}]},
        "provisioningState": "Succeeded",
    }
    if power:
        props["instanceView"] = {
            "statuses": [
                {"code": "ProvisioningState/succeeded", "displayStatus": "Provisioning succeeded"},
                {"code": f"PowerState/{power}", "displayStatus": f"VM {power}"},
            ]
        }
    return {"id": rid, "name": name, "type": "Microsoft.Compute/virtualMachines", "location": "westeurope",
            "zones": ["2"], "tags": {"role": "web"}, "properties": props}  # fmt: skip


def _expanded_nic(private: str, public: str | None) -> dict[str, Any]:
    config: dict[str, Any] = {"properties": {"privateIPAddress": private, "primary": True}}
    if public:
        config["properties"]["publicIPAddress"] = {"id": "pip", "properties": {"ipAddress": public}}
    return {"id": "nic", "properties": {"primary": True, "ipConfigurations": [config]}}


def test_arm_value_list_with_instance_view_and_expanded_nics() -> None:
    doc = {
        "value": [
            _arm_vm("web", nic=_expanded_nic("10.0.0.4", "20.1.1.1")),
            _arm_vm("db", power="deallocated", nic=_expanded_nic("10.0.0.5", None)),
        ],
        "nextLink": "https://management.azure.com/...",
    }
    assert detect_provider(doc) == "azure"
    web, db = parse_documents([doc])
    assert (web.name, web.state, web.raw_state) == ("web", "running", "VM running")
    assert (web.private_address, web.public_address) == ("10.0.0.4", "20.1.1.1")
    assert (web.region, web.zone, web.instance_type) == ("westeurope", "2", "Standard_B1s")
    assert web.image == "Canonical:ubuntu:22_04"
    assert web.extra["resource_group"] == "RG1"
    assert web.extra["admin_username"] == "azureuser"
    assert web.tags == {"role": "web"}
    assert (db.state, db.public_address, db.private_address) == ("stopped", None, "10.0.0.5")


def test_arm_vm_without_addresses_is_named_with_the_reason() -> None:
    hosts = parse_documents(
        [{"value": [_arm_vm("web", power=None), _arm_vm("ok", nic=_expanded_nic("10.0.0.9", None))]}]
    )
    assert hosts[0].state == "unknown"  # no instanceView: kept by the default state filter
    result = build_inventory(hosts, InventoryOptions())
    assert [h.name for h in result.hosts] == ["10.0.0.9"]
    (skipped,) = result.skipped
    assert skipped.name == "web"
    assert skipped.reason.startswith("its addresses are not in the document")
    assert "az vm list -d" in skipped.reason
    with pytest.raises(NoHostsError) as info:
        build_inventory(hosts[:1], InventoryOptions())
    assert "its addresses are not in the document" in info.value.message
    assert info.value.hint is None  # no other --address would help


def test_gce_items_and_aggregated_list_and_ipv6() -> None:
    vm = {
        "kind": "compute#instance",
        "id": "11",
        "name": "v6",
        "status": "RUNNING",
        "zone": "projects/p/zones/europe-west4-b",
        "machineType": "projects/p/zones/europe-west4-b/machineTypes/e2-micro",
        "networkInterfaces": [
            {"name": "nic0", "ipv6Address": "fd20::1", "stackType": "IPV6_ONLY",
             "ipv6AccessConfigs": [{"type": "DIRECT_IPV6", "externalIpv6": "2600:1900:4000::1"}]}
        ],
    }  # fmt: skip
    listing = {"kind": "compute#instanceList", "items": [vm]}
    aggregated = {
        "kind": "compute#instanceAggregatedList",
        "items": {"zones/a": {"warning": {"code": "NO_RESULTS_ON_PAGE"}}, "zones/b": {"instances": [vm, vm]}},
    }
    assert detect_provider(listing) == detect_provider(aggregated) == "gcp"
    assert detect_provider({"kind": "compute#instanceList", "id": "x"}) is None  # an empty page
    (host,) = parse_documents([listing])
    assert host.ipv6_address == "2600:1900:4000::1"
    assert (host.private_address, host.public_address) == (None, None)
    result = build_inventory([host], InventoryOptions(address="private"))
    assert result.hosts[0].vars["ansible_host"] == "2600:1900:4000::1"  # IPv6-only: whatever the mode
    assert result.hosts[0].vars["gce_ipv6_address"] == "2600:1900:4000::1"
    assert [h.instance_id for h in parse_documents([aggregated])] == ["11", "11"]


def test_nova_typed_and_untyped_addresses_and_wrappers() -> None:
    server = {
        "id": "s1",
        "name": "typed",
        "status": "SHUTOFF",
        "flavor": {"original_name": "m1.small", "vcpus": 1},
        "image": "",
        "metadata": {"role": "db"},
        "tags": ["blue"],
        "addresses": {
            "net": [
                {"addr": "10.1.0.5", "OS-EXT-IPS:type": "fixed", "version": 4},
                {"addr": "fd00::5", "OS-EXT-IPS:type": "fixed", "version": 6},
                {"addr": "192.168.100.7", "OS-EXT-IPS:type": "floating", "version": 4},
            ]
        },
    }
    (host,) = parse_documents([{"servers": [server]}])
    assert host.provider == "openstack"
    assert (host.private_address, host.public_address, host.ipv6_address) == (
        "10.1.0.5",
        "192.168.100.7",
        "fd00::5",
    )
    assert (host.state, host.instance_type, host.image) == ("stopped", "m1.small", None)
    assert host.tags == {"role": "db"}
    assert host.extra["server_tags"] == ["blue"]
    private = {"private": [{"addr": "10.0.0.3", "version": 4}]}
    (single,) = parse_documents(
        [{"server": {"id": 7, "status": "ACTIVE", "accessIPv4": "198.51.100.9", "addresses": private}}]
    )
    assert (single.instance_id, single.private_address, single.public_address) == (
        "7",
        "10.0.0.3",
        "198.51.100.9",
    )
    assert single.address_fields["public"] == "accessIPv4"
    v6 = {"id": "s3", "status": "ACTIVE", "addresses": {"v6net": [{"addr": "2001:db8::3", "version": 6}]}}
    result = build_inventory(parse_documents([{"servers": [v6]}]), InventoryOptions())
    assert result.hosts[0].vars["ansible_host"] == "2001:db8::3"
    # servers of a down cell have only an id and a status
    assert parse_documents([{"servers": [{"id": "x", "status": "UNKNOWN"}]}])[0].state == "unknown"


def test_aws_ipv6_only_instance_is_reached_on_its_ipv6_address() -> None:
    instance = {
        "InstanceId": "i-6",
        "State": {"Code": 16, "Name": "running"},
        "NetworkInterfaces": [
            {"Attachment": {"DeviceIndex": 0}, "Ipv6Addresses": [{"Ipv6Address": "2600:1f18::6"}]}
        ],
    }
    result = build_inventory(
        parse_documents([{"Reservations": [{"Instances": [instance]}]}]), InventoryOptions()
    )
    assert result.hosts[0].name == "2600:1f18::6"
    assert result.hosts[0].vars["ansible_host"] == "2600:1f18::6"
    assert result.hosts[0].vars["ec2_ipv6_address"] == "2600:1f18::6"


def test_malformed_address_is_named_with_field_and_value() -> None:
    # The AWS documentation's own example: "PrivateIpAddress": "10-0-0-157"
    hosts = load_hosts([CORPUS / "aws-describe-instances-docs-example.json"])
    result = build_inventory(hosts, InventoryOptions())
    assert result.hosts[0].vars["ansible_host"] == "34.253.223.13"
    assert result.warnings == (
        "i-1234567890abcdef0 (my-instance): private address '10-0-0-157' (PrivateIpAddress) "
        "is not an IP address; it is not used",
    )
    with pytest.raises(NoHostsError) as info:
        build_inventory(hosts, InventoryOptions(address="private"))
    assert info.value.message == (
        "no host has a usable address (1 skipped: i-1234567890abcdef0: private address "
        "'10-0-0-157' (PrivateIpAddress) is not an IP address)"
    )
    assert info.value.hint == "--address auto or --address public would use the addresses these hosts have"


def _reservations(count: int, bad_at: tuple[int, int] | None = None) -> dict[str, Any]:
    reservations = []
    for r in range(count):
        instances: list[Any] = [{"InstanceId": f"i-{r}{n}", "State": {"Name": "running"}} for n in range(2)]
        if bad_at is not None and bad_at[0] == r:
            instances[bad_at[1]] = {"State": {"Name": "running"}}
        reservations.append({"Instances": instances})
    return {"Reservations": reservations}


def test_positions_are_per_file_in_the_providers_terms(tmp_path: Path) -> None:
    first = tmp_path / "first.json"
    first.write_text(json.dumps(_reservations(4)))
    second = tmp_path / "second.json"
    second.write_text(json.dumps(_reservations(4, bad_at=(2, 1))))
    with pytest.raises(ProviderParseError) as info:
        load_hosts([first, second])
    assert info.value.message == f"{second}: reservation 3, instance 2: instance without InstanceId"
    pages = tmp_path / "pages.json"  # a second page in the same file is named as such
    pages.write_text(json.dumps(_reservations(1)) + "\n" + json.dumps(_reservations(2, bad_at=(1, 0))))
    with pytest.raises(ProviderParseError, match=r"pages\.json: document 2, reservation 2, instance 1: "):
        load_hosts([pages])
    items = tmp_path / "gce.json"
    items.write_text(
        json.dumps(
            {
                "items": [{"kind": "compute#instance", "id": str(n)} for n in range(4)]
                + [{"kind": "compute#instance"}]
            }
        )
    )
    with pytest.raises(ProviderParseError) as info:
        load_hosts([items])
    assert info.value.message == f"{items}: item 5: instance without id or name"


def test_unknown_shape_names_the_keys_it_found() -> None:
    with pytest.raises(ProviderParseError) as info:
        parse_documents([{"parameters": {}, "responses": {}}], source="spec.json")
    assert info.value.exit_code == ExitCode.USAGE
    assert info.value.message == (
        "spec.json is JSON of no shape stackrig understands: an object with the keys parameters, responses"
    )
    for shape in (
        '{"value": [...]}',
        '{"items": [...]}',
        "aggregatedList",
        '{"servers": [...]}',
        "Reservations",
    ):
        assert shape in str(info.value.hint)
    with pytest.raises(ProviderParseError, match="a list of objects, the first with the keys a, b"):
        parse_documents([[{"a": 1, "b": 2}]])


def test_provider_overrides_detection() -> None:
    doc = {"servers": [{"id": "s", "status": "ACTIVE", "addresses": {}}]}
    assert parse_documents([doc], provider="openstack")[0].instance_id == "s"
    with pytest.raises(ProviderParseError) as info:
        parse_documents([doc], provider="gcp")
    assert info.value.message == "<input> is not gcp output: an object with the keys servers"


def test_cli_names_stdin_and_the_position_and_keeps_the_output(cli: Any, tmp_path: Path) -> None:
    target = tmp_path / "hosts"
    target.write_text("kept\n")
    done = cli("fleet", "inventory", "-o", str(target), stdin=json.dumps(_reservations(3, bad_at=(2, 1))))
    assert done.returncode == 2
    assert "error: <stdin>: reservation 3, instance 2: instance without InstanceId" in done.stderr
    assert target.read_text() == "kept\n"
    # an Azure REST API specification example (a request and its response), not a response
    spec = tmp_path / "VirtualMachine_ListAll.json"
    example = {"parameters": {}, "responses": {"200": {}}, "operationId": "x", "title": "y"}
    spec.write_text(json.dumps(example))
    shaped = cli("fleet", "inventory", str(spec), "--json")
    assert shaped.returncode == 2
    assert shaped.json()["error"]["message"] == (
        f"{spec} is JSON of no shape stackrig understands: an object with the keys parameters, "
        "responses, operationId, title"
    )


def test_when_no_host_has_an_address_every_one_is_named_by_reason() -> None:
    pending = [Host("aws", f"i-p{n:02}", state="pending") for n in range(12)]
    running = [Host("aws", "i-r1", state="running"), Host("aws", "i-r2", state="running")]
    with pytest.raises(NoHostsError) as info:
        build_inventory([*running, *pending], InventoryOptions(state="any"))
    first_ten = ", ".join(f"i-p{n:02}" for n in range(10))
    assert info.value.message == (
        "no host has a usable address (14 skipped: i-r1, i-r2: no public or private address; "
        f"{first_ten} and 2 more: no public or private address, state pending)"
    )
    assert "\n" not in info.value.message
