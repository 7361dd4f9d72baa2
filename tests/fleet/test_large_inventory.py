"""A large INI inventory written as it is made (never whole in memory) is the same text, byte for
byte, as the one rendered whole; a write that fails half-way leaves the old file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from stackrig._io import atomic_write
from stackrig.fleet import (
    InventoryOptions,
    build_inventory,
    parse_documents,
    render_inventory,
    write_inventory,
)


def _fleet(count: int) -> dict[str, object]:
    """describe-instances with several zones (groups) and a tag INI cannot hold (left out)."""
    instances = [
        {
            "InstanceId": f"i-{n:017x}",
            "PrivateIpAddress": f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}",
            "State": {"Code": 16, "Name": "running"},
            "Placement": {"AvailabilityZone": f"us-east-1{'abc'[n % 3]}"},
            "InstanceType": "t3.micro",
            "Tags": [{"Key": "Name", "Value": f"web-{n}"}, {"Key": "note", "Value": "{{ not run }}"}],
        }
        for n in range(count)
    ]
    return {"Reservations": [{"Instances": instances}]}


def test_a_streamed_ini_inventory_is_the_same_text(tmp_path: Path) -> None:
    options = InventoryOptions(group_by=("zone", "type"))
    result = build_inventory(parse_documents([_fleet(10_000)]), options)  # some blocks of lines
    whole = render_inventory(result, "ini")
    kept = write_inventory(result, tmp_path / "kept.ini")
    streamed = write_inventory(result, tmp_path / "streamed.ini", keep_text=False)
    assert (tmp_path / "streamed.ini").read_text() == (tmp_path / "kept.ini").read_text() == whole.content
    assert kept == whole
    assert streamed.content == ""  # not kept
    assert streamed.left_out == whole.left_out == 10_000
    assert "[zone_us_east_1c]" in whole.content


def test_pieces_that_fail_half_way_leave_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "hosts.ini"
    target.write_text("old\n")

    def pieces() -> Iterator[str]:
        yield "new " * 1_000_000  # more than one encoded piece
        raise RuntimeError("the inventory could not be finished")

    with pytest.raises(RuntimeError, match="could not be finished"):
        atomic_write(target, pieces())
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["hosts.ini"]  # no temporary file left
    atomic_write(target, iter(["a\n", "é\n" * 700_000]))
    assert target.read_text(encoding="utf-8") == "a\n" + "é\n" * 700_000
