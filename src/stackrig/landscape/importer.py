"""Import a CNCF ``landscape.yml`` and sort its items into our layers with a small mapping file.

The mapping file (an example ships as ``data/cncf-mapping.yml``)::

    map:
      "Runtime / Container Runtime": "Runtime Build and Creation / Container Runtimes"
      "Observability and Analysis": "Monitoring, Health, Logging and Auditing"

A key names a CNCF category, or ``category / subcategory`` (more specific keys win);
a value names one of our layers, or ``layer / subcategory`` (without a subcategory the
CNCF subcategory name is kept). Items of unmapped categories are skipped and counted;
CNCF ``second_path`` entries are mapped the same way; ``project: archived`` becomes
``status: archived``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from stackrig._io import atomic_write, ensure_not_input, read_text
from stackrig.errors import UsageError
from stackrig.landscape._yaml import LineList, LineMap, YamlSyntaxError, dump, load
from stackrig.landscape.catalog import _invalid, load_catalog
from stackrig.landscape.edit import HEADER
from stackrig.landscape.model import CatalogError, Status
from stackrig.landscape.validate import check_text, url_problem

__all__ = [
    "ImportResult",
    "MappingError",
    "Skipped",
    "example_mapping_path",
    "example_mapping_text",
    "import_cncf",
]


class MappingError(UsageError):
    """A mapping file that cannot be used."""


@dataclass(frozen=True, slots=True)
class Skipped:
    """A CNCF category / subcategory no mapping rule matched, and how many items it held."""

    path: str
    items: int


@dataclass(frozen=True, slots=True)
class ImportResult:
    source: str
    mapping: str
    output: Path | None
    layers: int
    tools: int
    skipped: tuple[Skipped, ...]
    warnings: tuple[str, ...]
    content: str | None = None


def example_mapping_path() -> str:
    """Where the example mapping (CNCF categories → the bundled catalog's ten layers) is installed."""
    return str(resources.files("stackrig.landscape") / "data" / "cncf-mapping.yml")


def example_mapping_text() -> str:
    return Path(example_mapping_path()).read_text(encoding="utf-8")


def _norm(path: str) -> str:
    return re.sub(r"\s*/\s*", " / ", " ".join(path.split())).casefold()


def _read_yaml(path: Path, what: str, error: type[UsageError]) -> Any:
    text = read_text(path, what=what)
    try:
        return load(text)
    except YamlSyntaxError as exc:
        where = f"{path}:{exc.line}" if exc.line is not None else str(path)
        raise error(f"{what} {where}: not valid YAML: {exc.message}") from exc


def _read_mapping(path: Path) -> dict[str, tuple[str, str | None]]:
    tree = _read_yaml(path, "mapping file", MappingError)
    rules = tree.get("map") if isinstance(tree, LineMap) else None
    if not isinstance(rules, LineMap) or not rules:
        raise MappingError(
            f"mapping file {path} has no 'map:' of CNCF category → layer",
            hint=f"start from the example mapping: {example_mapping_path()}",
        )
    found: dict[str, tuple[str, str | None]] = {}
    for key, value in rules.items():
        line = rules.key_lines[key]
        if not isinstance(key, str) or not isinstance(value, str) or not key.strip() or not value.strip():
            raise MappingError(f"mapping file {path}:{line}: each rule maps a category text to a layer text")
        layer, _, sub = (part.strip() for part in value.partition("/"))
        found[_norm(key)] = (layer, sub or None)
    return found


@dataclass
class _Builder:
    rules: dict[str, tuple[str, str | None]]
    source: str
    layers: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def target(self, category: str, sub: str) -> tuple[str, str] | None:
        rule = self.rules.get(_norm(f"{category} / {sub}")) or self.rules.get(_norm(category))
        if rule is None:
            return None
        return rule[0], rule[1] or sub

    def warn(self, line: int | None, message: str) -> None:
        self.warnings.append(f"{self.source}:{line}: {message}" if line else f"{self.source}: {message}")

    def walk(self, tree: Any) -> None:
        categories = None
        if isinstance(tree, LineMap):
            categories = tree.get("landscape", tree.get("categories"))
        if not isinstance(categories, LineList):
            raise CatalogError(
                f"{self.source} is not a CNCF landscape file: no top-level 'landscape:' list",
            )
        for category in categories:
            if not isinstance(category, LineMap) or not isinstance(category.get("name"), str):
                self.warn(getattr(category, "line", None), "category without a name skipped")
                continue
            subs = category.get("subcategories")
            for sub in subs if isinstance(subs, LineList) else []:
                if isinstance(sub, LineMap) and isinstance(sub.get("name"), str):
                    self.subcategory(category["name"], sub)
                else:
                    self.warn(getattr(sub, "line", None), "subcategory without a name skipped")

    def subcategory(self, category: str, sub: LineMap) -> None:
        items = [i for i in sub.get("items") or [] if isinstance(i, LineMap)]
        place = self.target(category, sub["name"])
        if place is None:
            key = f"{category} / {sub['name']}"
            self.skipped[key] = self.skipped.get(key, 0) + len(items)
            return
        for item in items:
            self.item(item, place)

    def item(self, item: LineMap, place: tuple[str, str]) -> None:
        name = item.get("name")
        homepage = item.get("homepage_url")
        if not isinstance(name, str) or not name.strip():
            self.warn(item.line, "item without a name skipped")
            return
        if url_problem(homepage):
            self.warn(item.line, f"item {name!r} skipped: homepage_url {homepage!r} {url_problem(homepage)}")
            return
        seconds = [self.target(*_split(p)) for p in _strings(item.get("second_path"))]
        paths = [f"{layer} / {sub}" for layer, sub in (s for s in seconds if s is not None)]
        known = self.items.get(name.casefold())
        if known is not None:  # the same tool listed twice in the source: an overlap for us
            paths.append(f"{place[0]} / {place[1]}")
            self._add_paths(known, paths)
            return
        entry: dict[str, Any] = {"item": None, "name": name.strip(), "homepage_url": homepage}
        repo = item.get("repo_url")
        if isinstance(repo, str) and repo:
            if url_problem(repo):
                self.warn(item.line, f"item {name!r}: repo_url {repo!r} dropped: {url_problem(repo)}")
            else:
                entry["repo_url"] = repo
        description = item.get("description")
        if isinstance(description, str) and description.strip():
            entry["description"] = " ".join(description.split())
        archived = str(item.get("project", "")).casefold() == "archived"
        entry["status"] = (Status.ARCHIVED if archived else Status.ACTIVE).value
        self.layers.setdefault(place[0], {}).setdefault(place[1], []).append(entry)
        self.items[name.casefold()] = entry
        entry["_home"] = f"{place[0]} / {place[1]}"
        self._add_paths(entry, paths)

    def _add_paths(self, entry: dict[str, Any], paths: list[str]) -> None:
        for path in paths:
            layer, _, _ = path.partition(" / ")
            self.layers.setdefault(layer, {}).setdefault(path.partition(" / ")[2], [])
            current = entry.setdefault("second_path", [])
            if path != entry["_home"] and path not in current:
                current.append(path)
        if not entry.get("second_path"):
            entry.pop("second_path", None)

    def tree(self, order: list[str]) -> dict[str, Any]:
        names = [*dict.fromkeys([*order, *self.layers])]
        categories = []
        for layer in names:
            subs = self.layers.get(layer)
            if subs is None:
                continue
            categories.append(
                {
                    "category": None,
                    "name": layer,
                    "subcategories": [
                        {"subcategory": None, "name": sub, "items": [_clean(i) for i in items]}
                        for sub, items in subs.items()
                    ],
                }
            )
        return {"landscape": categories}


def _clean(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if not k.startswith("_")}


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _split(path: str) -> tuple[str, str]:
    category, _, sub = (part.strip() for part in path.partition("/"))
    return category, sub


def import_cncf(
    source: str | os.PathLike[str],
    mapping: str | os.PathLike[str] | None = None,
    output: str | os.PathLike[str] | None = None,
    *,
    catalog: str | os.PathLike[str] | None = None,
) -> ImportResult:
    """Read a CNCF landscape file, map it onto our layers, check the result; write it to ``output``.

    Mapping targets are matched against the layers of ``catalog`` (the bundled one by
    default): spelled as there when they match but for case, warned about when they
    name a layer it does not have (the import then holds that as a new layer).
    """
    src = Path(source)
    inputs = [src] + ([Path(mapping)] if mapping is not None else [])
    if output is not None:
        ensure_not_input(output, inputs)
    mapping_path = Path(mapping) if mapping is not None else Path(example_mapping_path())
    rules = _read_mapping(mapping_path)
    mapping_name = str(mapping) if mapping is not None else "<bundled cncf-mapping.yml>"
    known = load_catalog(catalog)
    names = {layer.name.casefold(): layer.name for layer in known.layers}
    notes = [
        f"{mapping_name}: {layer!r} is not a layer of {known.source}; it becomes a new layer"
        for layer in dict.fromkeys(layer for layer, _ in rules.values())
        if layer.casefold() not in names
    ]
    rules = {key: (names.get(layer.casefold(), layer), sub) for key, (layer, sub) in rules.items()}
    builder = _Builder(rules, str(src))
    builder.warnings.extend(notes)
    builder.walk(_read_yaml(src, "CNCF landscape file", CatalogError))
    if not builder.items:
        raise CatalogError(
            f"no item of {src} matched a rule of {mapping_name}",
            hint="the keys of 'map:' must name CNCF categories or 'category / subcategory'",
        )
    order = list(dict.fromkeys(layer for layer, _ in rules.values()))
    text = dump(builder.tree(order), header=HEADER)
    imported, problems = check_text(text, str(output or "<import>"))
    if problems:
        raise _invalid(str(output or "<import>"), problems)
    if output is not None:
        atomic_write(output, text)
    skipped = tuple(Skipped(path, count) for path, count in builder.skipped.items())
    return ImportResult(
        source=str(src),
        mapping=mapping_name,
        output=Path(output) if output is not None else None,
        layers=len(imported.layers),
        tools=len(imported.tools),
        skipped=skipped,
        warnings=tuple(builder.warnings),
        content=None if output is not None else text,
    )
