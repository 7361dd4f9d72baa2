"""Option groups: declare a set of Typer options once, hand them to commands as one settings object.

A command names the group by one keyword-only parameter (``options: InventoryOptions``); the
decorator puts the group's options in its place (same flags, help and defaults in every command,
at that position in ``--help``) and calls the command with ``build(**their values)``::

    inventory_group = option_group("options", build_options, Opt("filters", FilterOpt, None), ...)

    @app.command()
    @inventory_group
    def inventory(ctx: typer.Context, *, options: InventoryOptions, json_: JsonOpt = False) -> None: ...

Typer calls commands with keyword arguments only, so the wrapper sees every value by name.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = ["Opt", "option_group"]

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Opt:
    """One option of a group: the parameter name, its ``Annotated[..., typer.Option(...)]`` and default."""

    name: str
    annotation: Any
    default: Any = inspect.Parameter.empty


def option_group(
    target: str, build: Callable[..., Any], *options: Opt
) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """A decorator replacing the parameter ``target`` by ``options``, passed on as ``build(**values)``."""
    names = tuple(o.name for o in options)

    def decorate(func: Callable[..., R]) -> Callable[..., R]:
        signature = inspect.signature(func, eval_str=True)
        if target not in signature.parameters:
            raise TypeError(f"{func.__name__} has no parameter {target!r} for the option group")
        params: list[inspect.Parameter] = []
        for param in signature.parameters.values():
            if param.name != target:
                params.append(param)
                continue
            params.extend(
                inspect.Parameter(o.name, param.kind, default=o.default, annotation=o.annotation)
                for o in options
            )

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> R:
            kwargs[target] = build(**{name: kwargs.pop(name) for name in names})
            return func(*args, **kwargs)

        new = signature.replace(parameters=params)
        wrapper.__signature__ = new  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in params} | {"return": new.return_annotation}
        return wrapper

    return decorate
