"""An explicit state filter replaces the default --state running; the hint names what removed the hosts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from stackrig.fleet import InventoryOptions, NoHostsError, build_inventory, load_hosts
from stackrig.fleet._filters import effective_state
from tests.fleet.conftest import CLOUD

AWS = CLOUD / "aws-describe-instances.json"  # running: ...0, ...1, ...4; stopped: ...2; terminated: ...3
STOPPED = "i-0123456789abcdef2"


@pytest.mark.parametrize(
    "spec",
    [
        "Name=instance-state-code,Values=80",
        "Name=instance-state-name,Values=stopped",
        "state=stopped",
        "state-code=80",
    ],
)
def test_a_state_filter_replaces_the_default(spec: str) -> None:
    result = build_inventory(load_hosts([AWS]), InventoryOptions(filters=(spec,), hostname="id"))
    assert [h.name for h in result.hosts] == [STOPPED]
    assert (
        "state=running (the default --state; --state any or a state --filter lifts it)" not in result.filtered
    )


def test_effective_state() -> None:
    assert effective_state(None, ()) == "running"
    assert effective_state(None, ("tag:Role=web",)) == "running"
    assert effective_state(None, ("Name=instance-state-code,Values=80",)) == "any"
    assert effective_state("running", ("state=stopped",)) == "running"  # given by the user: kept


def test_an_explicit_state_is_still_intersected() -> None:
    with pytest.raises(NoHostsError) as info:
        build_inventory(load_hosts([AWS]), InventoryOptions(filters=("state=stopped",), state="running"))
    assert info.value.message.startswith("no hosts left: filter state=stopped removed the last 3 of 5")


def test_the_hint_names_the_default_state_when_it_removed_the_hosts() -> None:
    hosts = [h for h in load_hosts([AWS]) if h.state != "running"]
    with pytest.raises(NoHostsError) as info:
        build_inventory(hosts, InventoryOptions())
    assert info.value.message == (
        "no hosts left: filter state=running (the default --state; --state any or a state --filter "
        "lifts it) removed the last 2 of 2 instances read"
    )
    assert info.value.hint == (
        "their states: stopped (1), terminated (1); pass --state STATE[,STATE] or --state any, "
        "or --filter state=STATE"
    )
    with pytest.raises(NoHostsError) as given:
        build_inventory(hosts, InventoryOptions(state="pending"))
    assert (
        given.value.hint
        == "their states: stopped (1), terminated (1); pass --state STATE[,STATE] or --state any"
    )
    with pytest.raises(NoHostsError) as spelled:
        build_inventory(load_hosts([AWS]), InventoryOptions(filters=("tag:Role=WEB",)))
    assert "filter tag:Role=WEB removed the last 3" in spelled.value.message
    assert spelled.value.hint == "check the filter's spelling and case (globs are case-sensitive as in AWS)"


def test_cli_state_filter_and_errors_keep_the_previous_inventory(cli: Any, tmp_path: Path) -> None:
    target = tmp_path / "hosts"
    done = cli(
        "fleet", "inventory", str(AWS), "--filter", "Name=instance-state-code,Values=80", "-o", str(target)
    )
    assert done.returncode == 0, done.stderr
    assert target.read_text().splitlines()[2].startswith("54.1.2.4 ansible_host=54.1.2.4")
    before = target.read_text()
    failed = cli("fleet", "inventory", str(AWS), "--filter", "tag:Role=nothing", "--json", "-o", str(target))
    assert failed.returncode == 1
    error = failed.json()["error"]
    assert error["message"].startswith("no hosts left: filter tag:Role=nothing removed the last 3")
    assert error["exit_code"] == 1
    assert target.read_text() == before
