"""Load a catalog (the bundled one or a user's file) and ask it questions.

``load_catalog`` refuses a file with problems (run :func:`validate_file` to see them
all); queries work on the frozen :class:`~stackrig.landscape.model.Catalog`.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from importlib import resources

from stackrig._io import read_text
from stackrig.errors import UsageError
from stackrig.landscape.model import Catalog, CatalogError, Layer, Problem, Status, Tool, slug
from stackrig.landscape.validate import check_text

__all__ = [
    "BUNDLED_NAME",
    "ValidationReport",
    "bundled_text",
    "find_tool",
    "list_tools",
    "load_catalog",
    "overlaps",
    "read_catalog_text",
    "resolve_layer",
    "validate_file",
]

BUNDLED_NAME = "<bundled landscape.yml>"
_SHOWN_PROBLEMS = 5


def bundled_text() -> str:
    """The text of the catalog that ships with stackrig."""
    return (resources.files("stackrig.landscape") / "data" / "landscape.yml").read_text(encoding="utf-8")


def read_catalog_text(path: str | os.PathLike[str] | None) -> tuple[str, str]:
    """(text, source name) of a user's catalog file, or of the bundled one when ``path`` is None."""
    if path is None:
        return bundled_text(), BUNDLED_NAME
    try:
        return read_text(path, what="catalog file"), str(path)
    except UsageError as exc:
        raise CatalogError(exc.message, hint=exc.hint) from exc


def load_catalog(path: str | os.PathLike[str] | None = None) -> Catalog:
    """Read and check a catalog; raise :class:`CatalogError` naming its first problems."""
    text, source = read_catalog_text(path)
    catalog, problems = check_text(text, source)
    if problems:
        raise _invalid(source, problems)
    return catalog


def _invalid(source: str, problems: tuple[Problem, ...]) -> CatalogError:
    first = problems[0]
    if first.code == "yaml-syntax":
        where = f"{source}:{first.line}" if first.line is not None else source
        return CatalogError(f"{where}: not valid YAML: {first.message}")
    shown = "; ".join(p.format(source) for p in problems[:_SHOWN_PROBLEMS])
    more = f" (and {len(problems) - _SHOWN_PROBLEMS} more)" if len(problems) > _SHOWN_PROBLEMS else ""
    count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
    return CatalogError(
        f"catalog {source} has {count}: {shown}{more}",
        hint=f"see them all with: stackrig landscape validate {source}",
    )


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """What ``landscape validate`` found: every problem with its line."""

    source: str
    valid: bool
    problems: tuple[Problem, ...]
    layers: int
    tools: int


def validate_file(path: str | os.PathLike[str] | None = None) -> ValidationReport:
    """Check a catalog file (the bundled one when ``path`` is None); never raises for its content."""
    text, source = read_catalog_text(path)
    catalog, problems = check_text(text, source)
    return ValidationReport(
        source=source,
        valid=not problems,
        problems=problems,
        layers=len(catalog.layers),
        tools=len(catalog.tools),
    )


def resolve_layer(catalog: Catalog, text: str) -> Layer:
    """The layer meant by ``text``: its name, its slug, or a word that names only one layer."""
    wanted = text.strip().casefold()
    if not wanted:
        raise CatalogError("the layer name is empty", hint=_layer_hint(catalog))
    for layer in catalog.layers:
        if wanted in (layer.name.casefold(), layer.slug):
            return layer
    key = slug(wanted)
    matches = [
        layer for layer in catalog.layers if key and (key in layer.slug or wanted in layer.name.casefold())
    ]
    if len(matches) == 1:
        return matches[0]
    if matches:
        names = ", ".join(repr(m.name) for m in matches)
        raise CatalogError(f"layer {text!r} is ambiguous: it matches {names}", hint="give more of the name")
    raise CatalogError(f"no layer {text!r} in {catalog.source}", hint=_layer_hint(catalog))


def _layer_hint(catalog: Catalog) -> str:
    return "layers: " + ", ".join(layer.slug for layer in catalog.layers)


def find_tool(catalog: Catalog, name: str) -> Tool:
    """The tool called ``name`` (case-insensitive); suggest close names when there is none."""
    wanted = name.strip().casefold()
    for tool in catalog.tools:
        if tool.name.casefold() == wanted:
            return tool
    names = {t.name.casefold(): t.name for t in catalog.tools}
    close = difflib.get_close_matches(wanted, list(names), n=3, cutoff=0.6)
    close += [k for k in names if wanted and wanted in k and k not in close][:3]
    hint = (
        "did you mean: " + ", ".join(names[c] for c in close)
        if close
        else "list them with: stackrig landscape list"
    )
    raise CatalogError(f"no tool {name!r} in {catalog.source}", hint=hint)


def list_tools(
    catalog: Catalog,
    *,
    layer: str | None = None,
    search: str | None = None,
    status: Status | None = None,
) -> tuple[Tool, ...]:
    """Tools in a layer (home or overlap), matching every word of ``search``, with a status."""
    layer_name = resolve_layer(catalog, layer).name if layer is not None else None
    words = search.casefold().split() if search else []
    found = []
    for tool in catalog.tools:
        if layer_name is not None and layer_name not in tool.layers:
            continue
        if status is not None and tool.status != status:
            continue
        haystack = " ".join((tool.name, tool.description, tool.subcategory, *tool.layers)).casefold()
        if all(word in haystack for word in words):
            found.append(tool)
    return tuple(found)


def overlaps(catalog: Catalog) -> tuple[Tool, ...]:
    """Tools that belong to more than one layer (marked "(overlap)" in the catalog)."""
    return tuple(tool for tool in catalog.tools if tool.overlaps)
