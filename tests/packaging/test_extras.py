"""Which extra a missing module belongs to, and the check before a command starts (in-process)."""

from __future__ import annotations

import pytest

from stackrig._extras import MissingExtraError, check_command, for_missing_module
from stackrig.errors import ExitCode


@pytest.mark.parametrize(
    ("command", "module", "extra"),
    [
        ("bench plot", "numpy", "bench"),
        ("bench plot", "matplotlib.pyplot", "bench"),
        ("migrate ecs", "botocore.session", "migrate"),  # both fleet and migrate bring it
        ("fleet up", "botocore", "fleet"),
        ("bench run", "botocore", "fleet"),  # not the command's family: the first extra that has it
        ("migrate wait", "psycopg", "migrate"),
        ("qos path", "networkx", "qos"),
    ],
)
def test_missing_module_names_its_extra(command: str, module: str, extra: str) -> None:
    error = for_missing_module(command, module)
    assert isinstance(error, MissingExtraError)
    assert error.exit_code is ExitCode.MISSING
    assert error.extra == extra
    assert error.message == (
        f"{command} needs the {extra} extra ({module.partition('.')[0]} is not installed): "
        f"pip install 'stackrig[{extra}]'"
    )


@pytest.mark.parametrize("module", [None, "", "yaml", "stackrig.nothing", "no_such_module"])
def test_other_missing_modules_are_not_an_extra(module: str | None) -> None:
    assert for_missing_module("bench plot", module) is None


def test_without_a_command_word() -> None:
    error = for_missing_module("", "numpy")
    assert error is not None
    assert error.message.startswith("this needs the bench extra")


def test_check_passes_where_the_extras_are_installed() -> None:
    for command in ("bench plot", "migrate ecs", "qos path", "fleet up", "landscape list", ""):
        check_command(command)
