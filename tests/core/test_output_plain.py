"""Plain lines without rich: on a stream that is no terminal they are what a rich console printed.

stackrig.output writes progress lines, warnings and failed parts itself when stderr is not a
terminal, so that commands such as ``fleet inventory`` never import rich (tests/fleet/test_start_up.py).
These tests hold that path to rich's own output for the same text, byte for byte, and check that
a terminal (or FORCE_COLOR) still gets rich's colours.
"""

from __future__ import annotations

import io
import logging

import pytest
from rich.console import Console

from stackrig import output
from stackrig.output import Report, emit

TEXTS = [
    "fleet inventory: 4 hosts, 0 groups",
    "tabs\tin\t\tthe middle\tand at the end\t",
    "carriage\rreturn, bell\x07, backspace\x08, vertical tab\x0b, form feed\x0c",
    "escape \x1b[31m kept as rich keeps it",
    "[red]markup[/red] and [link=x]brackets[/link] from outside",
    ":fire: and :smile: codes stay text",
    "x" * 300,
    "trailing spaces   ",
    "two\nlines\twith tab",
    "",
    "unicode é 日本 \u200b \u2028 end",
]


def _rich(text: str) -> str:
    buffer = io.StringIO()
    Console(file=buffer, highlight=False, soft_wrap=True).print(
        text, markup=False, highlight=False, emoji=False
    )
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def _no_terminal_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "NO_COLOR", "COLUMNS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(output, "_quiet", False)


@pytest.mark.parametrize("text", TEXTS)
def test_say_prints_what_rich_printed(text: str, capsys: pytest.CaptureFixture[str]) -> None:
    output.say(text)
    assert capsys.readouterr().err == _rich(text)


@pytest.mark.parametrize("text", TEXTS)
def test_warnings_and_failed_parts_print_what_rich_printed(
    text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    emit(
        Report({}, warnings=(text,), failed=(text,), partial=True),
        command="x",
        json_mode=False,
        file=io.StringIO(),
    )
    err = capsys.readouterr().err
    partial = "partial result: 1 part(s) failed; exit 0 (--allow-partial)\n"
    assert err == f"warning: {_rich(text)}failed: {_rich(text)}{partial}"


def test_quiet_silences_say_and_warnings(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(output, "_quiet", True)
    output.say("progress")
    emit(Report({}, warnings=("w",)), command="x", json_mode=False, file=io.StringIO())
    assert capsys.readouterr().err == ""
    output.say("said anyway", quiet=False)
    assert capsys.readouterr().err == "said anyway\n"


def test_a_terminal_still_gets_rich_colours(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")  # what rich reads to colour a stream that is no terminal
    emit(Report({}, warnings=("[red]x[/red] :fire:",)), command="x", json_mode=False, file=io.StringIO())
    err = capsys.readouterr().err
    assert "\x1b[33mwarning:\x1b[0m" in err
    assert "[red]x[/red] :fire:" in err  # outside text: neither markup nor emoji codes


def test_write_gets_the_stream_and_render_a_console(capsys: pytest.CaptureFixture[str]) -> None:
    out = io.StringIO()
    emit(Report({}, write=lambda stream: stream.write("plain\n")), command="x", json_mode=False, file=out)
    emit(
        Report({}, render=lambda console: console.print("[bold]b[/bold]")),
        command="x",
        json_mode=False,
        file=out,
    )
    assert out.getvalue() == "plain\nb\n"
    assert capsys.readouterr().err == ""


def test_log_records_still_go_through_rich(capsys: pytest.CaptureFixture[str]) -> None:
    output.configure_logging(0)
    try:
        logging.getLogger("stackrig.test").info("not at the default level")
        logging.getLogger("stackrig.test").warning("a warning record")
    finally:
        output.configure_logging(0)
    err = capsys.readouterr().err
    assert "not at the default level" not in err
    assert "WARNING" in err
    assert "a warning record" in err
