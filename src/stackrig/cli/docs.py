"""Generate docs/cli.md from the CLI itself, so the reference cannot drift.

``python -m stackrig.cli.docs`` prints it; ``make docs`` writes it; a test
regenerates it in memory and compares.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import click
import typer

from stackrig.errors import ExitCode
from stackrig.output import SCHEMA_VERSION

__all__ = ["generate", "walk"]


def walk(
    command: click.Command, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Every command and group below ``command`` with its word path, in help order."""
    yield path, command
    if isinstance(command, click.Group):
        ctx = click.Context(command)
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                yield from walk(sub, (*path, name))


def _usage(command: click.Command, path: tuple[str, ...]) -> str:
    ctx = click.Context(command, info_name=" ".join(("stackrig", *path)))
    pieces = command.collect_usage_pieces(ctx)
    return " ".join([ctx.command_path, *pieces])


def _param_row(param: click.Parameter) -> str:
    if isinstance(param, click.Option):
        names = ", ".join(f"`{n}`" for n in [*param.opts, *param.secondary_opts])
        help_text = (param.help or "").replace("\n", " ").replace("|", "\\|")
        default = ""
        if (
            param.default not in (None, False, (), [])
            and not param.is_flag
            and param.show_default is not False
        ):
            default = f" (default: `{param.default}`)"
        return f"| {names} | {help_text}{default} |"
    name = (param.human_readable_name or param.name or "").upper()
    return f"| `{name}` | argument{' (required)' if param.required else ''} |"


def _section(path: tuple[str, ...], command: click.Command) -> list[str]:
    title = " ".join(("stackrig", *path))
    level = "#" * min(2 + max(len(path) - 1, 0), 4)
    lines = [f"{level} `{title}`", ""]
    help_text = (command.help or "").strip()
    if help_text:
        lines += [help_text, ""]
    lines += ["```", _usage(command, path), "```", ""]
    params = [p for p in command.params if not (isinstance(p, click.Option) and p.hidden)]
    if params:
        lines += ["| option | meaning |", "|---|---|"]
        lines += [_param_row(p) for p in params]
        lines.append("")
    if command.epilog:
        lines += [command.epilog.strip(), ""]
    if isinstance(command, click.Group):
        ctx = click.Context(command)
        subs = command.list_commands(ctx)
        if subs:
            lines += ["Commands: " + ", ".join(f"`{s}`" for s in subs), ""]
    return lines


def generate() -> str:
    from stackrig.cli.app import load_families

    root = typer.main.get_command(load_families())
    lines = [
        "# stackrig command reference",
        "",
        "Generated from the CLI by `make docs` (`python -m stackrig.cli.docs`); do not edit by hand.",
        "",
        "## Exit codes",
        "",
        "| code | name | meaning |",
        "|---|---|---|",
    ]
    lines += [f"| {int(c)} | {c.name} | {c.meaning} |" for c in ExitCode]
    lines += [
        "",
        "## JSON output",
        "",
        f"With `--json` a command prints one document on stdout, envelope version `{SCHEMA_VERSION}`:",
        "",
        "```json",
        f'{{"stackrig": "{SCHEMA_VERSION}", "command": "fleet inventory", "ok": true, "partial": false,',
        ' "exit_code": 0, "data": {}, "warnings": []}',
        "```",
        "",
        "and on error:",
        "",
        "```json",
        f'{{"stackrig": "{SCHEMA_VERSION}", "command": "fleet inventory", "ok": false,',
        ' "error": {"type": "UsageError", "message": "...", "hint": "...", "exit_code": 2}}',
        "```",
        "",
    ]
    for path, command in walk(root):
        lines += _section(path, command)
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    sys.stdout.write(generate())
