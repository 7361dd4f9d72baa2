"""Small helpers shared by the provider parsers (private)."""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Mapping
from typing import Any

from stackrig.fleet._model import ProviderParseError

__all__ = ["as_dict", "as_list", "is_ipv4", "last_segment", "text", "where"]


def where(doc: int, item: int | None = None) -> str:
    """``document 2, item 5`` (1-based) for error messages."""
    place = f"document {doc + 1}"
    if item is not None:
        place += f", item {item + 1}"
    return place


def text(value: Any) -> str | None:
    """A string field as printed by a cloud CLI: strings and numbers as text, empty/other as None."""
    if isinstance(value, str):
        return value if value != "" else None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return None


def as_dict(value: Any) -> Mapping[str, Any]:
    # JSON (and boto3) give plain dicts; isinstance(dict) is much faster than the Mapping ABC.
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def last_segment(url: Any) -> str | None:
    """``zones/us-central1-a`` or a full URL → ``us-central1-a``."""
    value = text(url)
    if value is None:
        return None
    return value.rstrip("/").rsplit("/", 1)[-1] or None


def is_ipv4(value: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(value), ipaddress.IPv4Address)
    except ValueError:
        return False


def require_object(value: Any, doc: int, item: int) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ProviderParseError(
            f"{where(doc, item)}: expected an object for one instance, found {type(value).__name__}"
        )
    return value


def string_tags(pairs: Mapping[Any, Any]) -> dict[str, str]:
    """Tag dicts with string keys and values (numbers as text; null values as empty strings)."""
    tags: dict[str, str] = {}
    for key, value in pairs.items():
        if not isinstance(key, str):
            continue
        tags[key] = "" if value is None else (text(value) or "")
    return tags
