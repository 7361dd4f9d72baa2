"""Compose YAML as Docker Compose reads it, with the file and line of every key.

Docker Compose parses YAML 1.2 (go-yaml v3): ``no``, ``on`` and ``22:22`` are
strings there, not the booleans and base-60 integers of PyYAML's YAML 1.1
resolver, and timestamps stay strings. Duplicate keys are errors. Anchors,
aliases and ``<<`` merge keys work as in YAML; the Compose tags ``!reset`` and
``!override`` are kept as markers for the merge of several files.

Every mapping is a :class:`Node` and every sequence a :class:`Seq`: plain
``dict``/``list`` subclasses that remember where each key or item was written,
so warnings and errors can name the line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from stackrig.errors import UsageError

__all__ = [
    "Loc",
    "Node",
    "Override",
    "Reset",
    "Seq",
    "at",
    "display_name",
    "load_yaml",
    "loc_of",
    "mapping",
    "plain",
    "unshare",
]


@dataclass(frozen=True, slots=True)
class Loc:
    """Where a key or item was written."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


class Node(dict[Any, Any]):
    """A mapping that knows the location of each key."""

    __slots__ = ("loc", "locs")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.locs: dict[Any, Loc] = {}
        self.loc: Loc | None = None


class Seq(list[Any]):
    """A sequence that knows the location of each item."""

    __slots__ = ("loc", "locs")

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.locs: list[Loc | None] = []
        self.loc: Loc | None = None


class Reset:
    """``!reset``: drop the value inherited from an earlier file."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "!reset"


@dataclass(frozen=True, slots=True)
class Override:
    """``!override VALUE``: replace the earlier file's value instead of merging with it."""

    value: Any


def loc_of(container: Any, key: Any) -> Loc | None:
    """The location of ``container[key]`` (a key of a Node or an index of a Seq), if known."""
    if isinstance(container, Node):
        return container.locs.get(key, container.loc)
    if isinstance(container, Seq) and isinstance(key, int):
        if 0 <= key < len(container.locs) and container.locs[key] is not None:
            return container.locs[key]
        return container.loc
    return None


def at(loc: Loc | None) -> str:
    """``file:line: `` for the start of a message, or nothing when the place is not known."""
    return f"{loc}: " if loc is not None else ""


def mapping(container: Any, key: str) -> dict[str, Any]:
    """``container[key]`` when it is a mapping, else an empty one."""
    value = container.get(key) if isinstance(container, dict) else None
    return value if isinstance(value, dict) else {}


def plain(value: Any) -> Any:
    """The same tree as plain dicts and lists (for yaml.safe_dump and json)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, Override):
        return plain(value.value)
    return value


# ------------------------------------------------------------------ the loader


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core scalars and Compose's tags."""

    file_name = "compose file"


# YAML 1.2 core schema: only true/false are booleans, no base-60 numbers, no timestamps.
_Loader.yaml_implicit_resolvers = {}
for _tag, _pattern, _first in (
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        "tag:yaml.org,2002:float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+0123456789.",
    ),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:merge", r"^(?:<<)$", "<"),
):
    _Loader.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))


def _int(loader: _Loader, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node))
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text)


def _where(loader: _Loader, mark: Any) -> Loc:
    return Loc(loader.file_name, mark.line + 1)


def _mapping(loader: _Loader, node: yaml.MappingNode) -> Iterator[Node]:
    data = Node()
    data.loc = _where(loader, node.start_mark)
    yield data
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
            continue
        key = key_node.value
        if key in seen:
            raise UsageError(
                f"{loader.file_name}:{key_node.start_mark.line + 1}: key {key!r} is already defined "
                f"at line {seen[key]}"
            )
        seen[key] = key_node.start_mark.line + 1
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key is None or isinstance(key, list | dict):
            raise UsageError(f"{_where(loader, key_node.start_mark)}: a mapping key must be a plain value")
        if not isinstance(key, str):
            key = str(key).lower() if isinstance(key, bool) else str(key)  # Compose keys are strings
        data[key] = loader.construct_object(value_node, deep=True)
        data.locs[key] = _where(loader, key_node.start_mark)


