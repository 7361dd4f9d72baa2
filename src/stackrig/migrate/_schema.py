"""The Compose Specification JSON schema (vendored, see data/README.md) and byte sizes."""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

from stackrig import _units
from stackrig.errors import UsageError

__all__ = [
    "ComposeSchemaError",
    "compose_schema",
    "parse_bytes",
    "schema_errors",
    "schema_errors_at",
    "validate_compose",
]

SCHEMA_FILE = "compose-spec.schema.json"


class ComposeSchemaError(UsageError):
    """A compose document that the Compose Specification schema rejects."""


@functools.cache
def compose_schema() -> dict[str, Any]:
    text = resources.files("stackrig.migrate").joinpath("data", SCHEMA_FILE).read_text(encoding="utf-8")
    doc: dict[str, Any] = json.loads(text)
    return doc


@functools.cache
def _validator() -> Any:
    import jsonschema

    schema = compose_schema()
    # The file declares draft-07 as "https://json-schema.org/draft-07/schema", a spelling jsonschema's
    # lookup table does not know; name the draft explicitly.
    cls = jsonschema.Draft7Validator
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def schema_errors(document: Any) -> list[str]:
    """Every schema violation as ``path: message`` (empty when valid)."""
    found = []
    for error in sorted(_validator().iter_errors(document), key=lambda e: list(map(str, e.absolute_path))):
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        found.append(f"{where}: {error.message}")
    return found


def schema_errors_at(document: Any) -> list[str]:
    """Like :func:`schema_errors`, each naming the file and line of the offending key when known."""
    from stackrig.migrate._yaml import Loc, loc_of

    found = []
    for error in sorted(_validator().iter_errors(document), key=lambda e: list(map(str, e.absolute_path))):
        steps = list(error.absolute_path)
        where = "/".join(str(p) for p in steps) or "(top level)"
        node: Any = document
        loc: Loc | None = getattr(document, "loc", None)
        for step in steps:
            found_loc = loc_of(node, step)
            loc = found_loc or loc
            try:
                node = node[step]
            except (KeyError, IndexError, TypeError):
                break
        message = error.message
        if error.validator == "additionalProperties" and isinstance(node, dict):
            allowed = set(error.schema.get("properties", {}))
            extra = [k for k in node if k not in allowed and not str(k).startswith("x-")]
            if extra:
                loc = loc_of(node, extra[0]) or loc
                message = f"{', '.join(map(repr, extra))} is not a key Compose knows here"
        found.append(f"{f'{loc}: ' if loc else ''}{where}: {message}")
    return found


def validate_compose(document: Any, *, what: str) -> None:
    """Raise ComposeSchemaError listing the violations of ``document``."""
    errors = schema_errors(document)
    if errors:
        shown = "\n  ".join(errors[:10])
        more = f"\n  ... and {len(errors) - 10} more" if len(errors) > 10 else ""
        raise ComposeSchemaError(
            f"{what} is not valid under the Compose Specification schema:\n  {shown}{more}",
            hint="fix the named keys; stackrig validates before writing anything",
        )


def parse_bytes(value: object, *, what: str = "size") -> int:
    """Bytes from an int or a size such as ``512M``, ``1g``, ``112MiB`` (IEC: M = MiB)."""
    if not isinstance(value, str | int | float):
        raise UsageError(f"{what} {value!r} is not a size", hint="write bytes or a size like 512M or 1G")
    return _units.parse_size(value, what=what)
