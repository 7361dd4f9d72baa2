"""The text layer of the log reader: fio's comma separated integers into int64 matrices.

A log is read in pieces of about 1 MiB that end at a line end; numpy parses each piece
in C. Lines that do not line up (a field too many, a blank line, hex digits a-f) go to a
line-by-line reader that names the file and the line of the first bad one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stackrig.errors import UsageError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["LogFormatError", "bad_line", "hex_column", "read_matrix"]

_CHUNK = 1 << 20


class LogFormatError(UsageError):
    """A fio log that cannot be read: names the file and the line."""


def _open(path: Path) -> Any:
    try:
        return path.open("rb")
    except FileNotFoundError as exc:
        raise LogFormatError(f"fio log {path} does not exist") from exc
    except IsADirectoryError as exc:
        raise LogFormatError(f"fio log {path} is a folder, not a file") from exc
    except OSError as exc:
        raise LogFormatError(f"cannot read fio log {path}: {exc.strerror or exc}") from exc


def _chunks(path: Path) -> Iterator[bytes]:
    """The file in pieces of about 1 MiB that end at a line end."""
    with _open(path) as handle:
        rest = b""
        while True:
            block = handle.read(_CHUNK)
            if not block:
                break
            block = rest + block
            cut = block.rfind(b"\n")
            if cut < 0:
                rest = block
                continue
            rest = block[cut + 1 :]
            yield block[: cut + 1]
        if rest.strip():
            yield rest + b"\n"


def _count_lines(path: Path) -> tuple[int, bytes]:
    """Number of rows and the first non-empty line.

    Reads into one reused buffer: counting needs no line-aligned pieces, and copying each
    piece cost as much as counting it.
    """
    total = 0
    first = b""
    buf = bytearray(_CHUNK)
    view = memoryview(buf)
    unended = False  # text after the last line end (a last line without one)
    with _open(path) as handle:
        while n := handle.readinto(buf):
            total += buf.count(b"\n", 0, n)
            end = buf.rfind(b"\n", 0, n)
            if end < 0:
                unended = unended or bool(bytes(view[:n]).strip())
            else:
                unended = bool(bytes(view[end + 1 : n]).strip())
            if not first:
                first = bytes(view[:n]).lstrip().split(b"\n", 1)[0]
    return total + unended, first


def bad_line(path: Path, lineno: int, line: bytes, why: str) -> LogFormatError:
    shown = line.decode("utf-8", "replace").strip()
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return LogFormatError(
        f"{path}, line {lineno}: {why}: {shown!r}",
        hint="is this a fio log (bw/iops/lat/clat/slat/clat_hist)? a cut or edited file cannot be read",
    )


def _slow_rows(path: Path, chunk: bytes, first_line: int, ncols: int) -> list[list[int]]:
    """Parse a chunk line by line (hex digits a-f, or to find the bad line)."""
    rows: list[list[int]] = []
    for i, line in enumerate(chunk.split(b"\n")[:-1]):
        lineno = first_line + i
        if not line.strip():
            raise bad_line(path, lineno, line, "empty line")
        parts = line.split(b",")
        if len(parts) != ncols:
            raise bad_line(path, lineno, line, f"{len(parts)} fields where the file has {ncols}")
        try:
            rows.append([int(p.strip(), 0) if p.strip()[:2] in (b"0x", b"0X") else int(p) for p in parts])
        except ValueError:
            raise bad_line(path, lineno, line, "not a list of integers") from None
    return rows


def _parse_chunk(path: Path, chunk: bytes, first_line: int, ncols: int) -> npt.NDArray[np.int64]:
    """A (rows, ncols) int64 matrix of one chunk; hex values decoded."""
    import numpy as np

    raw = np.frombuffer(chunk, dtype=np.uint8)
    newlines = np.flatnonzero(raw == 10)
    nrows = newlines.shape[0]
    if not _fields_line_up(raw, newlines, ncols):
        _slow_rows(path, chunk, first_line, ncols)  # raises with the line number
    hexed = b"0x" in chunk
    text = chunk.replace(b"0x", b"") if hexed else chunk
    try:
        flat = np.fromstring(text.replace(b"\n", b","), dtype=np.int64, sep=",")
    except ValueError:
        flat = None
    if flat is None or flat.shape[0] != nrows * ncols:
        rows = _slow_rows(path, chunk, first_line, ncols)
        return np.array(rows, dtype=np.int64).reshape(nrows, ncols)
    mat: npt.NDArray[np.int64] = flat.reshape(nrows, ncols)
    if hexed:
        # Which columns were hex: look at the first line (fio writes one format per file).
        first = chunk[: chunk.find(b"\n")].split(b",")
        for col, tok in enumerate(first):
            if tok.strip().startswith(b"0x"):
                mat[:, col] = _dec_digits_as_hex(mat[:, col])
    return mat


def _fields_line_up(raw: npt.NDArray[np.uint8], newlines: npt.NDArray[np.intp], ncols: int) -> bool:
    """True when every line of the chunk has exactly ``ncols - 1`` commas."""
    import numpy as np

    per = ncols - 1
    commas = np.flatnonzero(raw == 44)
    if commas.shape[0] != newlines.shape[0] * per:
        return False
    if per == 0 or newlines.shape[0] == 0:
        return True
    last = commas[per - 1 :: per]  # the last comma of each line comes before its end
    if not bool(np.all(last < newlines)):
        return False
    return bool(np.all(commas[per::per] > newlines[:-1]))  # and the next line's first after it


def _dec_digits_as_hex(col: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """``2004`` parsed from ``0x2004`` as decimal, back to 0x2004 (digits 0-9 only)."""
    import numpy as np

    out = np.zeros_like(col)
    rest = col.copy()
    scale = 1
    while bool(rest.any()):
        out += (rest % 10) * scale
        rest //= 10
        scale *= 16
    return out


def hex_column(first: bytes) -> int | None:
    for col, tok in enumerate(first.split(b",")):
        if tok.strip().lower().startswith(b"0x"):
            return col
    return None


def read_matrix(
    path: Path, ncols_hint: int | None = None
) -> tuple[Iterator[tuple[int, npt.NDArray[np.int64]]], int, int, bytes]:
    nrows, first = _count_lines(path)
    ncols = ncols_hint or (first.count(b",") + 1 if first else 0)

    def gen() -> Iterator[tuple[int, npt.NDArray[np.int64]]]:
        line = 1
        for chunk in _chunks(path):
            mat = _parse_chunk(path, chunk, line, ncols)
            yield line - 1, mat
            line += mat.shape[0]

    return gen(), nrows, ncols, first
