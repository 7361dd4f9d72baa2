"""The policy state file: what was installed where, with the backend's ids.

One JSON document, versioned, replaced atomically, guarded by a lock file so
two commands never interleave. Every command that changes the network adds a
journal entry (what it added, what it removed) so ``rollback`` undoes exactly
the last one; ``remove`` works from the recorded backend ids.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stackrig._io import atomic_write, ensure_dir
from stackrig.errors import UsageError
from stackrig.qos.model import Policy, Service

__all__ = ["STATE_VERSION", "Installed", "JournalEntry", "PolicyState", "StateFileError", "locked_state"]

STATE_VERSION = 1
JOURNAL_KEEP = 50


class StateFileError(UsageError):
    """The state file cannot be read (malformed, or written by a newer stackrig)."""


@dataclass(frozen=True, slots=True)
class Installed:
    """A policy as installed: on which backend and target, with the backend's own ids."""

    key: str
    policy: Policy
    backend: str
    target: str
    ids: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "policy": self.policy.to_dict(),
            "backend": self.backend,
            "target": self.target,
            "ids": dict(self.ids),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], services: Mapping[str, Service]) -> Installed:
        policy_raw = dict(raw["policy"])
        # The recorded action is authoritative (the service may have changed since).
        policy_raw.pop("service", None)
        policy = Policy.from_dict(policy_raw)
        if raw["policy"].get("service") is not None:
            policy = Policy(
                policy.name,
                policy.switch,
                policy.match,
                policy.action,
                policy.priority,
                str(raw["policy"]["service"]),
                policy.group,
            )
        return cls(
            str(raw["key"]),
            policy,
            str(raw["backend"]),
            str(raw["target"]),
            {str(k): str(v) for k, v in (raw.get("ids") or {}).items()},
        )


def new_key() -> str:
    return secrets.token_hex(6)


@dataclass(frozen=True, slots=True)
class JournalEntry:
    txn: int
    command: str
    time: str
    added: tuple[str, ...]
    removed: tuple[Installed, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "txn": self.txn,
            "command": self.command,
            "time": self.time,
            "added": list(self.added),
            "removed": [r.to_dict() for r in self.removed],
        }


@dataclass(slots=True)
class PolicyState:
    """The in-memory state; :meth:`save` writes it atomically."""

    path: Path
    installed: list[Installed] = field(default_factory=list)
    services: dict[str, Service] = field(default_factory=dict)
    journal: list[JournalEntry] = field(default_factory=list)
    next_txn: int = 1

    @classmethod
    def load(cls, path: Path) -> PolicyState:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls(path)
        except OSError as exc:
            raise StateFileError(f"cannot read state file {path}: {exc.strerror or exc}") from exc
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise StateFileError(
                f"state file {path} is not valid JSON (line {exc.lineno})",
                hint="restore it from a backup or point --state at another file",
            ) from exc
        if not isinstance(doc, dict) or "version" not in doc:
            raise StateFileError(f"state file {path} is not a stackrig qos state (no version)")
        if doc["version"] != STATE_VERSION:
            raise StateFileError(
                f"state file {path} has version {doc['version']!r}; "
                f"this stackrig reads version {STATE_VERSION}",
                hint="use the stackrig that wrote it",
            )
        try:
            services = {s["name"]: Service.from_dict(s) for s in doc.get("services", [])}
            installed = [Installed.from_dict(r, services) for r in doc.get("installed", [])]
            journal = [
                JournalEntry(
                    int(j["txn"]),
                    str(j["command"]),
                    str(j["time"]),
                    tuple(str(k) for k in j.get("added", [])),
                    tuple(Installed.from_dict(r, services) for r in j.get("removed", [])),
                )
                for j in doc.get("journal", [])
            ]
            next_txn = int(doc.get("next_txn", 1))
        except (KeyError, TypeError, ValueError, UsageError) as exc:
            raise StateFileError(f"state file {path} is damaged: {exc}") from exc
        return cls(path, installed, services, journal, next_txn)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "next_txn": self.next_txn,
            "services": [s.to_dict() for s in self.services.values()],
            "installed": [r.to_dict() for r in self.installed],
            "journal": [j.to_dict() for j in self.journal[-JOURNAL_KEEP:]],
        }

    def save(self) -> None:
        ensure_dir(self.path.parent)
        atomic_write(self.path, json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n")

    def record(self, command: str, added: list[Installed], removed: list[Installed]) -> JournalEntry:
        """Apply a change to the records and journal it (not saved yet)."""
        gone = {r.key for r in removed}
        self.installed = [r for r in self.installed if r.key not in gone] + added
        entry = JournalEntry(
            self.next_txn,
            command,
            dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            tuple(r.key for r in added),
            tuple(removed),
        )
        self.next_txn += 1
        self.journal.append(entry)
        return entry

    def find(self, names: list[str]) -> list[Installed]:
        """Records whose policy name or group is in ``names`` (each name must match something)."""
        out: list[Installed] = []
        for name in names:
            hits = [r for r in self.installed if name in (r.policy.name, r.policy.group)]
            if not hits:
                raise UsageError(
                    f"no installed policy or group named {name!r} in {self.path}",
                    hint="list them with: stackrig qos policy list",
                )
            out.extend(h for h in hits if h not in out)
        return out


@contextlib.contextmanager
def locked_state(path: Path) -> Iterator[PolicyState]:
    """Load the state under an exclusive lock held until the block ends."""
    ensure_dir(path.parent)
    lock_path = path.with_name(path.name + ".lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StateFileError(f"cannot open lock file {lock_path}: {exc.strerror or exc}") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield PolicyState.load(path)
    finally:
        os.close(fd)
