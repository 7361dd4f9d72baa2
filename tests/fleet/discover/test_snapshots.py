"""fleet discover --snapshot keeps discoveries; fleet history lists and prunes them; fleet diff reads them."""

from __future__ import annotations

import gzip
import json
import stat
from pathlib import Path
from typing import Any

from tests.fleet.moto import MotoAws


def _discover(cli: Any, aws: MotoAws, *extra: str) -> Any:
    return cli(
        "fleet", "discover", "--endpoint-url", aws.endpoint, "--region", "us-east-1", "--hostname", "id",
        "--snapshot", "--refresh", *extra,
    )  # fmt: skip


def test_snapshots_history_and_diff(aws: MotoAws, cli: Any, data_dir: Path, tmp_path: Path) -> None:
    first_ids = aws.launch(2, "us-east-1", {"Role": "web"})
    first = _discover(cli, aws, "--json")
    assert first.returncode == 0, first.stderr
    snap = first.json()["data"]["snapshot"]
    path = Path(snap["path"])
    assert path.parent == data_dir / "fleet" / "snapshots"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with gzip.open(path, "rt") as handle:
        doc = json.load(handle)
    assert doc["format"] == "stackrig-fleet-snapshot-1"
    assert doc["regions"] == ["us-east-1"]

    added = aws.launch(1, "us-east-1", {"Role": "db"})
    aws.client().stop_instances(InstanceIds=[first_ids[0]])
    second = _discover(cli, aws, "--state", "any")
    assert second.returncode == 0, second.stderr
    assert "kept as snapshot @2" in second.stderr

    listing = cli("fleet", "history", "--json").json()["data"]["snapshots"]
    assert [(s["id"], s["hosts"], s["partial"]) for s in listing] == [(1, 2, False), (2, 3, False)]
    text = cli("fleet", "history")
    assert text.stdout.startswith("@1 ")

    done = cli("fleet", "diff", "@1", "@latest", "--json", "--exit-code")
    assert done.returncode == 1
    data = done.json()["data"]
    assert [h["key"] for h in data["added"]] == added
    changed = {c["key"]: {x["field"]: (x["old"], x["new"]) for x in c["changes"]} for c in data["changed"]}
    assert changed[first_ids[0]]["state"] == ("running", "stopped")
    assert data["unknown"]["groups"] >= 1  # snapshots keep hosts, not groups
    # a snapshot against an inventory file: matched by instance id
    inventory = tmp_path / "hosts.json"
    written = cli("fleet", "discover", "--endpoint-url", aws.endpoint, "--region", "us-east-1",
                  "--state", "any", "--format", "json", "-o", str(inventory))  # fmt: skip
    assert written.returncode == 0, written.stderr
    against = cli("fleet", "diff", "@latest", str(inventory), "--ignore", "groups", "--exit-code", "--json")
    assert against.returncode == 0, against.stdout
    assert against.json()["data"]["keyed_by"] == "instance id"


def test_history_prunes_with_consent(aws: MotoAws, cli: Any) -> None:
    aws.launch(1, "us-east-1")
    for _ in range(3):
        assert _discover(cli, aws).returncode == 0
    files = sorted(Path(s["path"]) for s in cli("fleet", "history", "--json").json()["data"]["snapshots"])
    refused = cli("fleet", "history", "--keep", "1")
    assert refused.returncode == 4
    assert "refusing to delete 2 snapshot(s) without --yes" in refused.stderr
    assert all(f.exists() for f in files)
    pruned = cli("fleet", "history", "--keep", "1", "--yes", "--json")
    assert pruned.returncode == 0, pruned.stderr
    data = pruned.json()["data"]
    assert [s["id"] for s in data["deleted"]] == [1, 2]
    assert [s["id"] for s in data["snapshots"]] == [3]
    assert [f.exists() for f in files] == [False, False, True]
    gone = cli("fleet", "diff", "@1", "@latest")
    assert gone.returncode == 2
    assert "no snapshot @1" in gone.stderr
