"""Reading and plotting a 1,000,000-line fio bandwidth log: stackrig beside wc -l, numpy.loadtxt
and fio2gnuplot (fio's own plotter, shipped with Debian's fio), measured in one run.

Goals (issue 6): read at 5M lines/s or better, at most 50 MB per million samples, plot in under
1 s, and at least 10x faster than fio2gnuplot end to end (whole process, Python start included).
Both whole-process commands run three times each, one after the other, and their medians
are compared.
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

LINES = 1_000_000
STACKRIG = Path(sys.executable).parent / "stackrig"


def make_log(path: Path, lines: int = LINES) -> None:
    """A per-I/O bw log as fio writes it: time (ms), KiB/s, direction, block size, priority."""
    rng = np.random.default_rng(42)
    t = np.sort(rng.integers(0, 600_000, lines))  # ten minutes
    v = rng.normal(180_000, 25_000, lines).clip(1000).astype(np.int64)
    d = rng.integers(0, 2, lines)
    table = np.column_stack([t, v, d, np.full(lines, 4096), np.zeros(lines, dtype=np.int64)])
    np.savetxt(path, table, fmt="%d", delimiter=", ")


def timed(fn: Callable[[], object], repeat: int = 1) -> tuple[float, float]:
    """Best wall time and best CPU time (this process) of ``repeat`` calls."""
    best, best_cpu = float("inf"), float("inf")
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        fn()
        best = min(best, time.perf_counter() - start)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return best, best_cpu


def run(
    argv: Sequence[str], cwd: Path | Callable[[int], Path], repeat: int = 3
) -> tuple[float, float, int, str]:
    """Median wall time and median CPU time (user + sys of the process and its children) of
    ``repeat`` runs of a whole process; the exit code and stderr tail of the last run.
    ``cwd`` may make a fresh folder per run (fio2gnuplot's pattern would match its own PNGs)."""
    walls: list[float] = []
    cpus: list[float] = []
    code, err = 0, ""
    for i in range(repeat):
        folder = cwd(i) if callable(cwd) else cwd
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(
            list(argv), cwd=folder, capture_output=True, text=True, check=False, timeout=900
        )
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
        code, err = done.returncode, done.stderr[-300:]
    return statistics.median(walls), statistics.median(cpus), code, err


def _secs(wall: float, cpu: float) -> str:
    return f"{wall:.3f} s wall, {cpu:.3f} s CPU"


def measure_read(log: Path, results: list[tuple[str, str, str]]) -> tuple[float, float]:
    """stackrig's reader: first call, best of 3 (wall and CPU), peak memory; lines per CPU-second."""
    from stackrig.bench.logs import read_log

    first, first_cpu = timed(lambda: read_log(log))
    best, best_cpu = timed(lambda: read_log(log), repeat=3)
    tracemalloc.start()
    parsed = read_log(log)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    if len(parsed) != LINES:
        raise SystemExit(f"read {len(parsed)} lines, expected {LINES}")
    per_cpu = LINES / best_cpu / 1e6
    results.append(
        (
            "stackrig read_log (first call)",
            _secs(first, first_cpu),
            f"{LINES / first / 1e6:.1f} M lines/s",
        )
    )
    results.append(("stackrig read_log (best of 3)", _secs(best, best_cpu), f"{per_cpu:.1f} M lines/CPU-s"))
    results.append(
        ("stackrig read_log memory", f"{peak / 1e6:.1f} MB peak", f"{parsed.nbytes / 1e6:.1f} MB kept")
    )
    return per_cpu, peak


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="stackrig-bench-") as tmp:
        folder = Path(tmp)
        log = folder / "bench_bw.1.log"
        make_log(log)
        size_mb = log.stat().st_size / 1e6
        print(f"log: {LINES:,} lines, {size_mb:.1f} MB ({log.name})")
        results: list[tuple[str, str, str]] = []
        load = os.getloadavg()[0]

        per_cpu, peak = measure_read(log, results)

        wall, cpu, code, _ = run(["wc", "-l", str(log)], folder, repeat=1)
        results.append(("wc -l (whole process)", _secs(wall, cpu), "count only" if code == 0 else "failed"))

        lt_wall, lt_cpu = timed(lambda: np.loadtxt(log, delimiter=",", dtype=np.int64))
        results.append(("numpy.loadtxt", _secs(lt_wall, lt_cpu), f"{LINES / lt_cpu / 1e6:.2f} M lines/CPU-s"))

        out = folder / "stackrig-out"
        argv = [str(STACKRIG), "bench", "plot", "-t", "Bench", "-b", "-g", "-p", "*_bw*", "-d", str(out)]
        ours, ours_cpu, code, err = run(argv, folder)
        ok = code == 0 and (out / "Bench_bw.png").is_file()
        results.append(
            (
                "stackrig bench plot -b (whole process, median of 3)",
                _secs(ours, ours_cpu),
                "1 PNG" if ok else err,
            )
        )

        fio2gnuplot = shutil.which("fio2gnuplot")
        theirs: tuple[float, float] | None = None
        if fio2gnuplot and shutil.which("gnuplot"):

            def fresh(i: int) -> Path:
                gdir = folder / f"gnuplot{i}"
                gdir.mkdir()
                os.link(log, gdir / log.name)
                return gdir

            wall, cpu, code, err = run([fio2gnuplot, "-t", "Bench", "-b", "-g", "-p", "*_bw*"], fresh)
            theirs = (wall, cpu)
            pngs = len(list((folder / "gnuplot0").glob("*.png")))
            results.append(
                (
                    "fio2gnuplot -b -g (whole process, median of 3)",
                    _secs(wall, cpu),
                    f"{pngs} PNGs" if code == 0 else err,
                )
            )
        else:
            results.append(("fio2gnuplot", "not run", "needs fio, gnuplot-nox, python3-six (make bench)"))

        print(f"load average at start: {load:.1f} on {os.cpu_count()} CPUs")
        width = max(len(r[0]) for r in results)
        for name, value, note in results:
            print(f"{name:<{width}}  {value:>14}  {note}")
        print(f"goal read >= 5 M lines/s per core: {'met' if per_cpu >= 5 else 'NOT met'} ({per_cpu:.1f})")
        mb = peak / 1e6
        print(f"goal <= 50 MB per million samples: {'met' if mb <= 50 else 'NOT met'} (peak {mb:.1f} MB)")
        print(f"goal plot < 1 s (whole process, wall): {'met' if ours < 1.0 else 'NOT met'} ({ours:.2f} s)")
        if theirs is not None:
            ratio, ratio_cpu = theirs[0] / ours, theirs[1] / ours_cpu
            verdict = "met" if ratio >= 10 else "NOT met"
            print(
                f"fio2gnuplot / stackrig plot: {ratio:.1f}x wall, {ratio_cpu:.1f}x CPU ({verdict}: goal 10x)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
