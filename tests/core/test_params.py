"""stackrig.cli._params: option groups put their options in the command's place and build one value."""

from __future__ import annotations

import inspect
from typing import Annotated

import pytest
import typer
from typer.testing import CliRunner

from stackrig.cli._params import Opt, option_group

Count = Annotated[int, typer.Option("--count", help="How many.")]
Word = Annotated[str, typer.Option("--word", help="Which word.")]


def _pair(*, count: int, word: str) -> tuple[int, str]:
    return count, word


group = option_group("pair", _pair, Opt("count", Count, 1), Opt("word", Word, "a"))


def test_group_takes_the_place_of_its_parameter_and_builds_the_value() -> None:
    seen: list[object] = []
    app = typer.Typer()

    @app.command()
    @group
    def show(
        first: Annotated[str, typer.Option("--first")] = "f",
        *,
        pair: tuple[int, str],
        last: Annotated[str, typer.Option("--last")] = "l",
    ) -> None:
        seen.append((first, pair, last))

    assert list(inspect.signature(show).parameters) == ["first", "count", "word", "last"]
    result = CliRunner().invoke(app, ["--count", "3", "--last", "z"])
    assert result.exit_code == 0, result.output
    assert seen == [("f", (3, "a"), "z")]
    help_text = CliRunner().invoke(app, ["--help"]).output
    assert help_text.index("--first") < help_text.index("--count") < help_text.index("--word")
    assert help_text.index("--word") < help_text.index("--last")
    assert "How many." in help_text


def test_a_command_without_the_parameter_is_refused() -> None:
    def lonely(other: int = 0) -> None:
        return None

    with pytest.raises(TypeError, match="lonely has no parameter 'pair'"):
        group(lonely)
