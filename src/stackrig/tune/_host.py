"""Read a host's /proc, /sys and /etc under a root folder, remembering what was read.

Every read goes through :class:`Host`: a file that cannot be read becomes a
:class:`ReadError` naming it, which the audit turns into a finding with status
``error`` (never a traceback).
"""

from __future__ import annotations

import configparser
import errno
import os
from dataclasses import dataclass, field
from pathlib import Path

from stackrig.tune._model import Profile

__all__ = ["DEFAULT_INSTANCES_PATH", "Host", "ReadError", "parse_bracket", "parse_cpu_list", "render_bracket"]

DEFAULT_INSTANCES_PATH = "/var/lib/nova/instances"


class ReadError(Exception):
    """A file under the root could not be read (the audit reports it as an error finding)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"cannot read {path}: {reason}")
        self.path = path
        self.reason = reason


def _reason(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, IsADirectoryError):
        return "it is a folder"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if exc.errno == errno.ENOTDIR:
        return "a parent is not a folder"
    return exc.strerror or str(exc)


@dataclass
class Host:
    """The machine (or copied tree) under ``root``, seen through one profile."""

    root: Path
    profile: Profile = Profile.COMPUTE_HOST
    instances_path: str | None = None
    reads: list[str] = field(default_factory=list)
    _cache: dict[str, str | None] = field(default_factory=dict)

    @property
    def live(self) -> bool:
        """True when the root is this machine's own / (writes go to the running kernel)."""
        try:
            return self.root.resolve() == Path("/")
        except OSError:
            return False

    def path(self, rel: str) -> Path:
        return self.root / rel.lstrip("/")

    def shown(self, rel: str) -> str:
        """The path as a user on the audited machine would write it (``/proc/sys/vm/swappiness``)."""
        return "/" + rel.lstrip("/")

    def read_optional(self, rel: str) -> str | None:
        """The file's text, or None when it does not exist; other failures raise ReadError."""
        key = rel.lstrip("/")
        if key in self._cache:
            return self._cache[key]
        target = self.root / key
        self.reads.append(str(target))
        try:
            with open(target, encoding="utf-8", errors="strict") as handle:
                text: str | None = handle.read()
        except FileNotFoundError:
            text = None
        except NotADirectoryError:
            text = None
        except OSError as exc:
            raise ReadError(self.shown(key), _reason(exc)) from exc
        except UnicodeDecodeError as exc:
            raise ReadError(self.shown(key), f"not text (byte {exc.start})") from exc
        self._cache[key] = text
        return text

    def read(self, rel: str) -> str:
        """The file's text; a missing file is a ReadError too."""
        text = self.read_optional(rel)
        if text is None:
            raise ReadError(self.shown(rel), "no such file")
        return text

    def read_int(self, rel: str) -> int:
        text = self.read(rel).strip()
        try:
            return int(text)
        except ValueError as exc:
            raise ReadError(self.shown(rel), f"not a number: {text[:40]!r}") from exc

    def exists(self, rel: str) -> bool:
        return os.path.lexists(self.path(rel))

    def listdir(self, rel: str) -> list[str]:
        """Sorted names in a folder; [] when it does not exist."""
        target = self.path(rel)
        try:
            return sorted(entry.name for entry in target.iterdir())
        except (FileNotFoundError, NotADirectoryError):
            return []
        except OSError as exc:
            raise ReadError(self.shown(rel), _reason(exc)) from exc

    def meminfo(self) -> dict[str, int]:
        """/proc/meminfo as numbers (kB for sizes, counts for HugePages_*)."""
        values: dict[str, int] = {}
        for line in self.read("proc/meminfo").splitlines():
            name, _, rest = line.partition(":")
            words = rest.split()
            if words and words[0].isdigit():
                values[name.strip()] = int(words[0])
        if "MemTotal" not in values:
            raise ReadError(self.shown("proc/meminfo"), "no MemTotal line")
        return values

    def numa_nodes(self) -> list[str]:
        return [
            n for n in self.listdir("sys/devices/system/node") if n.startswith("node") and n[4:].isdigit()
        ]

    def nova_option(self, name: str) -> str | None:
        """An option of [DEFAULT] in etc/nova/nova.conf under the root, if the file and option exist."""
        text = self.read_optional("etc/nova/nova.conf")
        if text is None:
            return None
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        try:
            parser.read_string(text)
        except configparser.Error as exc:
            raise ReadError(self.shown("etc/nova/nova.conf"), f"not an INI file ({exc.message})") from exc
        value = parser.defaults().get(name)
        return value.strip() if value else None

    def nova_ratio(self, name: str) -> float | None:
        """``cpu_allocation_ratio`` / ``ram_allocation_ratio`` from nova.conf (or its initial_*)."""
        for option in (name, f"initial_{name}"):
            value = self.nova_option(option)
            if value is None:
                continue
            try:
                return float(value)
            except ValueError as exc:
                raise ReadError(
                    self.shown("etc/nova/nova.conf"), f"{option} is not a number: {value!r}"
                ) from exc
        return None


def parse_bracket(text: str) -> tuple[str | None, list[str]]:
    """``none [mq-deadline] kyber bfq`` → (``mq-deadline``, all four choices)."""
    selected: str | None = None
    choices: list[str] = []
    for word in text.split():
        choice = word
        if word.startswith("[") and word.endswith("]"):
            choice = selected = word[1:-1]
        choices.append(choice)
    return selected, choices


def render_bracket(choices: list[str], selected: str) -> str:
    """What the kernel shows after ``selected`` is written (inverse of :func:`parse_bracket`)."""
    return " ".join(f"[{c}]" if c == selected else c for c in choices) + "\n"


def parse_cpu_list(text: str) -> list[int]:
    """``0-3,8-11`` → [0, 1, 2, 3, 8, 9, 10, 11]; raises ValueError on nonsense."""
    cpus: list[int] = []
    for part in text.strip().split(","):
        if not part:
            continue
        low, _, high = part.partition("-")
        start = int(low)
        end = int(high) if high else start
        if end < start:
            raise ValueError(f"bad CPU range {part!r}")
        cpus.extend(range(start, end + 1))
    return cpus
