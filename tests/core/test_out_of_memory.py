"""Out of memory anywhere: the exit-70 message and a log, never a raw traceback.

Real runs under an address-space limit (util-linux ``prlimit --as``, as ``ulimit -v`` sets it)
at several sizes, so the MemoryError meets stackrig wherever it happens to run out: while
reading the input, building the inventory, writing it, or in the crash handler itself.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from stackrig.cli import _memory
from tests.conftest import STACKRIG

PRLIMIT = shutil.which("prlimit")
MIB = 1 << 20


def _describe_instances(path: Path, count: int) -> None:
    """An ``aws ec2 describe-instances`` document of ``count`` instances with a few tags each."""
    reservations = [
        {
            "ReservationId": f"r-{n:017x}",
            "Instances": [
                {
                    "InstanceId": f"i-{n:017x}",
                    "PrivateIpAddress": f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}",
                    "State": {"Name": "running"},
                    "Placement": {"AvailabilityZone": "us-east-1a"},
                    "Tags": [{"Key": "Name", "Value": f"web-{n}"}, {"Key": "role", "Value": "x" * 200}],
                }
            ],
        }
        for n in range(count)
    ]
    path.write_text(json.dumps({"Reservations": reservations}))


def _limited(limit: int, argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    assert PRLIMIT is not None, "prlimit (util-linux) is missing"
    env = dict(os.environ)
    env.pop("COVERAGE_PROCESS_START", None)  # coverage's own start-up would meet the limit first
    return subprocess.run(
        [PRLIMIT, f"--as={limit}", str(STACKRIG), *argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
        check=False,
    )


def test_memory_limited_runs_end_with_exit_70_and_a_log(tmp_path: Path) -> None:
    source = tmp_path / "describe.json"
    _describe_instances(source, 20_000)
    out = tmp_path / "hosts.ini"
    out.write_text("[old]\nkeep-me\n")
    home = tmp_path / "home"
    codes = []
    for limit_mib in range(40, 160, 10):  # below ~35 MiB the interpreter itself cannot start
        argv = ["--data-dir", str(home), "fleet", "inventory", str(source), "-o", str(out)]
        done = _limited(limit_mib * MIB, argv, tmp_path)
        codes.append(done.returncode)
        assert "Traceback" not in done.stderr, (limit_mib, done.stderr[-2000:])
        if done.returncode == 0:
            continue
        assert done.returncode == 70, (limit_mib, done.stderr[-2000:])
        assert "error: out of memory; the traceback is in " in done.stderr
        assert "hint: give stackrig more memory" in done.stderr
        log = Path(done.stderr.split("the traceback is in ", 1)[1].splitlines()[0])
        assert log.is_file(), done.stderr
        assert "MemoryError" in log.read_text()
        assert oct(log.stat().st_mode & 0o777) == "0o600"
        assert out.read_text() == "[old]\nkeep-me\n"  # the earlier inventory is untouched
    assert 70 in codes, codes  # the limits above did reach the out-of-memory path
    assert codes[-1] == 0, codes  # and with enough memory the same command works


def test_json_mode_gets_the_error_envelope(tmp_path: Path) -> None:
    source = tmp_path / "describe.json"
    _describe_instances(source, 20_000)
    argv = ["--data-dir", str(tmp_path / "home"), "fleet", "inventory", str(source), "--json"]
    for limit_mib in (60, 50, 40):
        done = _limited(limit_mib * MIB, argv, tmp_path)
        if done.returncode == 70:
            break
    assert done.returncode == 70, done.stderr[-2000:]
    doc = json.loads(done.stdout)
    assert doc["ok"] is False
    assert doc["error"]["exit_code"] == 70
    assert doc["error"]["message"].startswith("out of memory")


def test_the_handler_frees_what_the_frames_held(tmp_path: Path) -> None:
    """In process: the reserve is given back and the failing frame's locals are cleared before
    the log is written (so the log needs none of the memory the command used)."""
    import weakref

    class Big:
        pass

    seen: list[weakref.ref[Big]] = []

    def fill() -> None:
        hoard = Big()
        seen.append(weakref.ref(hoard))
        raise MemoryError

    _memory.keep_reserve()
    assert _memory._reserve is not None
    try:
        fill()
    except MemoryError as exc:
        assert seen[0]() is not None
        where = _memory.out_of_memory_log(exc, tmp_path / "logs", "test")
        assert seen[0]() is None  # the hoard went with the cleared frame
    assert _memory._reserve is None
    text = Path(where).read_text()
    assert "in fill" in text
    assert "MemoryError" in text
    assert sys.argv[0] in text
    _memory.keep_reserve()


@pytest.mark.parametrize("logs_ok", [True, False])
def test_the_log_falls_back_to_the_temp_folder(tmp_path: Path, logs_ok: bool) -> None:
    logs = tmp_path / "logs"
    if not logs_ok:
        logs.write_text("a file where the folder should be")

    def fail() -> None:
        raise MemoryError

    try:
        fail()
    except MemoryError as exc:
        where = _memory.out_of_memory_log(exc, logs, "test")
    assert Path(where).is_file()
    assert Path(where).parent == (logs if logs_ok else Path(os.environ.get("TMPDIR", "/tmp")))
    Path(where).unlink()
    _memory.keep_reserve()


def test_a_finalizer_out_of_memory_is_counted_not_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A generator closed while a MemoryError unwinds can itself run out of memory; Python then
    prints "Exception ignored in ... Traceback" unless the hook takes it (seen under prlimit)."""
    import gc
    from collections.abc import Iterator

    others: list[type[BaseException]] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: others.append(u.exc_type))
    monkeypatch.setattr(_memory, "_finalizer_failures", 0)
    monkeypatch.setattr(_memory, "_previous_hook", _memory._previous_hook)
    _memory.quiet_finalizer_memory_errors()
    _memory.quiet_finalizer_memory_errors()  # twice is once: the earlier hook is kept, not itself

    def closing_fails(exc: type[BaseException]) -> Iterator[int]:
        try:
            yield 1
        finally:
            raise exc

    for exc in (MemoryError, ValueError):
        suspended = closing_fails(exc)
        next(suspended)
        del suspended  # closed here: its finally raises where nobody can catch it
        gc.collect()
    assert _memory._finalizer_failures == 1
    assert others == [ValueError]  # anything else still reaches the hook that was there before
    assert capsys.readouterr().err == ""

    def fail() -> None:
        raise MemoryError

    try:
        fail()
    except MemoryError as exc:
        where = _memory.out_of_memory_log(exc, tmp_path / "logs", "test")
    assert "(1 finalizer(s) also ran out of memory while it unwound)" in Path(where).read_text()
    _memory.keep_reserve()
