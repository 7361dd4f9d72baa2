"""The migrate family's public names: sorted, complete, importable."""

from __future__ import annotations

from typing import Any

from stackrig import migrate


def test_all_is_sorted_and_complete() -> None:
    assert list(migrate.__all__) == sorted(migrate.__all__)
    for name in migrate.__all__:
        assert getattr(migrate, name) is not None
    classes = {n for n, v in vars(migrate).items() if isinstance(v, type) and not n.startswith("_")}
    assert classes <= set(migrate.__all__)


def test_cli_help_lists_the_commands(cli: Any) -> None:
    done = cli("migrate", "--help")
    assert done.returncode == 0
    for command in ("discover", "compose", "ecs", "lint", "wait"):
        assert command in done.stdout
