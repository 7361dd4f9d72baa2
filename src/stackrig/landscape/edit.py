"""Change catalog files: add a tool to a user's catalog, merge two catalogs.

Both work on the parsed YAML tree (so CNCF fields stackrig does not model, such as
``logo`` or ``crunchbase``, are kept), check the text they are about to write
with the same checker as ``landscape validate``, and write it atomically. A file
that fails any step is left exactly as it was.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from stackrig._io import atomic_write, ensure_not_input
from stackrig.errors import ConflictError
from stackrig.landscape._yaml import YamlSyntaxError, dump, load, plain
from stackrig.landscape.catalog import _invalid, load_catalog, read_catalog_text, resolve_layer
from stackrig.landscape.model import Catalog, CatalogError, Status, Tool
from stackrig.landscape.validate import check_text, check_tree, url_problem

__all__ = [
    "AddResult",
    "Conflict",
    "MergeResult",
    "NewTool",
    "add_tool",
    "merge_catalogs",
    "parse_checked",
    "skeleton",
    "write_catalog",
]

HEADER = (
    "# A stackrig landscape catalog (CNCF landscape.yml layout), written by stackrig.\n"
    "# Check it with: stackrig landscape validate FILE\n"
)
DEFAULT_SUBCATEGORY = "Other"


@dataclass(frozen=True, slots=True)
class NewTool:
    """What ``landscape add`` was asked to add."""

    name: str
    layer: str
    homepage_url: str
    also: tuple[str, ...] = ()
    subcategory: str | None = None
    repo_url: str | None = None
    description: str | None = None
    status: Status = Status.ACTIVE


@dataclass(frozen=True, slots=True)
class AddResult:
    catalog_file: Path
    created: bool
    replaced: bool
    tool: Tool
    tools: int
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Conflict:
    """A tool in both catalogs with different fields; ``kept`` says whose entry is in the output."""

    name: str
    fields: tuple[str, ...]
    kept: str


@dataclass(frozen=True, slots=True)
class MergeResult:
    output: Path
    base: str
    extra: str
    layers: int
    tools: int
    added: tuple[str, ...]
    conflicts: tuple[Conflict, ...]


def parse_checked(text: str, source: str) -> Any:
    """The YAML tree of a catalog text that has no problems; CatalogError otherwise."""
    try:
        tree = load(text)
    except YamlSyntaxError as exc:
        where = f"{source}:{exc.line}" if exc.line is not None else source
        raise CatalogError(
            f"{where}: not valid YAML: {exc.message}",
            hint=f"see every problem with: stackrig landscape validate {source}",
        ) from exc
    _, problems = check_tree(tree, source)
    if problems:
        raise _invalid(source, problems)
    return tree


def skeleton(catalog: Catalog) -> dict[str, Any]:
    """An empty catalog with the layers and subcategories of ``catalog`` (for a new user file)."""
    return {
        "landscape": [
            {
                "category": None,
                "name": layer.name,
                "subcategories": [{"subcategory": None, "name": s, "items": []} for s in layer.subcategories],
            }
            for layer in catalog.layers
        ]
    }


def write_catalog(path: Path, tree: Any, *, source: str, header: str = HEADER) -> Catalog:
    """Check the text of ``tree`` and write it atomically; nothing is written when it has problems."""
    text = dump(tree, header=header)
    catalog, problems = check_text(text, source)
    if problems:
        raise _invalid(source, problems)
    atomic_write(path, text)
    return catalog


def _categories(tree: Any) -> list[Any]:
    found: list[Any] = tree["landscape"] if "landscape" in tree else tree["categories"]
    return found


def _named(entries: list[Any], name: str) -> Any | None:
    return next((e for e in entries if str(e.get("name", "")).casefold() == name.casefold()), None)


def _remove_item(tree: Any, name: str) -> bool:
    for category in _categories(tree):
        for sub in category["subcategories"]:
            items = sub["items"]
            for index, item in enumerate(items):
                if str(item.get("name", "")).casefold() == name.casefold():
                    del items[index]
                    return True
    return False


def _second_paths(catalog: Catalog, also: tuple[str, ...], home: str) -> list[str]:
    paths: list[str] = []
    for raw in also:
        layer_text, _, sub_text = (part.strip() for part in raw.partition("/"))
        layer = resolve_layer(catalog, layer_text)
        if sub_text:
            sub = next((s for s in layer.subcategories if s.casefold() == sub_text.casefold()), None)
            if sub is None:
                raise CatalogError(
                    f"layer {layer.name!r} has no subcategory {sub_text!r}",
                    hint="subcategories: " + ", ".join(layer.subcategories),
                )
            entry = f"{layer.name} / {sub}"
        else:
            entry = layer.name
        if layer.name != home and entry not in paths:
            paths.append(entry)
    return paths


def add_tool(path: str | os.PathLike[str], new: NewTool, *, replace: bool = False) -> AddResult:
    """Add ``new`` to the catalog file at ``path`` (created with the bundled layers if absent)."""
    target = Path(path)
    created = not target.exists()
    warnings: list[str] = []
    header = HEADER
    if created:
        tree: Any = skeleton(load_catalog(None))
        catalog, _ = check_text(dump(tree), str(target))
    else:
        text, source = read_catalog_text(target)
        raw = parse_checked(text, source)
        catalog, _ = check_tree(raw, source)
        tree = plain(raw)
        header = leading_comments(text) or HEADER
        if comment_lines(text):
            warnings.append(
                f"{target} is rewritten in the canonical layout; comments after its first lines were not kept"
            )
    layer = resolve_layer(catalog, new.layer)
    for flag, value in (("--homepage", new.homepage_url), ("--repo", new.repo_url)):
        reason = url_problem(value) if value is not None else None
        if reason:
            raise CatalogError(f"{flag} {value!r} {reason}", hint="give a full http:// or https:// URL")
    second = _second_paths(catalog, new.also, layer.name)
    existing = next((t for t in catalog.tools if t.name.casefold() == new.name.strip().casefold()), None)
    if existing is not None and not replace:
        raise ConflictError(
            f"{new.name!r} is already in {target} (line {existing.line}, layer {existing.layer!r})",
            hint="pass --replace to overwrite its entry",
        )
    if existing is not None:
        _remove_item(tree, existing.name)
    category: dict[str, Any] = _named(_categories(tree), layer.name) or {}
    sub_name = (new.subcategory or "").strip() or DEFAULT_SUBCATEGORY
    sub: dict[str, Any] | None = _named(category["subcategories"], sub_name)
    if sub is None:
        sub = {"subcategory": None, "name": sub_name, "items": []}
        category["subcategories"].append(sub)
    item: dict[str, Any] = {"item": None, "name": new.name.strip(), "homepage_url": new.homepage_url}
    if new.repo_url:
        item["repo_url"] = new.repo_url
    if new.description:
        item["description"] = " ".join(new.description.split())
    item["status"] = new.status.value
    if second:
        item["second_path"] = second
    sub["items"].append(item)
    written = write_catalog(target, tree, source=str(target), header=header)
    tool = next(t for t in written.tools if t.name == item["name"])
    return AddResult(target, created, existing is not None, tool, len(written.tools), tuple(warnings))


def _base_source(base: str | os.PathLike[str] | None) -> Path | None:
    if base is None or (str(base) == "bundled" and not Path(base).exists()):
        return None
    return Path(base)


def merge_catalogs(
    base: str | os.PathLike[str] | None,
    extra: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    prefer: Literal["base", "extra"] = "base",
) -> MergeResult:
    """Merge EXTRA into BASE (``bundled`` or None: the bundled catalog) and write OUTPUT.

    Layers and subcategories are matched by name (case-insensitive); a tool in both
    with different fields is a conflict: the fields of ``prefer``'s entry are kept
    (at BASE's place in the file), the difference is reported. OUTPUT may not be one
    of the inputs.
    """
    base_path = _base_source(base)
    out = Path(output)
    ensure_not_input(out, [p for p in (base_path, Path(extra)) if p is not None])
    base_text, base_name = read_catalog_text(base_path)
    extra_text, extra_name = read_catalog_text(extra)
    merged = plain(parse_checked(base_text, base_name))
    extra_tree = plain(parse_checked(extra_text, extra_name))
    index: dict[str, dict[str, Any]] = {}
    for category in _categories(merged):
        for sub in category["subcategories"]:
            for item in sub["items"]:
                index[str(item["name"]).casefold()] = item
    added: list[str] = []
    conflicts: list[Conflict] = []
    for category in _categories(extra_tree):
        into_category = _named(_categories(merged), category["name"])
        if into_category is None:
            into_category = {**category, "subcategories": []}
            _categories(merged).append(into_category)
        for sub in category["subcategories"]:
            into_sub = _named(into_category["subcategories"], sub["name"])
            if into_sub is None:
                into_sub = {**sub, "items": []}
                into_category["subcategories"].append(into_sub)
            for item in sub["items"]:
                key = str(item["name"]).casefold()
                mine = index.get(key)
                if mine is None:
                    into_sub["items"].append(item)
                    index[key] = item
                    added.append(str(item["name"]))
                    continue
                differ = _differences(mine, item)
                if differ:
                    conflicts.append(Conflict(str(mine["name"]), differ, prefer))
                    if prefer == "extra":
                        mine.clear()
                        mine.update(item)
    written = write_catalog(out, merged, source=str(out))
    return MergeResult(
        output=out,
        base=base_name,
        extra=extra_name,
        layers=len(written.layers),
        tools=len(written.tools),
        added=tuple(added),
        conflicts=tuple(conflicts),
    )


def _differences(a: dict[str, Any], b: dict[str, Any]) -> tuple[str, ...]:
    keys = [k for k in dict.fromkeys([*a, *b]) if k != "item"]
    return tuple(str(k) for k in keys if _norm(a.get(k)) != _norm(b.get(k)))


def _norm(value: Any) -> Any:
    if isinstance(value, str):
        return re.sub(r"\s+", " ", value.strip())
    if isinstance(value, list):
        return [_norm(v) for v in value]
    return value


def leading_comments(text: str) -> str:
    """The comment block a file starts with (kept when stackrig rewrites the file)."""
    lines = []
    for line in text.splitlines(keepends=True):
        if line.strip() and not line.lstrip().startswith("#"):
            break
        lines.append(line)
    while lines and not lines[-1].strip():
        lines.pop()
    block = "".join(lines)
    return block if block.endswith("\n") or not block else block + "\n"


def comment_lines(text: str) -> int:
    """How many comment lines a file has after its leading comment block (those are lost on rewrite)."""
    rest = text[len(leading_comments(text).rstrip("\n")) :]
    return sum(1 for line in rest.splitlines() if line.lstrip().startswith("#"))