def _sequence(loader: _Loader, node: yaml.SequenceNode) -> Iterator[Seq]:
    data = Seq()
    data.loc = _where(loader, node.start_mark)
    yield data
    for item in node.value:
        data.append(loader.construct_object(item, deep=True))
        data.locs.append(_where(loader, item.start_mark))


def _reset(loader: _Loader, node: yaml.Node) -> Reset:
    return Reset()


def _override(loader: _Loader, node: yaml.Node) -> Override:
    if isinstance(node, yaml.MappingNode):
        return Override(next(_finish(_mapping(loader, node))))
    if isinstance(node, yaml.SequenceNode):
        return Override(next(_finish(_sequence(loader, node))))
    return Override(loader.construct_scalar(node))  # type: ignore[arg-type]


def _finish(gen: Iterator[Any]) -> Iterator[Any]:
    value = next(gen)
    for _ in gen:
        pass
    yield value


_Loader.add_constructor("tag:yaml.org,2002:int", _int)
_Loader.add_constructor("tag:yaml.org,2002:map", _mapping)
_Loader.add_constructor("tag:yaml.org,2002:seq", _sequence)
_Loader.add_constructor("!reset", _reset)
_Loader.add_constructor("!override", _override)


def _string(loader: _Loader, node: yaml.ScalarNode) -> str:
    return str(loader.construct_scalar(node))


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _string)


def load_yaml(text: str, *, name: str) -> Any:
    """Parse one YAML document as Compose does; a UsageError names the file and line."""
    try:
        loader = _Loader(text)
    except yaml.YAMLError as exc:  # the reader refuses control characters before parsing starts
        problem = getattr(exc, "reason", None) or "not valid YAML"
        raise UsageError(f"{name}: not valid YAML ({problem})") from exc
    loader.file_name = name
    try:
        node = loader.get_single_node()
        return unshare(loader.construct_document(node)) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = exc.problem or "not valid YAML"
        raise UsageError(f"{name}{where}: not valid YAML ({problem})") from exc
    except yaml.YAMLError as exc:
        raise UsageError(f"{name}: not valid YAML ({exc})") from exc
    except RecursionError as exc:
        raise UsageError(f"{name}: YAML nested too deeply") from exc
    finally:
        loader.dispose()


_MAX_NODES = 200_000


def unshare(value: Any) -> Any:
    """A copy in which no two places share a container (YAML aliases share them), locations kept.

    Refuses alias bombs (a few lines that expand to millions of nodes) and recursive aliases.
    """
    count = [0]

    def copy(obj: Any, depth: int) -> Any:
        count[0] += 1
        if count[0] > _MAX_NODES or depth > 200:
            raise UsageError("the compose file expands to too many values (aliases of aliases?)")
        if isinstance(obj, Node):
            out = Node((k, copy(v, depth + 1)) for k, v in obj.items())
            out.locs, out.loc = dict(obj.locs), obj.loc
            return out
        if isinstance(obj, Seq):
            seq = Seq(copy(v, depth + 1) for v in obj)
            seq.locs, seq.loc = list(obj.locs), obj.loc
            return seq
        if isinstance(obj, dict):
            return Node((k, copy(v, depth + 1)) for k, v in obj.items())
        if isinstance(obj, list):
            return Seq(copy(v, depth + 1) for v in obj)
        if isinstance(obj, Override):
            return Override(copy(obj.value, depth + 1))
        return obj

    return copy(value, 0)


def display_name(path: Path, base: Path | None = None) -> str:
    """A short name for messages: relative to ``base`` when inside it."""
    if base is not None:
        try:
            return str(path.resolve().relative_to(base.resolve()))
        except ValueError:
            pass
    return str(path)
