"""The partial-results rule: a partial report exits 1 unless --allow-partial; failed parts go to stderr."""

from __future__ import annotations

import io
import json

import pytest

from stackrig import output
from stackrig.errors import ExitCode
from stackrig.output import Report, emit


def _partial() -> Report:
    return Report({"done": 2}, warnings=("a warning",), partial=True, failed=("region x: denied [red]",))


def test_partial_exits_failed_unless_allowed() -> None:
    assert _partial().settled(allow_partial=False).exit_code == ExitCode.FAILED
    assert _partial().settled(allow_partial=True).exit_code == ExitCode.OK
    whole = Report({}, partial=False)
    assert whole.settled(allow_partial=False).exit_code == ExitCode.OK
    # A report that already failed for its own reason keeps that reason's code.
    timeout = Report({}, partial=True, exit_code=ExitCode.TIMEOUT)
    assert timeout.settled(allow_partial=True).exit_code == ExitCode.TIMEOUT


@pytest.mark.parametrize("json_mode", [True, False])
def test_failed_parts_are_named_on_stderr_in_both_modes(
    json_mode: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    out = io.StringIO()
    code = emit(_partial().settled(allow_partial=False), command="x", json_mode=json_mode, file=out)
    assert code == ExitCode.FAILED
    err = capsys.readouterr().err
    assert "failed: region x: denied [red]" in err  # outside text is never read as markup
    assert "partial result: 1 part(s) failed; exit 1" in err
    if json_mode:
        doc = json.loads(out.getvalue())
        assert doc["partial"] is True
        assert doc["ok"] is False
        assert doc["exit_code"] == 1
        assert doc["warnings"] == ["a warning", "region x: denied [red]"]
    else:
        assert "warning: a warning" in err


def test_under_quiet_failed_parts_are_errors_unless_allowed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(output, "_quiet", True)  # what -q sets at the CLI edge
    out = io.StringIO()
    code = emit(_partial().settled(allow_partial=False), command="x", json_mode=False, file=out)
    assert code == ExitCode.FAILED
    err = capsys.readouterr().err
    assert err == "failed: region x: denied [red]\npartial result: 1 part(s) failed; exit 1\n"  # no warning
    code = emit(_partial().settled(allow_partial=True), command="x", json_mode=False, file=out)
    assert code == ExitCode.OK
    assert capsys.readouterr().err == ""  # allowed: the failed parts are warnings, silent under -q
