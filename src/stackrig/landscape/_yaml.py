"""Safe YAML in and out, keeping the line of every mapping entry and list element.

Loading goes through a subclass of :class:`yaml.SafeLoader` (no Python tags, no
object construction); mappings come back as :class:`LineMap` (a ``dict`` that
knows the line of each key and of itself) and lists as :class:`LineList`.
Dumping writes the CNCF layout (``- category:`` / ``- subcategory:`` /
``- item:`` markers) through :func:`yaml.safe_dump`.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

try:
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

__all__ = ["LineList", "LineMap", "YamlSyntaxError", "dump", "load", "plain"]


class LineMap(dict[Any, Any]):
    """A mapping from YAML with the line (1-based) of itself and of each key."""

    line: int
    key_lines: dict[Any, int]
    duplicate_keys: list[tuple[Any, int]]


class LineList(list[Any]):
    """A sequence from YAML with the line (1-based) of itself and of each element."""

    line: int
    item_lines: list[int]


class YamlSyntaxError(Exception):
    """The text is not YAML (or uses a tag safe loading refuses)."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


class _Loader(_BaseLoader):
    """Safe loading (libyaml's parser when PyYAML has it) that records lines.

    It refuses every python/* tag like :class:`yaml.SafeLoader`, and refuses aliases
    (``*name``, also in ``<<: *name`` merge keys): a catalog does not need them, and a
    few nested ones can make a small file expand into billions of entries for the
    checker to walk ("billion laughs").
    """

    def get_single_data(self) -> Any:
        node = self.get_single_node()
        if node is None:
            return None
        _refuse_aliases(node)
        return self.construct_document(node)


def _refuse_aliases(root: yaml.Node) -> None:
    """An alias makes the composed graph reuse a node: find any node reached twice."""
    seen: set[int] = set()
    stack: list[yaml.Node] = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            raise yaml.composer.ComposerError(
                None,
                None,
                "aliases (*name) are not allowed in a catalog file; the anchored value starts here",
                node.start_mark,
            )
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.extend((key, value))


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> LineMap:
    loader.flatten_mapping(node)
    result = LineMap()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    result.duplicate_keys = []
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError as exc:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                "found an unhashable key",
                key_node.start_mark,
            ) from exc
        line = key_node.start_mark.line + 1
        if key in result:
            result.duplicate_keys.append((key, line))
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = line
    return result


def _construct_list(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_list)


def load(text: str) -> Any:
    """Parse ``text`` safely; raise :class:`YamlSyntaxError` with the line on any YAML problem."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a safe loader (see its docstring)
    except yaml.MarkedYAMLError as exc:
        raise YamlSyntaxError(*_explain(exc, text)) from exc
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(f"not valid YAML: {exc}", None) from exc
    except RecursionError as exc:
        raise YamlSyntaxError("not valid YAML: nested too deeply", None) from exc


def _explain(exc: yaml.MarkedYAMLError, text: str) -> tuple[str, int | None]:
    """Message and line of a YAML error.

    Scanner errors ("while scanning a simple key / a quoted scalar") and anything left
    open at the end of the file are found where the parser gave up, often a line or the
    whole file later; the line that needs fixing is where the key, scalar or bracket
    began (the context mark). Otherwise the problem mark is it.
    """
    problem = exc.problem_mark.line + 1 if exc.problem_mark is not None else None
    context = exc.context_mark.line + 1 if exc.context_mark is not None else None
    at_end = exc.problem_mark is not None and exc.problem_mark.index >= len(text.rstrip())
    use_context = context is not None and ((exc.context or "").startswith("while scanning") or at_end)
    line = context if use_context else problem
    other = problem if use_context else context
    reason = " ".join(part for part in (exc.context, exc.problem) if part) or "not valid YAML"
    if other is not None and other != line:
        reason += f" (see also line {other})"
    return reason, line if line is not None else other


def plain(value: Any) -> Any:
    """A copy made of plain dicts and lists (what :func:`yaml.safe_dump` accepts)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


class _Dumper(yaml.SafeDumper):
    """SafeDumper that indents lists under their key, as CNCF landscape files do."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


_MARKER = re.compile(r"^(\s*- (?:category|subcategory|item)): null$", re.MULTILINE)


def dump(document: Any, *, header: str = "") -> str:
    """YAML text of ``document`` in the CNCF style (``- item:`` rather than ``- item: null``)."""
    text = yaml.dump(
        plain(document),
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
    )
    return header + _MARKER.sub(r"\1:", text)
