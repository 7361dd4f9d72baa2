"""Small helpers shared by the provider parsers (private)."""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stackrig.fleet._model import ProviderParseError

__all__ = ["Place", "as_dict", "as_list", "is_ipv4", "last_segment", "text"]


@dataclass(frozen=True, slots=True)
class Place:
    """Where a document came from, to name a position inside it in the provider's own terms.

    ``source`` is the file name (``<stdin>`` for standard input), ``document`` the document's
    number in that source (0-based; named only from the second on, since most files hold one)
    and ``first_reservation`` the number of the first reservation of an AWS document that is
    read one reservation at a time. ``first_item``: the document is one element of a top-level
    list read one element at a time (``az vm list``, ``gcloud ... list``, ``openstack server
    list``, ``aws ... --query``), and this its number in the list; None for a document read whole.
    """

    source: str = "<input>"
    document: int = 0
    first_reservation: int = 0
    first_item: int | None = None

    def at(self, *steps: str | tuple[str, int]) -> str:
        """``FILE: reservation 3, instance 2`` (1-based); plain strings are used as they are."""
        parts = [f"document {self.document + 1}"] if self.document else []
        parts += [step if isinstance(step, str) else f"{step[0]} {step[1] + 1}" for step in steps]
        return f"{self.source}: {', '.join(parts)}" if parts else self.source


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


def require_object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ProviderParseError(f"{where}: expected an object, found {type(value).__name__}")
    return value


def string_tags(pairs: Mapping[Any, Any]) -> dict[str, str]:
    """Tag dicts with string keys and values (numbers as text; null values as empty strings)."""
    tags: dict[str, str] = {}
    for key, value in pairs.items():
        if not isinstance(key, str):
            continue
        tags[key] = "" if value is None else (text(value) or "")
    return tags
