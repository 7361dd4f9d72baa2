"""Host filters: the aws CLI ``--filter`` syntax and a short form, applied the same way to every provider.

``Name=tag:Name,Values=web*,db*`` and ``tag:Name=web*,db*`` are the same filter.
Values of one filter are OR-ed, filters are AND-ed. Globs are AWS globs: ``*``,
``?`` and ``\\`` to escape, case-sensitive. States are the normalised ones
(running, stopped, ...); ``state-code`` uses the EC2 codes (16 = running).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from stackrig.errors import UsageError
from stackrig.fleet._model import Host

__all__ = ["FIELDS", "STATE_FIELDS", "Filter", "effective_state", "parse_filter", "state_filter"]

Getter = Callable[[Host], Sequence[str]]


def _one(value: str | int | None) -> tuple[str, ...]:
    return () if value is None else (str(value),)


FIELDS: dict[str, Getter] = {
    "state": lambda h: (h.state, *_one(h.raw_state)),
    "state-code": lambda h: _one(h.state_code),
    "id": lambda h: (h.instance_id,),
    "name": lambda h: _one(h.name),
    "type": lambda h: _one(h.instance_type),
    "region": lambda h: _one(h.region),
    "zone": lambda h: _one(h.zone),
    "private-ip": lambda h: _one(h.private_address),
    "public-ip": lambda h: _one(h.public_address),
    "key-name": lambda h: _one(h.key_name),
    "image": lambda h: _one(h.image),
    "provider": lambda h: (h.provider,),
    "tag-key": lambda h: tuple(h.tags),
}

ALIASES = {
    "instance-state-name": "state",
    "instance-state-code": "state-code",
    "instance-id": "id",
    "instance-type": "type",
    "availability-zone": "zone",
    "private-ip-address": "private-ip",
    "ip-address": "public-ip",
    "image-id": "image",
}

_AWS_FORM = re.compile(r"^Name=(?P<name>[^,]+),Values=(?P<values>.*)$", re.DOTALL)


def glob_regex(pattern: str) -> re.Pattern[str]:
    """An AWS filter glob as a regex: ``*`` any run, ``?`` one character, ``\\`` escapes."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if char == "*" else "." if char == "?" else re.escape(char))
        i += 1
    return re.compile("".join(out), re.DOTALL)


@dataclass(frozen=True, slots=True)
class Filter:
    """One filter: a field (``tag:KEY`` or a name of :data:`FIELDS`) and the globs it accepts."""

    spec: str
    field: str
    values: tuple[str, ...]

    def _getter(self) -> Getter:
        if self.field.startswith("tag:"):
            key = self.field[4:]
            return lambda h: _one(h.tags.get(key))
        return FIELDS[self.field]

    def matcher(self) -> Callable[[Host], bool]:
        getter = self._getter()
        patterns = [glob_regex(v) for v in self.values]

        def match(host: Host) -> bool:
            return any(p.fullmatch(candidate) for candidate in getter(host) for p in patterns)

        return match


def parse_filter(spec: str) -> Filter:
    """Parse ``Name=X,Values=a,b`` or ``X=a,b``; an unknown field is a USAGE error."""
    aws = _AWS_FORM.match(spec)
    if aws:
        name, values = aws.group("name"), aws.group("values")
    else:
        name, sep, values = spec.partition("=")
        if not sep:
            raise UsageError(
                f"filter {spec!r} is not NAME=VALUES",
                hint="write it as tag:Name=web* or Name=tag:Name,Values=web* (aws CLI syntax)",
            )
    name = ALIASES.get(name.strip(), name.strip())
    if not (name.startswith("tag:") and len(name) > 4) and name not in FIELDS:
        known = ", ".join(["tag:KEY", *FIELDS, *ALIASES])
        raise UsageError(f"filter {spec!r}: unknown field {name!r}", hint=f"known fields: {known}")
    parts = tuple(v for v in values.split(",") if v != "")
    if not parts:
        raise UsageError(f"filter {spec!r} has no values")
    return Filter(spec=spec, field=name, values=parts)


#: Filter fields that select by state: a --filter on one of them replaces the default --state.
STATE_FIELDS = frozenset({"state", "state-code"})
DEFAULT_STATE = "running"


def effective_state(state: str | None, filters: Sequence[str]) -> str:
    """The ``--state`` to apply: as given; unset, ``running`` unless a ``--filter`` names the state.

    ``--filter instance-state-code=80`` (or ``state=stopped``) asks for those hosts: the default
    must not remove them again. An explicit ``--state`` is the user's own and stays.
    """
    if state is not None:
        return state
    if any(parse_filter(spec).field in STATE_FIELDS for spec in filters):
        return "any"
    return DEFAULT_STATE


def state_filter(state: str) -> Filter | None:
    """The default state filter (``--state``): ``any`` lifts it."""
    if state == "any":
        return None
    return Filter(spec=f"state={state}", field="state", values=tuple(state.split(",")))
