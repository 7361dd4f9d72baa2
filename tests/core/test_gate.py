"""The test gate itself: under make test a skip is a failure, and each run counts tests per family."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from tests._gate import COUNTS_ENV, NO_SKIPS_ENV, family
from tests.conftest import ROOT

SUITE = {
    "tests/__init__.py": "",
    "tests/alpha/__init__.py": "",
    "tests/alpha/test_a.py": """
        import pytest

        def test_runs():
            assert True

        @pytest.mark.skipif(True, reason="fio is not installed")
        def test_marked():
            assert True

        @pytest.fixture
        def lab():
            pytest.skip("no OVS here")

        def test_fixture_skips(lab):
            assert True

        @pytest.mark.xfail(reason="known", strict=True)
        def test_expected_failure():
            assert False
    """,
    "tests/beta/__init__.py": "",
    "tests/beta/deep/__init__.py": "",
    "tests/beta/deep/test_b.py": """
        def test_one():
            assert True

        def test_two():
            assert True
    """,
}
MODULE_SKIP = {
    "tests/__init__.py": "",
    "tests/gamma/__init__.py": "",
    "tests/gamma/test_c.py": """
        import pytest

        pytest.importorskip("no_such_module_stackrig")

        def test_never_collected():
            assert True
    """,
}


def _suite(tmp_path: Path, files: dict[str, str] = SUITE) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    # The plugin under its own name: this suite's ``tests`` package hides stackrig's.
    shutil.copy(ROOT / "tests" / "_gate.py", tmp_path / "stackrig_gate.py")
    return tmp_path


def _pytest(folder: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k not in (NO_SKIPS_ENV, COUNTS_ENV)}
    full.update(env)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "stackrig_gate",
            "-p",
            "no:cacheprovider",
            "-q",
            "-rA",
            "tests",
        ],
        cwd=folder,
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_ad_hoc_runs_may_skip(tmp_path: Path) -> None:
    done = _pytest(_suite(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed, 2 skipped, 1 xfailed" in done.stdout
    assert "tests run per family (this run):" in done.stdout
    assert "  alpha      2 ran (2 skipped)" in done.stdout
    assert "  beta       2 ran" in done.stdout


def test_under_make_test_every_skip_fails_and_says_why(tmp_path: Path) -> None:
    counts = tmp_path / "counts.json"
    done = _pytest(_suite(tmp_path), **{NO_SKIPS_ENV: "1", COUNTS_ENV: str(counts)})
    assert done.returncode == 1, done.stdout + done.stderr
    out = done.stdout
    assert "test_marked skipped, and make test allows no skips: fio is not installed" in out
    assert "test_fixture_skips skipped, and make test allows no skips: no OVS here" in out
    assert "ERROR tests/alpha/test_a.py::test_marked" in out  # failed in its setup
    assert "XFAIL tests/alpha/test_a.py::test_expected_failure" in out  # an xfail is not a skip
    assert out.splitlines()[-1].startswith("3 passed, 1 xfailed, 2 errors in ")  # nothing skipped
    runs = json.loads(counts.read_text(encoding="utf-8"))
    assert runs == [
        {
            "alpha": {"ran": 4, "failed": 2, "skipped": 0},
            "beta": {"ran": 2, "failed": 0, "skipped": 0},
        }
    ]
    total = subprocess.run(
        [sys.executable, "-m", "tests._gate", str(counts)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert total.stdout.splitlines() == [
        "tests run per family (every run of make test):",
        "  alpha      4 ran (2 failed)",
        "  beta       2 ran",
        "  total      6 ran",
    ]


def test_a_module_that_skips_whole_fails_collection(tmp_path: Path) -> None:
    assert _pytest(_suite(tmp_path, MODULE_SKIP)).returncode == 5  # nothing ran, nothing failed
    done = _pytest(tmp_path, **{NO_SKIPS_ENV: "1"})
    assert done.returncode == 2  # pytest's "interrupted": collection failed
    message = "tests/gamma/test_c.py skipped, and make test allows no skips: could not import"
    assert message in done.stdout


def test_family_is_the_top_level_folder() -> None:
    assert family("tests/bench/test_run.py::test_x") == "bench"
    assert family("tests/bench/viz/test_web.py::test_x[a/b]") == "bench"
    assert family("tests/fleet/cloud/test_discover.py") == "fleet"
    assert family("tests/test_top.py::t") == "tests"
