"""Two rules of the test gate (``make test``, through scripts/test.sh), as a pytest plugin.

- **No skips.** With ``STACKRIG_NO_SKIPS=1`` (scripts/test.sh sets it) a test that skips
  fails instead, naming its reason: on a CI machine where an install step silently failed,
  the tests that need fio, sshd, Chromium or OVS must not pass by not running. A developer's
  ad-hoc ``pytest`` run keeps ordinary skips. Expected failures (xfail) are not skips.
- **Counts per family.** Every run ends with how many tests ran in each family (the
  top-level folder under ``tests/``, so renamed sub-folders need no change here); with
  ``STACKRIG_TEST_COUNTS=FILE`` the counts are also added to FILE, and
  ``python -m tests._gate FILE`` prints the total of every run written there (the parallel
  and the serial run of scripts/test.sh).

tests/conftest.py imports the hooks; another test suite can load it with ``-p tests._gate``.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from collections.abc import Generator, Iterable
from pathlib import Path
from typing import Any

import pytest

__all__ = [
    "COUNTS_ENV",
    "NO_SKIPS_ENV",
    "pytest_make_collect_report",
    "pytest_runtest_makereport",
    "pytest_terminal_summary",
]

NO_SKIPS_ENV = "STACKRIG_NO_SKIPS"
COUNTS_ENV = "STACKRIG_TEST_COUNTS"
_RAN = ("passed", "failed", "error", "xfailed", "xpassed")
_FAILED = ("failed", "error")


def _no_skips() -> bool:
    return os.environ.get(NO_SKIPS_ENV) == "1"


def _reason(longrepr: Any) -> str:
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def _as_failure(report: pytest.CollectReport | pytest.TestReport) -> None:
    report.outcome = "failed"
    report.longrepr = (
        f"{report.nodeid} skipped, and make test allows no skips: {_reason(report.longrepr)}\n"
        "A missing tool or service is a failure under make test: install it (make venv-test, "
        "deps/apt/*.txt) or fix the install step."
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail") and _no_skips():
        _as_failure(report)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, Any, None]:
    outcome = yield
    report: pytest.CollectReport = outcome.get_result()
    if report.skipped and _no_skips():  # pytest.skip(allow_module_level=True), importorskip
        _as_failure(report)


def family(nodeid: str) -> str:
    """``tests/bench/viz/test_web.py::t`` → ``bench``: the top-level folder under tests/."""
    parts = nodeid.split("::", 1)[0].split("/")
    if len(parts) >= 3 and parts[0] == "tests":
        return parts[1]
    return parts[0] if len(parts) >= 2 else "(top level)"


def count(stats: dict[str, list[Any]]) -> dict[str, dict[str, int]]:
    """{family: {"ran": n, "failed": n, "skipped": n}}, each test counted once."""
    seen: dict[str, set[str]] = {"ran": set(), "failed": set(), "skipped": set()}
    for key, reports in stats.items():
        nodeids = {getattr(r, "nodeid", "") for r in reports if getattr(r, "nodeid", "")}
        if key in _RAN:
            seen["ran"] |= nodeids
        if key in _FAILED:
            seen["failed"] |= nodeids
        if key == "skipped":
            seen["skipped"] |= nodeids
    seen["skipped"] -= seen["ran"]
    result: dict[str, dict[str, int]] = {}
    for what, nodeids in seen.items():
        for name, n in Counter(family(nodeid) for nodeid in nodeids).items():
            result.setdefault(name, {"ran": 0, "failed": 0, "skipped": 0})[what] = n
    return result


def table(counts: dict[str, dict[str, int]], title: str) -> list[str]:
    lines = [title]
    width = max([len("total"), *(len(name) for name in counts)])
    for name in sorted(counts):
        row = counts[name]
        extra = [f"{row[k]} {k}" for k in ("failed", "skipped") if row.get(k)]
        lines.append(f"  {name:<{width}}  {row['ran']:>5} ran" + (f" ({', '.join(extra)})" if extra else ""))
    total = sum(row["ran"] for row in counts.values())
    lines.append(f"  {'total':<{width}}  {total:>5} ran")
    return lines


def merge(into: dict[str, dict[str, int]], more: dict[str, dict[str, int]]) -> None:
    for name, row in more.items():
        target = into.setdefault(name, {"ran": 0, "failed": 0, "skipped": 0})
        for key, n in row.items():
            target[key] = target.get(key, 0) + n


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):  # an xdist worker: the controller reports
        return
    counts = count(terminalreporter.stats)
    if not counts:
        return
    for line in table(counts, "tests run per family (this run):"):
        terminalreporter.write_line(line)
    target = os.environ.get(COUNTS_ENV)
    if target:
        path = Path(target)
        runs: list[Any] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
        runs.append(counts)
        path.write_text(json.dumps(runs), encoding="utf-8")


def total(runs: Iterable[dict[str, dict[str, int]]]) -> dict[str, dict[str, int]]:
    result: dict[str, dict[str, int]] = {}
    for counts in runs:
        merge(result, counts)
    return result


def main(argv: list[str]) -> int:
    """Print the total of the runs written to FILE by ``STACKRIG_TEST_COUNTS=FILE``."""
    path = Path(argv[0])
    runs = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
    print("\n".join(table(total(runs), "tests run per family (every run of make test):")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
