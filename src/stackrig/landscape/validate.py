"""Check a landscape.yml (CNCF layout) and build a :class:`Catalog` from it, listing every problem.

Each problem has a stable kebab id, in the manner of ansible-lint rule ids:

==================== ==========================================================
``yaml-syntax``      the text is not YAML (or uses a tag safe loading refuses)
``not-a-catalog``    no top-level ``landscape:`` (or ``categories:``) list
``bad-type``         a value of the wrong kind (a list where text belongs, ...)
``missing-field``    a required field is absent (name, homepage_url, items, ...)
``empty-field``      a field that must hold text is empty
``control-character`` text with control characters (an escape sequence could drive a terminal)
``duplicate-key``    the same key twice in one mapping (YAML keeps only the last)
``bad-name``         a category name with a ``/`` (second_path could not name it)
``duplicate-layer``  two categories with the same name
``duplicate-subcategory`` two subcategories with the same name in one category
``duplicate-name``   two tools with the same name (case-insensitive)
``unknown-layer``    a ``second_path`` naming no category of the file
``unknown-subcategory`` a ``second_path`` naming no subcategory of that category
``bad-url``          a homepage_url / repo_url that is not an http(s) URL
``bad-status``       a status other than active, archived, retired
==================== ==========================================================
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from stackrig.landscape._yaml import LineList, LineMap, YamlSyntaxError, load
from stackrig.landscape.model import Catalog, Layer, Placement, Problem, Status, Tool, slug

__all__ = ["PROBLEM_CODES", "check_text", "check_tree", "url_problem"]

PROBLEM_CODES = (
    "yaml-syntax",
    "not-a-catalog",
    "bad-type",
    "missing-field",
    "empty-field",
    "control-character",
    "duplicate-key",
    "bad-name",
    "duplicate-layer",
    "duplicate-subcategory",
    "duplicate-name",
    "unknown-layer",
    "unknown-subcategory",
    "bad-url",
    "bad-status",
)

_HOST = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
_URL_FORBIDDEN = set('<>"{}|\\^`')


def url_problem(value: object) -> str | None:
    """Why ``value`` is not a usable http(s) URL, or None when it is one."""
    if not isinstance(value, str):
        return "must be text"
    if not value:
        return "is empty"
    if any(ch.isspace() or ord(ch) < 32 or ch in _URL_FORBIDDEN for ch in value):
        return "contains spaces or characters URLs may not hold"
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https"):
        return "must start with http:// or https://"
    host = parts.hostname or ""
    try:
        parts.port  # noqa: B018 - urlsplit checks the port only when asked
    except ValueError:
        return "has a bad port"
    if ":" in host:  # IPv6 literal
        return None
    if not host or not _HOST.fullmatch(host) or ("." not in host and host != "localhost"):
        return "has no valid host name"
    return None


@dataclass
class _PendingTool:
    name: str
    layer: str
    subcategory: str
    homepage_url: str
    repo_url: str | None
    description: str
    status: Status
    line: int
    second: list[tuple[str, int]] = field(default_factory=list)


@dataclass
class _Checker:
    problems: list[Problem] = field(default_factory=list)
    layers: dict[str, tuple[str, list[str], int]] = field(default_factory=dict)  # casefold → name, subs, line
    tools: list[_PendingTool] = field(default_factory=list)
    names: dict[str, int] = field(default_factory=dict)

    def add(self, code: str, message: str, line: int | None) -> None:
        self.problems.append(Problem(code, message, line))

    def dupes(self, node: LineMap, what: str) -> None:
        for key, line in node.duplicate_keys:
            self.add("duplicate-key", f"{what}: key {key!r} appears twice (YAML keeps only the last)", line)

    def text(self, node: LineMap, key: str, what: str, *, required: bool) -> str | None:
        if key not in node or node[key] is None:
            if required:
                self.add("missing-field", f"{what} has no {key}", node.line)
            return None
        value = node[key]
        line = node.key_lines.get(key, node.line)
        if not isinstance(value, str):
            self.add("bad-type", f"{what}: {key} must be text, not {_kind(value)} (quote it)", line)
            return None
        if not value.strip():
            self.add("empty-field", f"{what}: {key} is empty", line)
            return None
        allowed = "\n\t" if key == "description" else ""
        if any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in value):
            self.add(
                "control-character",
                f"{what}: {key} {value!r} holds control characters (terminal escapes, line breaks)",
                line,
            )
            return None
        return value

    def seq(self, node: LineMap, key: str, what: str) -> LineList | None:
        if key not in node or node[key] is None:
            self.add("missing-field", f"{what} has no {key} list", node.line)
            return None
        value = node[key]
        if not isinstance(value, LineList):
            line = node.key_lines.get(key, node.line)
            self.add("bad-type", f"{what}: {key} must be a list, not {_kind(value)}", line)
            return None
        return value

    def entries(self, seq: LineList, what: str) -> list[LineMap]:
        found = []
        for value, line in zip(seq, seq.item_lines, strict=True):
            if isinstance(value, LineMap):
                found.append(value)
            else:
                self.add("bad-type", f"each {what} must be a mapping, not {_kind(value)}", line)
        return found

    # ------------------------------------------------------------------ walk

    def root(self, tree: Any) -> None:
        if not isinstance(tree, LineMap) or not any(k in tree for k in ("landscape", "categories")):
            self.add("not-a-catalog", "no top-level 'landscape:' list of categories", 1)
            return
        self.dupes(tree, "top level")
        key = "landscape" if "landscape" in tree else "categories"
        categories = self.seq(tree, key, "the catalog")
        if categories is None:
            return
        for category in self.entries(categories, "category"):
            self.category(category)
        for tool in self.tools:
            for raw, line in tool.second:
                self.second_path(tool, raw, line)

    def category(self, node: LineMap) -> None:
        name = self.text(node, "name", "category", required=True)
        what = f"category {name!r}" if name else "category"
        self.dupes(node, what)
        subs: list[str] = []
        if name is not None and "/" in name:
            self.add(
                "bad-name",
                f"category {name!r} has a '/', which second_path uses between layer and subcategory",
                node.key_lines["name"],
            )
        if name is not None:
            first = self.layers.get(name.casefold())
            if first is not None:
                self.add(
                    "duplicate-layer",
                    f"category {name!r} appears twice (first at line {first[2]})",
                    node.line,
                )
            else:
                self.layers[name.casefold()] = (name, subs, node.line)
        subcategories = self.seq(node, "subcategories", what)
        if subcategories is None:
            return
        for sub in self.entries(subcategories, "subcategory"):
            self.subcategory(sub, name, subs)

    def subcategory(self, node: LineMap, layer: str | None, subs: list[str]) -> None:
        name = self.text(node, "name", "subcategory", required=True)
        self.dupes(node, f"subcategory {name!r}" if name else "subcategory")
        if name is not None:
            if name.casefold() in (s.casefold() for s in subs):
                self.add(
                    "duplicate-subcategory", f"subcategory {name!r} appears twice in {layer!r}", node.line
                )
            else:
                subs.append(name)
        what = f"subcategory {name!r}" if name else "subcategory"
        items = self.seq(node, "items", what)
        if items is None:
            return
        for item in self.entries(items, "item"):
            self.item(item, layer, name)

    def item(self, node: LineMap, layer: str | None, sub: str | None) -> None:
        name = self.text(node, "name", "item", required=True)
        what = f"item {name!r}" if name else "item"
        self.dupes(node, what)
        homepage = self.text(node, "homepage_url", what, required=True)
        repo = self.text(node, "repo_url", what, required=False)
        description = self.text(node, "description", what, required=False)
        status_text = self.text(node, "status", what, required=False)
        for key, value in (("homepage_url", homepage), ("repo_url", repo)):
            reason = url_problem(value) if value is not None else None
            if reason:
                self.add("bad-url", f"{what}: {key} {value!r} {reason}", node.key_lines[key])
        status = Status.ACTIVE
        if status_text is not None:
            try:
                status = Status(status_text.strip().lower())
            except ValueError:
                allowed = ", ".join(s.value for s in Status)
                self.add(
                    "bad-status",
                    f"{what}: status {status_text!r} is not one of {allowed}",
                    node.key_lines["status"],
                )
        second = self.second_list(node, what)
        if name is None:
            return
        first = self.names.get(name.casefold())
        if first is not None:
            self.add(
                "duplicate-name",
                f"tool {name!r} appears twice (first at line {first})",
                node.key_lines["name"],
            )
            return
        self.names[name.casefold()] = node.key_lines["name"]
        if homepage is None or layer is None or sub is None or url_problem(homepage):
            return
        self.tools.append(
            _PendingTool(
                name,
                layer,
                sub,
                homepage,
                repo if repo and not url_problem(repo) else None,
                description or "",
                status,
                node.line,
                second,
            )
        )

    def second_list(self, node: LineMap, what: str) -> list[tuple[str, int]]:
        raw = node.get("second_path")
        line = node.key_lines.get("second_path", node.line)
        if raw is None:
            return []
        if isinstance(raw, str):
            return [(raw, line)]
        if not isinstance(raw, LineList):
            self.add("bad-type", f"{what}: second_path must be a list of 'Layer / Subcategory' texts", line)
            return []
        found = []
        for value, value_line in zip(raw, raw.item_lines, strict=True):
            if isinstance(value, str) and value.strip():
                found.append((value, value_line))
            else:
                self.add(
                    "bad-type",
                    f"{what}: second_path entry {value!r} must be 'Layer / Subcategory'",
                    value_line,
                )
        return found

    def second_path(self, tool: _PendingTool, raw: str, line: int) -> None:
        layer_name, _, sub_name = (part.strip() for part in raw.partition("/"))
        known = self.layers.get(layer_name.casefold())
        if known is None:
            names = ", ".join(repr(n) for n, _, _ in self.layers.values())
            self.add(
                "unknown-layer",
                f"item {tool.name!r}: second_path {raw!r} names no layer (layers: {names})",
                line,
            )
            return
        if sub_name and sub_name.casefold() not in (s.casefold() for s in known[1]):
            self.add(
                "unknown-subcategory",
                f"item {tool.name!r}: second_path {raw!r}: {known[0]!r} has no subcategory {sub_name!r}",
                line,
            )

    # ------------------------------------------------------------------ result

    def catalog(self, source: str) -> Catalog:
        tools: list[Tool] = []
        for p in self.tools:
            places: list[Placement] = []
            for raw, _ in p.second:
                layer_name, _, sub_name = (part.strip() for part in raw.partition("/"))
                known = self.layers.get(layer_name.casefold())
                if known is None:
                    continue
                sub = next((s for s in known[1] if s.casefold() == sub_name.casefold()), None)
                places.append(Placement(known[0], sub))
            layers = [p.layer]
            layers += [pl.layer for pl in places if pl.layer not in layers]
            layers = list(dict.fromkeys(layers))
            tools.append(
                Tool(
                    name=p.name,
                    layer=p.layer,
                    subcategory=p.subcategory,
                    homepage_url=p.homepage_url,
                    repo_url=p.repo_url,
                    description=p.description,
                    status=p.status,
                    second_path=tuple(places),
                    layers=tuple(layers),
                    line=p.line,
                )
            )
        layer_objs = []
        for name, subs, line in self.layers.values():
            members = [t for t in tools if name in t.layers]
            layer_objs.append(
                Layer(
                    name=name,
                    subcategories=tuple(subs),
                    slug=slug(name),
                    tools=len(members),
                    overlap_tools=sum(1 for t in members if t.overlaps),
                    line=line,
                )
            )
        return Catalog(source=source, layers=tuple(layer_objs), tools=tuple(tools))


def _kind(value: object) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return f"true/false ({value})"
    if isinstance(value, int | float):
        return f"a number ({value})"
    return type(value).__name__


def check_tree(tree: Any, source: str) -> tuple[Catalog, tuple[Problem, ...]]:
    """Check an already parsed tree; the catalog holds what could be read despite problems."""
    checker = _Checker()
    checker.root(tree)
    problems = sorted(checker.problems, key=lambda p: p.line if p.line is not None else 0)
    return checker.catalog(source), tuple(problems)


def check_text(text: str, source: str) -> tuple[Catalog, tuple[Problem, ...]]:
    """Parse and check a landscape.yml text; YAML errors become one ``yaml-syntax`` problem."""
    try:
        tree = load(text)
    except YamlSyntaxError as exc:
        return Catalog(source=source, layers=()), (Problem("yaml-syntax", exc.message, exc.line),)
    return check_tree(tree, source)
