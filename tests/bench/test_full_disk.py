"""The bench history on a full disk: one line naming the folder, exit 1, earlier runs intact."""

from __future__ import annotations

import json
import shlex
import sys
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


def _stages_and_temporaries(listing: str) -> list[str]:
    return [name for name in listing.split() if ".stackrig-" in name]


def test_plot_on_a_full_disk_keeps_every_old_graph(tmp_path: Path, fio_logs: Path) -> None:
    """bench plot writes its graphs as one set: a full disk after the first graph leaves all the
    old graphs (none new), no temporaries, one line naming the folder, exit 1."""
    # the logs averaged over 100 ms windows: small, whatever the speed of the run (per-I/O logs are not)
    logs = " ".join(shlex.quote(str(p)) for p in sorted(fio_logs.glob("avg_*.log")))
    out = in_small_tmpfs(
        tmp_path,
        f"""
        mkdir "$MNT/logs"; cp {logs} "$MNT/logs/"
        "$STACKRIG" bench plot "$MNT/logs" -o fio -t first -b -i --lat > "$OUT/first.out" 2> "$OUT/first.err"
        echo $? > "$OUT/first.rc"
        mkdir "$OUT/before"; cp "$MNT"/logs/*.png "$OUT/before/"
        first=$(( ($(stat -c %s "$MNT/logs/fio_bw.png") + 4095) / 4096 ))
        dd if=/dev/zero of="$MNT/filler" bs=4k count=$(( $(stat -f -c %a "$MNT") - first - 2 )) status=none
        "$STACKRIG" bench plot "$MNT/logs" -o fio -t second -b -i --lat \
            > "$OUT/second.out" 2> "$OUT/second.err"
        echo $? > "$OUT/second.rc"
        mkdir "$OUT/after"; cp "$MNT"/logs/*.png "$OUT/after/"
        ls -A "$MNT/logs" > "$OUT/ls"
        rm "$MNT/filler"
        "$STACKRIG" bench plot "$MNT/logs" -o fio -t second -b -i --lat > /dev/null 2> "$OUT/third.err"
        echo $? > "$OUT/third.rc"
        mkdir "$OUT/third"; cp "$MNT"/logs/*.png "$OUT/third/"
        """,
    )
    assert (out / "first.rc").read_text().strip() == "0", (out / "first.err").read_text()
    before = {p.name: p.read_bytes() for p in (out / "before").iterdir()}
    assert len(before) >= 3  # bw, iops and a latency graph at least: a set, not one file
    assert (out / "second.rc").read_text().strip() == str(ExitCode.FAILED)
    err = (out / "second.err").read_text()
    assert err.startswith(f"error: no space left on device in {tmp_path / 'small' / 'logs'}"), err
    assert "Traceback" not in err
    assert (out / "second.out").read_text() == ""
    assert {p.name: p.read_bytes() for p in (out / "after").iterdir()} == before  # all old, none new
    assert _stages_and_temporaries((out / "ls").read_text()) == []
    assert (out / "third.rc").read_text().strip() == "0", (out / "third.err").read_text()
    third = {p.name: p.read_bytes() for p in (out / "third").iterdir()}
    assert third.keys() == before.keys()
    assert all(third[name] != before[name] for name in before)  # with room again: all new


_SWEEP_PLOTS = """
import sys
from pathlib import Path
from stackrig.bench.sweepplot import SweepPoint, plot_sweep
from stackrig.errors import StackrigError
folder, scale, rws = Path(sys.argv[1]), float(sys.argv[2]), sys.argv[3].split(",")
points = [SweepPoint(rw, "4k", nj, qd, 1, 1000.0 * qd * nj * scale, 4096e3 * qd, 2e5 * qd, 5e5 * qd)
          for rw in rws for nj in (1, 2) for qd in (1, 4, 16)]
try:
    print("\\n".join(str(p) for p in plot_sweep(points, folder, title="sweep")))
except StackrigError as exc:
    print(f"{exc.exit_code}: {exc.message}", file=sys.stderr)
    sys.exit(int(exc.exit_code))
"""


