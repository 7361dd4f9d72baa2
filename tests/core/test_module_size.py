"""No module in src/ grows past 550 lines (docs/design.md): split one along its seams at ~500."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import ROOT

SRC = ROOT / "src"
LIMIT = 550


def _lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def test_no_module_is_over_550_lines() -> None:
    modules = sorted(SRC.rglob("*.py"))
    assert len(modules) > 100  # the walk found the package, not an empty folder
    too_long = {str(p.relative_to(ROOT)): n for p in modules if (n := _lines(p)) > LIMIT}
    assert too_long == {}, f"split these modules along their seams (at most {LIMIT} lines): {too_long}"
