"""Every qos command's output (human and --json), pinned byte for byte.

``golden/render.json`` was recorded from the implementation in which the library rendered
(``stackrig.qos.commands`` built the Reports); the CLI's views must give the same bytes for
the same results.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from stackrig import output
from stackrig.cli import qos_views as views
from stackrig.qos.commands import LabDown, PolicyListing, ServiceListing
from stackrig.qos.state import PolicyState
from tests.qos import render_cases as rc

GOLDEN = json.loads((Path(__file__).parent / "golden" / "render.json").read_text(encoding="utf-8"))


def _cases() -> dict[str, tuple[str, Callable[[], output.Report]]]:
    changes = rc.change_results()
    svc = rc.services()
    cases: dict[str, tuple[str, Callable[[], output.Report]]] = {
        "lab up none": ("qos lab up", lambda: views.lab_up(rc.lab_state())),
        "lab up faucet": ("qos lab up", lambda: views.lab_up(rc.lab_state("faucet"))),
        "lab down some": (
            "qos lab down",
            lambda: views.lab_down(LabDown("lab", ("bridge lab-s1", "netns lab-h1", "OVS daemons"))),
        ),
        "lab down none": ("qos lab down", lambda: views.lab_down(LabDown("lab", ()))),
        "lab status healthy": ("qos lab status", lambda: views.lab_status(rc.status(True, None))),
        "lab status sick": ("qos lab status", lambda: views.lab_status(rc.status(False, False))),
        "lab status faucet": ("qos lab status", lambda: views.lab_status(rc.status(True, True))),
        "policy add": ("qos policy add", lambda: views.added(changes["add"])),
        "policy add none": ("qos policy add", lambda: views.added(changes["add-none"])),
        "policy list full": (
            "qos policy list",
            lambda: views.policy_list(PolicyListing.of(rc.listing_state())),
        ),
        "policy list empty": (
            "qos policy list",
            lambda: views.policy_list(PolicyListing.of(PolicyState(rc.STATE))),
        ),
        "policy remove": ("qos policy remove", lambda: views.removed(changes["remove"])),
        "policy rollback": ("qos policy rollback", lambda: views.rollback(changes["rollback"])),
        "service add": ("qos service add", lambda: views.service(svc[0], "added")),
        "service list full": ("qos service list", lambda: views.service_list(ServiceListing(tuple(svc)))),
        "service list empty": ("qos service list", lambda: views.service_list(ServiceListing(()))),
        "service remove": ("qos service remove", lambda: views.service(rc.gold_removed(), "removed")),
        "path dry": ("qos path", lambda: views.path(changes["path-dry"])),
        "path": ("qos path", lambda: views.path(changes["path"])),
    }
    for name, result in rc.queue_results().items():
        cases[f"queues {name}"] = ("qos queues", lambda r=result: views.queues(r))  # type: ignore[misc]
    for name, verified in rc.verify_results().items():
        cases[f"verify {name}"] = ("qos verify", lambda v=verified: views.verify(v))  # type: ignore[misc]
    return cases


CASES = _cases()


def test_every_golden_case_is_rendered() -> None:
    assert set(CASES) == set(GOLDEN)


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_output_is_byte_identical(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    command, build = CASES[name]
    got: dict[str, Any] = {}
    for json_mode in (False, True):
        buf = io.StringIO()
        got["exit"] = int(output.emit(build(), command=command, json_mode=json_mode, file=buf))
        got["json" if json_mode else "human"] = buf.getvalue()
    assert got == GOLDEN[name]


def test_the_qos_library_does_not_render() -> None:
    """Rendering lives in the CLI: importing every qos module loads neither rich nor stackrig.output."""
    import subprocess
    import sys

    code = (
        "import pkgutil, importlib, sys, stackrig.qos as q\n"
        "for m in pkgutil.walk_packages(q.__path__, 'stackrig.qos.'): importlib.import_module(m.name)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('rich', 'typer') or m == 'stackrig.output']\n"
        "print(sorted(bad))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
