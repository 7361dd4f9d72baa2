"""Every qos command's output (human and --json), pinned byte for byte.

``golden/render.json`` was first recorded from the implementation in which the library
rendered (``stackrig.qos.commands`` built the Reports), so moving the rendering into the CLI
changed no byte. Changes made on purpose since (issue 20: ``lab down`` says what it dropped
from the state, ``notes`` on changes, ``verify``'s evidence, ``--check``/``sync``) were
recorded with ``python -m tests.qos.test_render --update`` and reviewed in the diff.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from stackrig import output
from stackrig.cli import qos_views as views
from stackrig.qos.commands import CheckedListing, LabDown, PolicyListing, ServiceListing
from stackrig.qos.drift import SyncAction, SyncResult
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
    listing = PolicyListing.of(rc.listing_state())
    checked = CheckedListing(listing.state_file, listing.installed, listing.journal, rc.check_result())
    plan = (
        SyncAction("reinstall", "mark", "00000000000000ff", "ovs", "no flow"),
        SyncAction("forget", "q", "0000000000000002", "ryu"),
        SyncAction("remove-orphan", "0x5700000000000abc", "lab-s1", "ovs", "priority=100,ip actions=drop"),
    )
    dry = SyncResult(str(rc.STATE), True, plan, rc.check_result())
    done = SyncResult(str(rc.STATE), False, plan, rc.check_result(), rc.check_result(), ())
    forgotten = LabDown("lab", ("bridge lab-s1",), tuple(rc.installed()[:2]))
    cases.update(
        {
            "lab down forgets": ("qos lab down", lambda: views.lab_down(forgotten)),
            "policy add notes": (
                "qos policy add",
                lambda: views.added(replace(changes["add"], notes=("policy 'mark' was recorded but gone",))),
            ),
            "policy list check": (
                "qos policy list",
                lambda: views.policy_check(checked, quiet=False, allow_partial=False),
            ),
            "policy list check quiet": (
                "qos policy list",
                lambda: views.policy_check(checked, quiet=True, allow_partial=True),
            ),
            "policy sync dry": ("qos policy sync", lambda: views.policy_sync(dry, allow_partial=False)),
            "policy sync yes": ("qos policy sync", lambda: views.policy_sync(done, allow_partial=True)),
            "queues check": ("qos queues", lambda: views.queues_check(rc.queues_check())),
            "verify policy": ("qos verify", lambda: views.verify(rc.verify_policy_result())),
        }
    )
    for name, result in rc.queue_results().items():
        cases[f"queues {name}"] = ("qos queues", lambda r=result: views.queues(r))  # type: ignore[misc]
    for name, verified in rc.verify_results().items():
        cases[f"verify {name}"] = ("qos verify", lambda v=verified: views.verify(v))  # type: ignore[misc]
    return cases


CASES = _cases()


def _render(name: str) -> dict[str, Any]:
    command, build = CASES[name]
    got: dict[str, Any] = {}
    for json_mode in (False, True):
        buf = io.StringIO()
        got["exit"] = int(output.emit(build(), command=command, json_mode=json_mode, file=buf))
        got["json" if json_mode else "human"] = buf.getvalue()
    return got


def test_every_golden_case_is_rendered() -> None:
    assert set(CASES) == set(GOLDEN)


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_output_is_byte_identical(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert _render(name) == GOLDEN[name]


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


if __name__ == "__main__":  # pragma: no cover - records a change of output made on purpose
    import os
    import sys

    if sys.argv[1:] != ["--update"]:
        sys.exit("usage: python -m tests.qos.test_render --update")
    os.environ.pop("COLUMNS", None)
    os.environ.pop("NO_COLOR", None)
    golden = {name: _render(name) for name in sorted(CASES)}
    path = Path(__file__).parent / "golden" / "render.json"
    path.write_text(json.dumps(golden, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
