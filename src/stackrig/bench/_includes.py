"""fio ``include FILE`` lines: the files a job file pulls in, read to be kept beside its copy.

fio reads ``include FILE`` inside a section (and anywhere in an included file, which
holds options only) as the options of FILE added at that point; a relative FILE is
found beside the file that includes it, and included files may include more.
stackrig keeps each included file byte for byte in the run folder at the same place
relative to the job file's copy (``common.inc``, ``sub/more.inc``), so the copies -- and
the effective job written beside them -- resolve exactly as the originals did, and
``bench run --from`` finds them again in the run folder.

Refused with a USAGE error, before anything is written: a missing include (named with
the file and line that include it, as fio would refuse it); an absolute path or a
``..`` that leaves the job file's folder (fio would read it, but fio would then read a
file outside the run folder at run time, and the run could not be repeated from its
folder: copy the file into the job's folder); a cycle. For a URL job file, a relative
include is fetched from the same base URL (never read from the local disk) with the
job file's size limit and timeout; an absolute path, another URL or a ``..`` that
leaves the URL's folder is refused likewise.
"""

from __future__ import annotations

import hashlib
import posixpath
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from stackrig import _io
from stackrig.bench.model import META_FILE, RESULTS_FILE, STDERR_FILE, IncludeCopy
from stackrig.errors import UsageError

__all__ = ["IncludedFile", "expand", "include_lines", "read_includes"]

_MAX_DEPTH = 16
#: What stackrig itself writes in a run folder (model's files, runplan's scratch, phases' precondition
#: folder, liveness' lock): an included file may not take one of these places.
_RESERVED_TOP = {META_FILE, RESULTS_FILE, STDERR_FILE, "scratch", "precondition", ".running.lock"}
_BLANK = " \t\r\n\f\v"


@dataclass(frozen=True, slots=True)
class IncludedFile:
    """A file a job includes: its place in the run folder (beside the job copy) and its bytes."""

    file: str
    """Path relative to the job copy's folder (posix), as fio resolves it from the copy."""
    source: str
    data: bytes

    def record(self) -> IncludeCopy:
        return IncludeCopy(self.file, self.source, hashlib.sha256(self.data).hexdigest(), len(self.data))


def _is_blank_or_comment(line: str) -> bool:
    """fio's is_empty_or_comment: ``;`` or ``#`` before anything but blanks."""
    for char in line:
        if char in ";#":
            return True
        if not (char.isspace() or ord(char) < 32 or ord(char) == 127):
            return False
    return True


def include_lines(data: bytes, *, nested: bool) -> list[tuple[int, str]]:
    """(line number, FILE) of each include fio follows in ``data``, read as fio reads it.

    In a job file fio follows includes inside sections only (an include before the
    first section is an error fio reports itself); in an included file, everywhere.
    """
    found = []
    in_section = nested
    for number, raw in enumerate(data.decode("utf-8", "replace").split("\n"), 1):
        if _is_blank_or_comment(raw):
            continue
        line = raw.lstrip(_BLANK)
        if line.startswith("["):
            in_section = True
            continue
        # fio's strip_blank_end: cut at ';' and '#', then trailing blanks and control characters
        line = line.split(";", 1)[0].split("#", 1)[0].rstrip(_BLANK + "".join(map(chr, range(32))))
        if in_section and line.startswith("include"):
            found.append((number, line[len("include") + 1 :]))
    return found


def _place(name: str, folder: str, where: str) -> str:
    """Where FILE (included from ``folder``, relative to the job's folder) sits beside the copy."""
    if not name:
        raise UsageError(f"{where}: include names no file", hint="write `include FILE`")
    if name.startswith("/") or "://" in name or "\0" in name:
        raise UsageError(
            f"{where}: include {name} is not a path relative to the job file's folder",
            hint="stackrig keeps included files beside the job copy in the run folder, so "
            "fio reads the copies and `bench run --from` repeats the run; copy the file "
            "into the job file's folder and include it by a relative path",
        )
    place = posixpath.normpath(posixpath.join(folder, name))
    if place == ".." or place.startswith("../"):
        raise UsageError(
            f"{where}: include {name} leaves the job file's folder",
            hint="fio would read it from outside the run folder at run time and the run could "
            "not be repeated from its folder; copy the file into the job file's folder "
            "(or a subfolder) and include it from there",
        )
    top = place.split("/", 1)[0]
    if top in _RESERVED_TOP or place.endswith(".log"):
        raise UsageError(
            f"{where}: include {name} has the name of a file stackrig writes in the run folder",
            hint="rename the included file",
        )
    return place


def read_includes(
    data: bytes,
    source: str,
    *,
    is_url: bool,
    download: Callable[[str], bytes],
    max_bytes: int,
) -> tuple[IncludedFile, ...]:
    """Every file ``data`` (the job file read from ``source``) includes, nested ones too."""
    found: dict[str, IncludedFile] = {}
    base = source if is_url else str(Path(source).parent)

    def visit(text: bytes, folder: str, label: str, chain: tuple[str, ...]) -> None:
        for number, name in include_lines(text, nested=bool(chain)):
            where = f"{label} line {number}"
            place = _place(name, folder, where)
            if place in chain:
                raise UsageError(f"{where}: include {name} includes itself (through {' -> '.join(chain)})")
            if len(chain) >= _MAX_DEPTH:
                raise UsageError(f"{where}: includes nested more than {_MAX_DEPTH} deep")
            if place not in found:
                origin, body = _read(place, where, name)
                found[place] = IncludedFile(place, origin, body)
            visit(found[place].data, posixpath.dirname(place), place, (*chain, place))

    def _read(place: str, where: str, name: str) -> tuple[str, bytes]:
        if is_url:
            url = urllib.parse.urljoin(base, urllib.parse.quote(place))
            try:
                return url, download(url)
            except UsageError as exc:
                raise type(exc)(f"{where}: included file {name}: {exc.message}", hint=exc.hint) from exc
        path = Path(base) / place
        if not path.exists():
            raise UsageError(
                f"{where}: included file {name} does not exist ({path})",
                hint="fio refuses a job whose include is missing; create the file or fix the line",
            )
        if path.is_file() and path.stat().st_size > max_bytes:
            raise UsageError(f"{where}: included file {path} is too large (limit {max_bytes} bytes)")
        return str(path), _io.read_bytes(path, what=f"file included at {where},", utf8=True)

    visit(data, "", Path(urllib.parse.urlsplit(source).path).name if is_url else source, ())
    return tuple(found.values())


def expand(data: bytes, includes: tuple[IncludedFile, ...]) -> bytes:
    """The job text with each include line replaced by the included text (what fio reads)."""
    by_place = {inc.file: inc for inc in includes}

    def inline(text: bytes, folder: str, nested: bool, depth: int) -> bytes:
        lines = text.split(b"\n")
        for number, name in reversed(include_lines(text, nested=nested)):
            place = posixpath.normpath(posixpath.join(folder, name))
            inc = by_place.get(place)
            if inc is not None and depth < _MAX_DEPTH:
                lines[number - 1] = inline(inc.data, posixpath.dirname(place), True, depth + 1).rstrip(b"\n")
        return b"\n".join(lines)

    return inline(data, "", False, 0)
