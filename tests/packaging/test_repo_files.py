"""The files a package needs beside its code: LICENSE, NOTICE, CHANGELOG, one version."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import stackrig

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "stackrig"


def test_license_is_the_mit_licence_pyproject_declares() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"]
    text = (ROOT / "LICENSE").read_text()
    assert declared == "MIT"
    assert text.startswith("MIT License\n")
    assert "Permission is hereby granted, free of charge" in text


def test_notice_names_every_vendored_file_and_licence_and_they_exist() -> None:
    notice = (ROOT / "NOTICE").read_text()
    named = set(re.findall(r"src/stackrig/[\w/.-]+", notice))
    assert named, "NOTICE names no file"
    for path in named:
        assert (ROOT / path).is_file(), f"NOTICE names {path}, which does not exist"
    # every licence file shipped in the package is accounted for in NOTICE
    shipped = {str(p.relative_to(ROOT)) for p in SRC.rglob("*") if re.search(r"LICEN[CS]E|NOTICE", p.name)}
    assert shipped <= named, f"licence files missing from NOTICE: {shipped - named}"
    for vendored in ("uPlot.iife.min.js", "compose-spec.schema.json", "dclint.LICENSE", "DejaVu"):
        assert vendored in notice


def test_version_is_defined_once_and_the_changelog_has_it() -> None:
    assert 'dynamic = ["version"]' in (ROOT / "pyproject.toml").read_text()
    hits = [
        str(p.relative_to(ROOT))
        for p in SRC.rglob("*.py")
        if re.search(r"^__version__\s*=", p.read_text(), re.MULTILINE)
    ]
    assert hits == ["src/stackrig/__init__.py"]
    changelog = (ROOT / "CHANGELOG.md").read_text()
    headings = re.findall(r"^## (.+)$", changelog, re.MULTILINE)
    assert headings[0] == "Unreleased", "the newest section is ## Unreleased, where changes are added"
    released = [h.split()[0] for h in headings[1:]]
    assert stackrig.__version__ in released, f"CHANGELOG.md has no section for {stackrig.__version__}"
    for heading in headings[1:]:
        assert re.fullmatch(r"\d+\.\d+\.\d+ — \d{4}-\d{2}-\d{2}", heading), heading
