"""The bench history on a full disk: one line naming the folder, exit 1, earlier runs intact."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from stackrig.errors import ExitCode
from tests.bench.conftest import SharedRun, needs_fio
from tests.services import FILL_TMPFS, in_small_tmpfs

pytestmark = needs_fio


def test_history_on_a_full_disk(tmp_path: Path, shared_runs: dict[str, SharedRun]) -> None:
    shared_run_folder = shared_runs["plain"].folder
    out = in_small_tmpfs(
        tmp_path,
        f"""
        S={shlex.quote(str(shared_run_folder))}
        "$STACKRIG" --data-dir "$MNT/home" bench import "$S" --name first --json > "$OUT/first.json"
        {FILL_TMPFS}
        "$STACKRIG" --data-dir "$MNT/home" bench import "$S" --name second \
            > "$OUT/second.out" 2> "$OUT/second.err"
        echo $? > "$OUT/second.rc"
        "$STACKRIG" --data-dir "$MNT/home" bench import "$S" --name third --json > "$OUT/third.json"
        echo $? > "$OUT/third.rc"
        rm "$MNT/filler"
        "$STACKRIG" --data-dir "$MNT/home" bench list --json > "$OUT/list.json"
        """,
    )
    assert json.loads((out / "first.json").read_text())["ok"] is True
    assert (out / "second.rc").read_text().strip() == str(ExitCode.FAILED)
    err = (out / "second.err").read_text()
    lines = err.strip().splitlines()
    assert lines[0].startswith(f"error: no space left on device in {tmp_path / 'small' / 'home'}"), err
    assert lines[1:] == ["  hint: free some space on that file system and run the command again"]
    assert "move" not in err
    assert "not a stackrig database" not in err
    assert (out / "second.out").read_text() == ""
    third = json.loads((out / "third.json").read_text())
    assert (out / "third.rc").read_text().strip() == str(ExitCode.FAILED)
    assert third["error"]["type"] == "DiskFullError"
    assert third["error"]["exit_code"] == 1
    listed = json.loads((out / "list.json").read_text())["data"]["runs"]
    assert [run["name"] for run in listed] == ["first"]  # the history before the full disk is intact
