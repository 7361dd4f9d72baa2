"""fleet diff: hosts added, removed and changed between inventories of any format, and snapshots."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from stackrig.fleet import InventoryOptions, build_inventory, parse_documents, write_inventory
from tests.fleet.conftest import CLOUD

OPTIONS = InventoryOptions(state="any", hostname="name", group_by=("tag:Role",), address="private")


def _doc() -> dict[str, Any]:
    return json.loads((CLOUD / "aws-describe-instances.json").read_text())


def _changed(doc: dict[str, Any]) -> dict[str, Any]:
    """web-1: private address and Role tag changed; db-1 stopped; ...4 gone; a new instance."""
    new = copy.deepcopy(doc)
    instances = [i for r in new["Reservations"] for i in r["Instances"]]
    web = instances[0]
    web["PrivateIpAddress"] = "10.0.1.99"
    web["Tags"] = [{"Key": "Name", "Value": "my-prefix-web-1"}, {"Key": "Role", "Value": "api"}]
    web["LaunchTime"] = "2024-06-01T00:00:00+00:00"
    instances[1]["State"] = {"Code": 80, "Name": "stopped"}
    new["Reservations"][-1]["Instances"] = [
        i for i in new["Reservations"][-1]["Instances"] if i["InstanceId"] != "i-0123456789abcdef4"
    ]
    new["Reservations"].append(
        {"Instances": [{"InstanceId": "i-0feedfeedfeedfeed", "PrivateIpAddress": "10.0.9.9",
                        "State": {"Code": 16, "Name": "running"},
                        "Tags": [{"Key": "Name", "Value": "new-1"}]}]}
    )  # fmt: skip
    return new


def _write(doc: dict[str, Any], path: Path, fmt: str = "json", options: InventoryOptions = OPTIONS) -> Path:
    write_inventory(build_inventory(parse_documents([doc]), options), path, fmt)  # type: ignore[arg-type]
    return path


def test_added_removed_changed_by_instance_id(cli: Any, tmp_path: Path) -> None:
    old = _write(_doc(), tmp_path / "old.json")
    new = _write(_changed(_doc()), tmp_path / "new.json")
    done = cli("fleet", "diff", str(old), str(new), "--json")
    assert done.returncode == 0, done.stderr
    data = done.json()["data"]
    assert data["keyed_by"] == "instance id"
    assert [(h["key"], h["name"], h["address"]) for h in data["added"]] == [
        ("i-0feedfeedfeedfeed", "new-1", "10.0.9.9")
    ]
    assert [h["key"] for h in data["removed"]] == ["i-0123456789abcdef4"]
    changes = {c["key"]: [(x["field"], x["old"], x["new"]) for x in c["changes"]] for c in data["changed"]}
    assert changes == {
        "i-0123456789abcdef0": [
            ("address", "10.0.1.10", "10.0.1.99"),
            ("launch_time", "2024-05-01T10:00:00+00:00", "2024-06-01T00:00:00+00:00"),
            ("private_ip", "10.0.1.10", "10.0.1.99"),
            ("tag:Role", "web", "api"),
            ("groups", ["tag_Role_web"], ["tag_Role_api"]),
        ],
        "i-0123456789abcdef1": [("state", "running", "stopped"), ("state_code", 16, 80)],
    }
    assert data["unchanged"] == 1  # ...2; ...3 has no address, so it is in neither inventory
    text = cli(
        "fleet", "diff", str(old), str(new), "--ignore", "launch_time,private_ip", "--ignore", "state_code"
    )
    assert text.stdout.splitlines() == [
        "+ i-0feedfeedfeedfeed  new-1  10.0.9.9",
        "- i-0123456789abcdef4  i-0123456789abcdef4  10.0.3.13",
        "~ i-0123456789abcdef0  my-prefix-web-1: address 10.0.1.10 -> 10.0.1.99; tag:Role web -> api; "
        "groups +tag_Role_api -tag_Role_web",
        "~ i-0123456789abcdef1  my-prefix-db-1: state running -> stopped",
    ]
    assert "1 added, 1 removed, 2 changed, 1 unchanged (hosts matched by instance id)" in text.stderr


def test_exit_code_for_ci(cli: Any, tmp_path: Path) -> None:
    old = _write(_doc(), tmp_path / "old.json")
    same = _write(_doc(), tmp_path / "same.yml", "yaml")
    new = _write(_changed(_doc()), tmp_path / "new.json")
    assert cli("fleet", "diff", str(old), str(same), "--exit-code").returncode == 0
    differ = cli("fleet", "diff", str(old), str(new), "--exit-code", "--json")
    assert differ.returncode == 1
    assert differ.json()["exit_code"] == 1
    assert cli("fleet", "diff", str(old), str(new)).returncode == 0  # without --exit-code: a report


def test_ini_fields_are_unknown_not_changed(cli: Any, tmp_path: Path) -> None:
    old = _write(_doc(), tmp_path / "old.ini", "ini")  # no host_vars: tags and names are left out
    new = _write(_doc(), tmp_path / "new.yml", "yaml")
    done = cli("fleet", "diff", str(old), str(new), "--json", "--exit-code")
    assert done.returncode == 0, done.stdout
    data = done.json()["data"]
    assert data["changed"] == []
    assert data["unchanged"] == 4
    assert data["unknown"]["tag:Name"] == 3  # the untagged host has no tag:Name on either side
    for script_or_json in ("script", "json"):
        other = _write(_doc(), tmp_path / f"new.{script_or_json}.json", script_or_json)
        assert cli("fleet", "diff", str(new), str(other), "--exit-code").returncode == 0


def test_hosts_without_ids_are_matched_by_name(cli: Any, tmp_path: Path) -> None:
    old = tmp_path / "old.ini"
    old.write_text("web1 ansible_host=10.0.0.1\ndb1 ansible_host=10.0.0.2\n\n[web]\nweb1\n")
    new = tmp_path / "new.ini"
    new.write_text("web1 ansible_host=10.0.0.5\napp1 ansible_host=10.0.0.3\n\n[web]\nweb1\napp1\n")
    data = cli("fleet", "diff", str(old), str(new), "--json").json()["data"]
    assert data["keyed_by"] == "host name"
    assert [h["key"] for h in data["added"]] == ["app1"]
    assert [h["key"] for h in data["removed"]] == ["db1"]
    assert data["changed"][0]["changes"] == [{"field": "address", "old": "10.0.0.1", "new": "10.0.0.5"}]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("missing.json", "other.json"), "inventory missing.json does not exist"),
        (("@7", "@latest"), "there are no snapshots yet"),
        (("only-one",), "give OLD and NEW"),
    ],
)
def test_bad_input(cli: Any, tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    done = cli("fleet", "diff", *args, cwd=tmp_path)
    assert done.returncode == 2
    assert message in done.stderr


def _snapshot_at(data_dir: Path, days_ago: float, hosts: list[Any]) -> None:
    import datetime as dt

    from stackrig.fleet._snapshots import save_snapshot
    from stackrig.fleet.discover import DiscoverResult

    now = dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago)
    result = DiscoverResult("aws", "123456789012", (), tuple(hosts))
    save_snapshot(data_dir / "fleet" / "snapshots", data_dir / "stackrig.db", result, (), now=now)


def test_since_compares_the_snapshot_nearest_to_a_date_or_age(
    cli: Any, data_dir: Path, tmp_path: Path
) -> None:
    hosts = parse_documents([_doc()])
    changed = parse_documents([_changed(_doc())])
    _snapshot_at(data_dir, 8, hosts[:2])
    _snapshot_at(data_dir, 1.1, hosts)
    _snapshot_at(data_dir, 0, changed)
    day = cli("fleet", "diff", "--since", "1d", "--json").json()["data"]
    assert day["old"].startswith("snapshot 2 (")
    assert day["new"].startswith("snapshot 3 (")
    assert [h["key"] for h in day["added"]] == ["i-0feedfeedfeedfeed"]
    week = cli("fleet", "diff", "--since", "7d", "--json").json()["data"]
    assert week["old"].startswith("snapshot 1 (")
    assert [h["key"][-4:] for h in week["added"]] == ["def2", "def3", "feed"]
    inventory = _write(_changed(_doc()), tmp_path / "now.json", options=InventoryOptions(state="any"))
    against = cli("fleet", "diff", "--since", "2000-01-01", str(inventory), "--json").json()["data"]
    assert against["old"].startswith("snapshot 1 (")  # the oldest is the nearest to 2000
    nothing = cli("fleet", "diff", "--since", "1h")
    assert nothing.returncode == 2
    assert "is the latest one (@3" in nothing.stderr
    bad = cli("fleet", "diff", "--since", "7")
    assert bad.returncode == 2
    assert "--since '7' has no unit" in bad.stderr
    pruned = cli("fleet", "history", "--older-than", "2d", "--yes", "--json").json()["data"]
    assert [s["id"] for s in pruned["deleted"]] == [1]
    assert [s["id"] for s in pruned["snapshots"]] == [2, 3]