def test_sweep_plots_on_a_full_disk_keep_every_old_plot(tmp_path: Path) -> None:
    """The sweep's plots (IOPS and latency against iodepth, the heatmap) are one set too: a
    sweep that grew (a second rw) on a full disk leaves the three old plots, not three new ones."""
    script = tmp_path / "sweep_plots.py"
    script.write_text(_SWEEP_PLOTS)
    run = f"{shlex.quote(sys.executable)} {shlex.quote(str(script))}"
    out = in_small_tmpfs(
        tmp_path,
        f"""
        {run} "$MNT/plots" 1 randread > "$OUT/first.out" 2> "$OUT/first.err"; echo $? > "$OUT/first.rc"
        mkdir "$OUT/before"; cp "$MNT"/plots/* "$OUT/before/"
        first=$(( ($(stat -c %s "$(head -n 1 "$OUT/first.out")") + 4095) / 4096 ))
        dd if=/dev/zero of="$MNT/filler" bs=4k count=$(( $(stat -f -c %a "$MNT") - first - 2 )) status=none
        {run} "$MNT/plots" 2 randread,randwrite > /dev/null 2> "$OUT/second.err"; echo $? > "$OUT/second.rc"
        mkdir "$OUT/after"; cp "$MNT"/plots/* "$OUT/after/"
        ls -A "$MNT/plots" > "$OUT/ls"
        """,
    )
    assert (out / "first.rc").read_text().strip() == "0", (out / "first.err").read_text()
    before = {p.name: p.read_bytes() for p in (out / "before").iterdir()}
    assert len(before) == 3
    assert (out / "second.rc").read_text().strip() == str(ExitCode.FAILED), (out / "second.err").read_text()
    assert f"1: no space left on device in {tmp_path / 'small' / 'plots'}" in (out / "second.err").read_text()
    assert {p.name: p.read_bytes() for p in (out / "after").iterdir()} == before
    assert _stages_and_temporaries((out / "ls").read_text()) == []


_SHORT_JOB = (
    "[short]\nioengine=psync\nfilename=short.dat\nunlink=1\nsize=1m\nrw=randrw\nruntime=1\ntime_based=1\n"
)


def test_aio_graphs_and_report_on_a_full_disk_are_both_there_or_neither(tmp_path: Path) -> None:
    """bench aio's graphs and the report that embeds them are one set: on a disk with room for
    the run but not for them, the run folder holds neither (no graph without its report)."""
    job = tmp_path / "short.fio"
    job.write_text(_SHORT_JOB)
    target = tmp_path / "target"
    target.mkdir()
    out = in_small_tmpfs(
        tmp_path,
        f"""
        mkdir "$MNT/runs"
        dd if=/dev/zero of="$MNT/filler" bs=4k count=$(( $(stat -f -c %a "$MNT") - 48 )) status=none
        "$STACKRIG" --data-dir "$OUT/home" bench aio {shlex.quote(str(job))} --no-serve --name short \
            --runs-dir "$MNT/runs" --target {shlex.quote(str(target))} > "$OUT/aio.out" 2> "$OUT/aio.err"
        echo $? > "$OUT/aio.rc"
        for run in "$MNT"/runs/*/; do ls -A "$run" > "$OUT/ls"; echo "$run" > "$OUT/folder"; done
        """,
    )
    err = (out / "aio.err").read_text()
    assert (out / "aio.rc").read_text().strip() == str(ExitCode.FAILED), err
    folder = Path((out / "folder").read_text().strip())
    assert f"no space left on device in {folder}" in err, err
    listing = (out / "ls").read_text().split()
    assert "fio.json" in listing  # the run itself is whole
    assert [name for name in listing if name.endswith(".png") or name == "report.html"] == []
    assert _stages_and_temporaries(" ".join(listing)) == []
