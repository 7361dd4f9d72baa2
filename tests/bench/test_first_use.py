"""Commands starting together on a new data folder: the history is created once, nobody fails."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.bench.conftest import SharedRun, needs_fio
from tests.conftest import STACKRIG

pytestmark = needs_fio

ROUNDS = 20


@pytest.mark.parametrize(("imports", "lists"), [(8, 0), (4, 4)], ids=["8 imports", "4 imports + 4 lists"])
def test_commands_racing_on_a_new_data_folder_all_succeed(
    shared_runs: dict[str, SharedRun], tmp_path: Path, imports: int, lists: int
) -> None:
    # One copy per import, each a byte different: bench import knows a file it imported before.
    sources = []
    for n in range(imports):
        copy = tmp_path / f"source-{n}"
        shutil.copytree(shared_runs["plain"].folder, copy)
        for path in copy.iterdir():
            if path.is_file():
                path.write_bytes(path.read_bytes() + b"\n" * (n + 1))
        sources.append(str(copy))
    failures: list[str] = []
    for round_ in range(ROUNDS):
        home = str(tmp_path / f"home-{round_}")  # new each round: nothing exists yet
        argvs = [["bench", "import", sources[n], "--name", f"i{n}", "--json"] for n in range(imports)]
        argvs += [["bench", "list", "--json"]] * lists
        procs = [
            subprocess.Popen(
                [str(STACKRIG), "--data-dir", home, *argv],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for argv in argvs
        ]
        for argv, proc in zip(argvs, procs, strict=True):
            out, err = proc.communicate(timeout=240)
            if proc.returncode != 0:
                failures.append(f"round {round_}: {' '.join(argv[:2])} exit {proc.returncode}: {err.strip()}")
            else:
                assert json.loads(out)["ok"] is True
        assert failures == []
        listed = subprocess.run(
            [str(STACKRIG), "--data-dir", home, "bench", "list", "--json"],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        names = sorted(run["name"] for run in json.loads(listed.stdout)["data"]["runs"])
        assert names == sorted(f"i{n}" for n in range(imports)), round_
