"""A command family whose commands live in several modules, each imported when one of its commands runs.

``stackrig fleet inventory`` then imports the inventory's code only: not the AWS, Ansible and
Jinja2 code of ``fleet up``, ``fleet play`` or ``fleet render``, nor their libraries (the fleet
family's other modules weigh some 8 MiB of memory and 30 ms of start-up). The root app does the
same one level up (``app.load_families``).

A family's Typer app is made with ``cls=`` a subclass naming its other commands::

    class _FleetCommands(LazyGroup):
        LAZY = {"render": "stackrig.cli.fleet_play", "up": "stackrig.cli.fleet_cloud", ...}

    app = typer.Typer(cls=_FleetCommands)

Each module named there has ``register(app)``, adding its commands to the Typer app it is given.
``--help``, ``docs/cli.md`` and shell completion go through click's ``list_commands`` and
``get_command``, so they show every command, in the order: the app's own, then ``LAZY``'s.
Code that walks the tree uses ``get_command``, not the ``commands`` dict (which holds the app's
own commands only).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any, ClassVar

import click
import typer
from typer.core import TyperGroup

__all__ = ["LazyGroup", "commands_of"]


def commands_of(module: str, *, rich_markup_mode: Any = None) -> dict[str, click.Command]:
    """The click commands that ``module``'s ``register(app)`` adds to a Typer app."""
    holder = typer.Typer(rich_markup_mode=rich_markup_mode)
    importlib.import_module(module).register(holder)
    return dict(typer.main.get_group(holder).commands)


class LazyGroup(TyperGroup):
    """A family's click group: its Typer app's commands, then those of :attr:`LAZY`, imported on
    first lookup (a module's commands all at once)."""

    #: command name → module whose ``register(app)`` adds it, in help order.
    LAZY: ClassVar[Mapping[str, str]] = {}

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self._loaded: dict[str, click.Command] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*super().list_commands(ctx), *(name for name in self.LAZY if name not in self.commands)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None or cmd_name not in self.LAZY:
            return command
        if cmd_name not in self._loaded:
            self._loaded.update(commands_of(self.LAZY[cmd_name], rich_markup_mode=self.rich_markup_mode))
        return self._loaded.get(cmd_name)
