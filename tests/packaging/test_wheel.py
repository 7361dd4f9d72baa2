"""The wheel installed into fresh venvs works, package data included, and a missing extra says so."""

from __future__ import annotations

import json
import re
import subprocess
import tarfile
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

import pytest

from stackrig import __version__
from stackrig._extras import NEEDS
from tests.services import free_port, running

from .conftest import ROOT, Built, Installed

EXAMPLES = ROOT / "examples"
FAMILIES = ("fleet", "bench", "tune", "qos", "migrate", "landscape")


def envelope(done: Any) -> dict[str, Any]:
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["stackrig"] == "1"
    assert doc["ok"] is True
    return doc


def test_wheel_holds_the_package_data_and_no_tests(built: Built) -> None:
    names = set(zipfile.ZipFile(built.wheel).namelist())
    for data in (
        "stackrig/bench/web/static/uPlot.iife.min.js",
        "stackrig/bench/web/static/app.js",
        "stackrig/landscape/data/landscape.yml",
        "stackrig/landscape/data/cncf-mapping.yml",
        "stackrig/migrate/data/compose-spec.schema.json",
        "stackrig/migrate/data/compose-spec.LICENSE",
    ):
        assert data in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert any(n.endswith(".dist-info/licenses/NOTICE") for n in names)
    assert not [n for n in names if n.startswith("tests/") or "/tests/" in n or "__pycache__" in n]
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(built.wheel).read(metadata).decode()
    assert f"Version: {__version__}\n" in text
    assert "License-Expression: MIT" in text
    for extra in ("fleet", "bench", "qos", "migrate", "all"):
        assert f"Provides-Extra: {extra}\n" in text


def test_sdist_builds_the_wheel_and_carries_licence_files(built: Built) -> None:
    with tarfile.open(built.sdist) as sdist:
        names = {n.split("/", 1)[1] for n in sdist.getnames() if "/" in n}
    assert {"LICENSE", "NOTICE", "CHANGELOG.md", "README.md", "pyproject.toml"} <= names
    assert not [n for n in names if n.startswith((".venv", ".wheelhouse", "dist/"))]


def test_installed_outside_the_checkout(built: Built) -> None:
    done = built.full.run("--version")
    assert done.returncode == 0
    assert done.stdout == f"stackrig {__version__}\n"
    where = subprocess.run(
        [str(built.full.python), "-c", "import stackrig; print(stackrig.__file__)"],
        cwd=built.full.workdir,
        env=built.full.env(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.startswith(str(built.full.venv)), where.stdout


def test_doctor_json(built: Built) -> None:
    doc = json.loads(built.full.run("doctor", "--json").stdout)
    assert doc["command"] == "doctor"
    assert doc["data"]["tools"]


def test_one_command_per_family(built: Built) -> None:
    full = built.full
    aws = (EXAMPLES / "cloud" / "aws-describe-instances.json").read_text()
    assert envelope(full.run("fleet", "inventory", "--format", "yaml", "--json", stdin=aws))["data"]
    assert envelope(full.run("tune", "checks", "--json"))["data"]
    assert envelope(full.run("qos", "policy", "list", "--json"))["command"] == "qos policy list"
    # the compose schema is package data
    upgraded = full.run(
        "migrate", "compose", "--upgrade", str(EXAMPLES / "migrate" / "docker-compose.v1.yml"), "--json"
    )
    assert "services" in envelope(upgraded)["data"]["content"]
    # the bundled catalog is package data
    layers = envelope(full.run("landscape", "layers", "--json"))["data"]
    assert len(layers["layers"] if isinstance(layers, dict) else layers) == 10


def test_dashboard_serves_its_static_files(built: Built) -> None:
    runs = built.full.workdir / "runs"
    runs.mkdir(exist_ok=True)
    port = free_port()
    argv = [str(built.full.stackrig), "bench", "serve", "--runs-dir", str(runs), "--port", str(port)]
    with running("dashboard", argv, workdir=built.full.workdir / "serve", port=port, env=built.full.env()):
        base = f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(f"{base}/", timeout=10) as page:  # noqa: S310 - loopback
            html = page.read().decode()
        for src in re.findall(r"(?:src|href)='(/static/[^']+)'", html):
            with urllib.request.urlopen(base + src, timeout=10) as static:  # noqa: S310 - loopback
                assert static.status == 200
                assert static.read(), src


def test_core_install_lists_every_family(built: Built) -> None:
    done = built.core.run("--help")
    assert done.returncode == 0, done.stderr
    for family in FAMILIES:
        assert re.search(rf"^\s+{family}\s", done.stdout, re.MULTILINE), family
    for family in FAMILIES:
        assert built.core.run(family, "--help").returncode == 0
    assert built.core.run("bench", "plot", "--help").returncode == 0


def test_core_install_runs_what_needs_no_extra(built: Built) -> None:
    core = built.core
    aws = (EXAMPLES / "cloud" / "aws-describe-instances.json").read_text()
    assert envelope(core.run("fleet", "inventory", "--json", stdin=aws))
    assert envelope(core.run("landscape", "list", "--json"))
    assert envelope(core.run("tune", "checks", "--json"))


def missing_line(core: Installed, *args: str) -> tuple[int, str]:
    done = core.run(*args)
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    return done.returncode, lines[0]


@pytest.mark.parametrize("need", [n for n in NEEDS if n.modules], ids=lambda n: n.command)
def test_core_install_refuses_a_command_whose_extra_is_missing(built: Built, need: Any) -> None:
    code, line = missing_line(built.core, *need.command.split())
    assert code == 3
    assert line.startswith(f"error: {need.command} needs the {need.extra} extra (")
    assert line.endswith(f": pip install 'stackrig[{need.extra}]'")


def test_missing_extra_found_late_is_also_exit_3(built: Built) -> None:
    """Extras an argument chooses (a postgres:// target, the aws provider) fail when imported."""
    code, line = missing_line(built.core, "migrate", "wait", "postgres://u@127.0.0.1:1/db", "--timeout", "1")
    assert code == 3
    assert line == (
        "error: migrate wait needs the migrate extra (psycopg is not installed): "
        "pip install 'stackrig[migrate]'"
    )
    code, line = missing_line(built.core, "fleet", "discover", "--region", "us-east-1")
    assert code == 3
    assert line == (
        "error: fleet discover needs the fleet extra (botocore is not installed): "
        "pip install 'stackrig[fleet]'"
    )


def test_missing_extra_in_json(built: Built, tmp_path: Path) -> None:
    done = built.core.run("bench", "report", "latest", "--json")
    assert done.returncode == 3
    doc = json.loads(done.stdout)
    assert doc["ok"] is False
    assert doc["error"]["type"] == "MissingExtraError"
    assert doc["error"]["exit_code"] == 3
    assert "pip install 'stackrig[bench]'" in doc["error"]["message"]
    # nothing was written: the check runs before the command starts
    assert not (built.core.workdir / "home" / "runs").exists()
