"""A synthetic bench history: N runs (and groups of them) written straight into SQLite, no fio.

Used by benchmarks/history_scale.py (speed at a team's years of runs) and by the dashboard's
Chromium test of paging. Each run has a meta.json-equivalent row, labels and two result rows;
run folders are created empty only when asked (the run list needs none).
"""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

from stackrig.bench.groups import new_group
from stackrig.bench.history import ROW_FIELDS, History
from stackrig.bench.model import GroupMember, RunRecord, RunStatus

__all__ = ["make_history"]


def make_history(
    db: Path, runs_dir: Path, runs: int, *, groups: int = 2, group_size: int = 20, seed: int = 7
) -> list[str]:
    """Write ``runs`` synthetic runs (the last ``groups x group_size`` of them in groups) into ``db``;
    return the group refs. IOPS are noisy around 10,000 (5%); the second group is 20% slower."""
    rng = random.Random(seed)
    start = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)
    refs: list[str] = []
    with History.open(db) as history:
        members: dict[int, str] = {}
        for g in range(groups):
            group = new_group(
                history, f"nightly-{g}", "repeat", {"jobs": ["nightly.fio"], "repeat": group_size}
            )
            refs.append(group.ref)
            for k in range(group_size):
                members[runs - groups * group_size + g * group_size + k] = group.id
        run_rows, label_rows, result_rows = [], [], []
        for i in range(runs):
            run_id = f"{i:012x}"
            group_id = members.get(i)
            slow = 0.8 if group_id is not None and refs and group_id == refs[-1].removeprefix("g:") else 1.0
            record = RunRecord(
                id=run_id,
                name=rng.choice(("randread", "randwrite", "seqread", "mixed")),
                folder=runs_dir / f"run-{i:05d}",
                status=RunStatus.OK if i % 50 else RunStatus.FAILED,
                started=start + dt.timedelta(minutes=30 * i),
                ended=start + dt.timedelta(minutes=30 * i + 1),
                exit_code=0,
                command=("fio", "--output-format=json+", "job.fio"),
                jobs=(),
                labels={"team": f"t{i % 7}", "volume": rng.choice(("gp3", "io2", "local"))},
                machine={"hostname": f"host-{i % 40}"},
                fio_version="3.33",
                group=GroupMember(group_id, i) if group_id else None,
            )
            run_rows.append((record.id, record.name, str(record.folder), record.status.value,
                             record.started.isoformat(), record.ended.isoformat() if record.ended else None,
                             0, record.machine["hostname"], "", "3.33", json.dumps(record.to_meta()),
                             group_id, i if group_id else None))  # fmt: skip
            label_rows += [(record.id, k, v) for k, v in record.labels.items()]
            for seq, (job, direction) in enumerate((("j", "read"), ("j", "write"))):
                iops = 10_000 * slow * rng.gauss(1.0, 0.05)
                lat = 1e9 / iops * 4
                values = {
                    "host": "", "job": job, "direction": direction, "iops": iops, "bw_bytes": iops * 4096,
                    "io_bytes": int(iops * 4096 * 60), "runtime_ms": 60_000, "lat_mean_ns": lat,
                    "lat_p50_ns": lat * 0.9, "lat_p99_ns": lat * 3, "lat_p999_ns": lat * 6,
                    "usr_cpu": 5.0, "sys_cpu": 10.0,
                }  # fmt: skip
                result_rows.append((record.id, seq, *(values[f] for f in ROW_FIELDS)))
        with history.transaction() as conn:
            conn.executemany(
                "INSERT INTO bench_runs(id, name, folder, status, started, ended, exit_code, machine, hosts,"
                " fio_version, meta, group_id, group_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                run_rows,
            )
            conn.executemany("INSERT INTO bench_labels(run_id, key, value) VALUES (?, ?, ?)", label_rows)
            conn.executemany(
                f"INSERT INTO bench_results(run_id, seq, {', '.join(ROW_FIELDS)})"  # noqa: S608 - fixed names
                f" VALUES (?, ?, {', '.join('?' for _ in ROW_FIELDS)})",
                result_rows,
            )
    runs_dir.mkdir(parents=True, exist_ok=True)
    return refs
