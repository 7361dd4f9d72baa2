"""The discover cache: one JSON file per (provider, account, region, filter), with a TTL.

Layout under ``Paths.cache``::

    fleet-discover/<provider>/<scope>/<region>/<filter-hash>.json

``scope`` is the account id when known, joined with a hash of the endpoint, so a
moto endpoint and real AWS never share entries. An entry older than its TTL is a
miss; ``refresh`` ignores every entry (and rewrites it). ``fleet up`` and ``fleet
down`` drop the entries of the region they changed, so a cache never hides their work.
Entries are written atomically and 0600 (they list addresses and tags).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stackrig._io import atomic_write, ensure_dir

if TYPE_CHECKING:
    from stackrig.fleet import Host

__all__ = ["CacheEntry", "DiscoverCache", "endpoint_scope", "hosts_from_payload", "hosts_payload"]

FORMAT = 1
FOLDER = "fleet-discover"
_HOSTS_FORMAT = "hosts-v1"


@dataclass(frozen=True, slots=True)
class CacheEntry:
    payload: Any
    stored_at: float
    age: float


def _safe(part: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "-_." else "_" for c in part)
    return cleaned.strip(".") or "_"


def endpoint_scope(account: str, endpoint_url: str | None) -> str:
    """``<account>`` for the default endpoint, ``<account>@<hash of endpoint>`` otherwise."""
    if not endpoint_url:
        return _safe(account)
    digest = hashlib.sha256(endpoint_url.encode()).hexdigest()[:12]
    return f"{_safe(account)}@{digest}"


class DiscoverCache:
    """Read and write discover results; ``ttl <= 0`` turns the cache off."""

    def __init__(
        self, root: Path, *, ttl: float, refresh: bool = False, clock: Callable[[], float] = time.time
    ) -> None:
        self.root = root / FOLDER
        self.ttl = ttl
        self.refresh = refresh
        self.clock = clock

    @property
    def enabled(self) -> bool:
        return self.ttl > 0

    def path(self, provider: str, scope: str, region: str, filters: Sequence[str]) -> Path:
        key = json.dumps(sorted(filters))
        digest = hashlib.sha256(key.encode()).hexdigest()[:20]
        return self.root / _safe(provider) / _safe(scope) / _safe(region) / f"{digest}.json"

    def get(self, provider: str, scope: str, region: str, filters: Sequence[str]) -> CacheEntry | None:
        """The fresh entry, or None (missing, expired, unreadable, ``refresh`` or cache off)."""
        if not self.enabled or self.refresh:
            return None
        path = self.path(provider, scope, region, filters)
        try:
            doc = json.loads(path.read_bytes())
        except (OSError, ValueError):
            return None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("filters") != sorted(filters):
            return None
        stored = doc.get("stored_at")
        if not isinstance(stored, int | float):
            return None
        age = self.clock() - float(stored)
        if age < 0 or age >= self.ttl:
            return None
        return CacheEntry(payload=doc.get("payload"), stored_at=float(stored), age=age)

    def put(self, provider: str, scope: str, region: str, filters: Sequence[str], payload: Any) -> None:
        if not self.enabled:
            return
        path = self.path(provider, scope, region, filters)
        ensure_dir(path.parent, private=True)
        doc = {
            "format": FORMAT,
            "provider": provider,
            "region": region,
            "filters": sorted(filters),
            "stored_at": self.clock(),
            "payload": payload,
        }
        atomic_write(path, json.dumps(doc, separators=(",", ":")), secret=True)

    def drop_region(self, provider: str, scope: str, region: str) -> None:
        """Forget every entry of one region (after ``fleet up``/``down`` changed it)."""
        with contextlib.suppress(OSError):
            shutil.rmtree(self.root / _safe(provider) / _safe(scope) / _safe(region))


# ------------------------------------------------------------------ hosts in cache entries


def _host_fields() -> list[str]:
    from stackrig.fleet import Host

    return [f.name for f in dataclasses.fields(Host)]


def hosts_payload(hosts: Sequence[Host]) -> dict[str, Any]:
    fields = _host_fields()
    rows = [[_plain(getattr(h, name)) for name in fields] for h in hosts]
    return {"format": _HOSTS_FORMAT, "fields": fields, "rows": rows}


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if hasattr(value, "items"):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def hosts_from_payload(payload: Any) -> list[Host] | None:
    """Hosts from a cache entry, or None when it was written by another Host layout."""
    from stackrig.fleet import Host

    if not isinstance(payload, dict) or payload.get("format") != _HOSTS_FORMAT:
        return None
    fields = payload.get("fields")
    if fields != _host_fields():
        return None
    try:
        return [Host(**dict(zip(fields, row, strict=True))) for row in payload["rows"]]
    except (TypeError, ValueError, KeyError):
        return None
