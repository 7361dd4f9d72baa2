"""Variables in compose files, as the Compose Specification's interpolation rules say.

``$VAR`` and ``${VAR}``; ``${VAR:-default}`` (unset or empty) and ``${VAR-default}``
(unset); ``${VAR:?message}`` and ``${VAR?message}`` (a USAGE error quoting the
message); ``${VAR:+alt}`` and ``${VAR+alt}``; defaults and messages may hold
variables themselves; ``$$`` is a literal ``$``. Any other ``$`` is an error, as
in Docker Compose ("You may need to escape any $ with another $").

Values come from the environment first, then from the env files (``--env-file``,
later files winning), or from ``.env`` beside the compose file when no
``--env-file`` is given. Values of variables whose names look secret are
remembered so that no output ever shows them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stackrig._io import read_text
from stackrig.errors import UsageError
from stackrig.migrate._redact import is_secret_variable
from stackrig.migrate._yaml import Loc, Node, loc_of

__all__ = ["Variables", "interpolate", "parse_env_file", "read_env_file", "substitute"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS = (":-", ":?", ":+", "-", "?", "+")


class InterpolationError(UsageError):
    """A ``$`` that Compose would not accept, or a required variable without a value."""


@dataclass
class Variables:
    """The values interpolation sees, and what it found out while using them."""

    values: dict[str, str]
    sources: dict[str, str] = field(default_factory=dict)
    unset: dict[str, list[Loc | None]] = field(default_factory=dict)
    secret_values: dict[str, str] = field(default_factory=dict)  # value -> variable name
    used_at: dict[Loc, set[str]] = field(default_factory=dict)  # where -> variables interpolated there

    def secret_used_at(self, loc: Loc | None) -> str | None:
        """A secret-looking variable interpolated at ``loc`` (with a non-empty value), if any."""
        for name in sorted(self.used_at.get(loc, ())) if loc is not None else ():
            if is_secret_variable(name) and self.values.get(name):
                return name
        return None

    def lookup(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is not None and value and is_secret_variable(name):
            self.secret_values[value] = name
        return value

    def child(self, values: Mapping[str, str]) -> Variables:
        """Variables for an included project: its own values, the same record of findings."""
        return Variables(dict(values), self.sources, self.unset, self.secret_values, self.used_at)


# ------------------------------------------------------------------ the template language


def substitute(text: str, lookup: Callable[[str], str | None], on_unset: Callable[[str], None]) -> str:
    """Interpolate one string; raise InterpolationError for a malformed ``$`` or a ``?`` variable."""
    out, _ = _parse(text, 0, lookup, on_unset, stop_at_brace=False)
    return out


def _parse(
    text: str,
    pos: int,
    lookup: Callable[[str], str | None],
    on_unset: Callable[[str], None],
    *,
    stop_at_brace: bool,
) -> tuple[str, int]:
    out: list[str] = []
    n = len(text)
    while pos < n:
        ch = text[pos]
        if stop_at_brace and ch == "}":
            return "".join(out), pos
        if ch != "$":
            out.append(ch)
            pos += 1
            continue
        nxt = text[pos + 1] if pos + 1 < n else ""
        if nxt == "$":
            out.append("$")
            pos += 2
        elif nxt == "{":
            value, pos = _braced(text, pos + 2, lookup, on_unset)
            out.append(value)
        else:
            match = _NAME.match(text, pos + 1)
            if match is None:
                raise InterpolationError(f"invalid interpolation format: {text!r}")
            found = lookup(match.group(0))
            if found is None:
                on_unset(match.group(0))
            out.append(found or "")
            pos = match.end()
    if stop_at_brace:
        raise InterpolationError(f"invalid interpolation format: {text!r} (a '}}' is missing)")
    return "".join(out), pos


def _skip(text: str, pos: int) -> int:
    """The index of the '}' that closes the argument starting at ``pos`` (nested ${} skipped)."""
    depth = 0
    n = len(text)
    while pos < n:
        if text.startswith("$$", pos):
            pos += 2
            continue
        if text.startswith("${", pos):
            depth += 1
            pos += 2
            continue
        if text[pos] == "}":
            if depth == 0:
                return pos
            depth -= 1
        pos += 1
    raise InterpolationError(f"invalid interpolation format: {text!r} (a '}}' is missing)")


def _braced(
    text: str, pos: int, lookup: Callable[[str], str | None], on_unset: Callable[[str], None]
) -> tuple[str, int]:
    match = _NAME.match(text, pos)
    if match is None:
        raise InterpolationError(f"invalid interpolation format: {text!r}")
    name = match.group(0)
    pos = match.end()
    if pos < len(text) and text[pos] == "}":
        value = lookup(name)
        if value is None:
            on_unset(name)
            value = ""
        return value, pos + 1
    operator = next((op for op in _OPERATORS if text.startswith(op, pos)), None)
    if operator is None:
        raise InterpolationError(f"invalid interpolation format: {text!r}")
    start = pos + len(operator)
    end = _skip(text, start)
    value = lookup(name)
    present = value is not None if operator in ("-", "?", "+") else bool(value)

    def argument() -> str:
        arg, _ = _parse(text[start:end] + "}", 0, lookup, on_unset, stop_at_brace=True)
        return arg

    if operator in (":-", "-"):
        result = value if present and value is not None else argument()
    elif operator in (":+", "+"):
        result = argument() if present else ""
    else:
        if not present or value is None:
            message = argument() or "a value is required"
            raise InterpolationError(f"required variable {name} is missing a value: {message}")
        result = value
    return result, end + 1


# ------------------------------------------------------------------ whole documents


def interpolate(document: Any, variables: Variables, *, skip_keys: tuple[str, ...] = ()) -> Any:
    """Interpolate every string value of a loaded document in place; keys stay as written."""

    def walk(container: Any, key: Any) -> None:
        value = container[key]
        if isinstance(value, str):
            if "$" not in value:
                return
            where = loc_of(container, key)

            def unset(name: str) -> None:
                variables.unset.setdefault(name, []).append(where)

            def lookup(name: str) -> str | None:
                if where is not None:
                    variables.used_at.setdefault(where, set()).add(name)
                return variables.lookup(name)

            try:
                container[key] = substitute(value, lookup, unset)
            except InterpolationError as exc:
                raise InterpolationError(
                    f"{where or 'compose file'}: {exc}",
                    hint="escape a literal $ as $$, or set the variable (environment, .env, --env-file)",
                ) from None
        elif isinstance(value, dict):
            for sub in list(value):
                if sub not in skip_keys:
                    walk(value, sub)
        elif isinstance(value, list):
            for index in range(len(value)):
                walk(value, index)

    holder = Node({"": document})
    walk(holder, "")
    return holder[""]


# ------------------------------------------------------------------ env files

_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*[=:][ \t]?(.*)$", re.DOTALL)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$"}


def parse_env_file(
    text: str, *, name: str, lookup: Callable[[str], str | None] | None = None
) -> dict[str, str | None]:
    """``KEY=VALUE`` lines as Compose reads them (``export``, quotes, comments, ``${VAR}`` in values).

    A bare ``KEY`` maps to None (take it from the environment). A malformed line is a UsageError
    naming it.
    """
    out: dict[str, str | None] = {}
    lines = text.replace("\r\n", "\n").split("\n")
    index = 0
    while index < len(lines):
        raw = lines[index]
        number = index + 1
        index += 1
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _LINE.match(raw)
        if match is None:
            bare = stripped.removeprefix("export ").strip()
            if _NAME.fullmatch(bare):
                out[bare] = None
                continue
            raise UsageError(f"{name}:{number}: not a KEY=VALUE line")
        key, rest = match.group(1), match.group(2)
        quote = rest[:1]
        if quote in ("'", '"'):
            body = rest[1:]
            while not _closed(body, quote) and index < len(lines):
                body += "\n" + lines[index]
                index += 1
            if not _closed(body, quote):
                raise UsageError(f"{name}:{number}: {key}: the quoted value is not closed")
            end = _close_index(body, quote)
            value = body[:end]
            if quote == '"':
                value = re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), value)
                value = _expand(value, out, lookup, name, number)
        else:
            value = re.split(r"\s+#", rest, maxsplit=1)[0].strip()
            value = _expand(value, out, lookup, name, number)
        out[key] = value
    return out


def _closed(body: str, quote: str) -> bool:
    return _close_index(body, quote) >= 0


def _close_index(body: str, quote: str) -> int:
    pos = 0
    while pos < len(body):
        if quote == '"' and body[pos] == "\\":
            pos += 2
            continue
        if body[pos] == quote:
            return pos
        pos += 1
    return -1


def _expand(
    value: str,
    earlier: Mapping[str, str | None],
    lookup: Callable[[str], str | None] | None,
    name: str,
    number: int,
) -> str:
    if "$" not in value:
        return value

    def find(var: str) -> str | None:
        found = lookup(var) if lookup is not None else None
        return found if found is not None else earlier.get(var)

    try:
        return substitute(value, find, lambda _var: None)
    except InterpolationError as exc:
        raise InterpolationError(f"{name}:{number}: {exc}") from None


def read_env_file(path: Path, *, lookup: Callable[[str], str | None] | None = None) -> dict[str, str | None]:
    """Read and parse one env file (a UsageError names a missing or malformed file)."""
    return parse_env_file(read_text(path, what="env file"), name=str(path), lookup=lookup)
