"""``stackrig completion SHELL``: the shell's completion script, and what the shell asks at TAB.

The script calls ``stackrig`` back with ``_STACKRIG_COMPLETE=complete_<shell>`` and the command
line in the environment (typer's protocol: ``COMP_WORDS``/``COMP_CWORD`` for bash,
``_TYPER_COMPLETE_ARGS`` for zsh and fish); click answers from the command tree.
:func:`completion_request` tells the CLI entry which family that line needs, so a TAB after
``stackrig bench`` imports bench only.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Annotated

import click
import typer

from stackrig.errors import InternalError

__all__ = ["COMPLETE_VAR", "SHELLS", "completion", "completion_request", "enable_completion"]

COMPLETE_VAR = "_STACKRIG_COMPLETE"
SHELLS = ("bash", "zsh", "fish")


def enable_completion() -> None:
    """Use typer's completion classes (its scripts and its environment protocol) for each shell."""
    # typer.completion imports it from here; typer is pinned below 0.18 in pyproject.toml.
    from typer._completion_classes import completion_init

    completion_init()


def completion_request(environ: Mapping[str, str]) -> list[str] | None:
    """The finished words of the command line a shell asks to complete, or None if it asks nothing."""
    if not environ.get(COMPLETE_VAR):
        return None
    try:
        if "_TYPER_COMPLETE_ARGS" in environ:  # zsh, fish: the line up to the cursor
            line = environ["_TYPER_COMPLETE_ARGS"]
            words = shlex.split(line)[1:]
            return words if line.endswith(" ") else words[:-1]
        words = shlex.split(environ.get("COMP_WORDS", ""))
        return words[1 : int(environ.get("COMP_CWORD", "0"))]
    except ValueError:  # an open quote: complete against every family
        return []


def completion(
    shell: Annotated[
        str, typer.Argument(click_type=click.Choice(SHELLS), help="bash, zsh or fish.", show_default=False)
    ],
) -> None:
    """Print the shell completion script for SHELL (bash, zsh or fish).

    Enable it in every new shell. bash: add 'eval "$(stackrig completion bash)"' to ~/.bashrc.
    zsh: add 'eval "$(stackrig completion zsh)"' to ~/.zshrc, after compinit. fish: run
    'stackrig completion fish > ~/.config/fish/completions/stackrig.fish' once. Then TAB completes
    commands, options and choices: 'stackrig be' TAB gives 'stackrig bench'.
    """
    enable_completion()
    ctx = click.get_current_context()
    script_class = click.shell_completion.get_completion_class(shell)
    if script_class is None:  # enable_completion registers one for each of SHELLS
        raise InternalError(f"no completion script for {shell}")
    typer.echo(script_class(ctx.find_root().command, {}, "stackrig", COMPLETE_VAR).source().strip())
