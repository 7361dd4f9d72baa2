"""Read cloud JSON from files, stdin or a program's output: fleet's one concatenated-JSON reader.

``aws ec2 describe-instances`` output starts with ``{"Reservations": [``; it is
decoded one reservation at a time from chunks, so 100,000 instances never sit in
memory as one parsed document; a top-level array (the list output of az, gcloud,
openstack, or aws ``--query``) one element at a time. Every other shape is read whole. Several
concatenated documents (pages) are fine in both cases. Stdin is never read from a terminal.
"""

from __future__ import annotations

import io
import json
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from stackrig._io import open_text
from stackrig.fleet._model import Host, ProviderParseError
from stackrig.fleet.providers import Place, parse_placed

__all__ = [
    "PIPE_HINT",
    "STDIN",
    "iter_documents",
    "iter_placed",
    "load_documents",
    "load_hosts",
    "load_placed",
    "read_documents",
]

PIPE_HINT = (
    "pipe the output of aws ec2 describe-instances --output json (or az vm list -d -o json, "
    "gcloud compute instances list --format=json, openstack server list --long -f json) into this "
    "command, or name a file"
)
CHUNK = 1 << 20
#: How standard input is named in messages.
STDIN = "<stdin>"
_AWS_HEAD = re.compile(r'\{\s*"Reservations"\s*:\s*\[')
_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


class _Stream:
    """A growing text buffer over a handle, with line/column bookkeeping for error messages."""

    def __init__(self, handle: IO[str], source: str, chunk: int = CHUNK) -> None:
        self.handle = handle
        self.chunk = chunk
        self.source = source
        self.buf = ""
        self.pos = 0
        self.eof = False
        self.lines_before = 0  # newlines in text dropped from the buffer
        self.col_before = 0  # characters after the last dropped newline

    def more(self, *, grow: bool = False) -> bool:
        """Read the next chunk; ``grow``: at least as much again as the buffer holds, so a value
        too big for one chunk is decoded O(log n) times, not once per chunk."""
        if self.eof:
            return False
        try:
            chunk = self.handle.read(max(self.chunk, len(self.buf) - self.pos) if grow else self.chunk)
        except UnicodeDecodeError as exc:
            raise ProviderParseError(f"{self.source} is not UTF-8 text") from exc
        if not chunk:
            self.eof = True
            return False
        dropped = self.buf[: self.pos]
        newlines = dropped.count("\n")
        if newlines:
            self.lines_before += newlines
            self.col_before = len(dropped) - dropped.rfind("\n") - 1
        else:
            self.col_before += len(dropped)
        self.buf = self.buf[self.pos :] + chunk
        self.pos = 0
        return True

    def skip_ws(self) -> bool:
        """Skip whitespace; False at the end of the input."""
        while True:
            self.pos = _WS.match(self.buf, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buf):
                return True
            if not self.more():
                return False

    def ensure(self, count: int) -> None:
        while len(self.buf) - self.pos < count and self.more():
            pass

    def where(self, pos: int) -> tuple[int, int]:
        newlines = self.buf.count("\n", 0, pos)
        if newlines:
            return self.lines_before + newlines + 1, pos - self.buf.rfind("\n", 0, pos)
        return self.lines_before + 1, self.col_before + pos + 1

    def error(self, exc: json.JSONDecodeError) -> ProviderParseError:
        line, col = self.where(exc.pos)
        return ProviderParseError(
            f"{self.source} is not valid JSON: {exc.msg.removesuffix(' at')} at line {line}, column {col}",
            hint="give the JSON output of the cloud CLI (--output json / -o json / --format=json / -f json)",
        )

    def decode(self) -> Any:
        """One JSON value at ``pos``, reading more input while the value is cut off."""
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                if self.more(grow=True):
                    continue
                raise self.error(exc) from exc
            if end == len(self.buf) and not self.eof and isinstance(value, int | float) and self.more():
                continue  # a number may go on in the next chunk
            self.pos = end
            return value

    def expect(self, chars: str) -> str:
        if not self.skip_ws() or self.buf[self.pos] not in chars:
            line, col = self.where(self.pos)
            found = repr(self.buf[self.pos]) if self.pos < len(self.buf) else "the end of the input"
            raise ProviderParseError(
                f"{self.source} is not valid JSON: expected {' or '.join(repr(c) for c in chars)}, "
                f"found {found} at line {line}, column {col}"
            )
        char = self.buf[self.pos]
        self.pos += 1
        return char


def _reservations(stream: _Stream, head_end: int) -> Iterator[tuple[Any, int]]:
    """The reservations of one describe-instances document, one at a time (with their number)."""
    stream.pos = head_end
    if not stream.skip_ws():
        raise stream.error(json.JSONDecodeError("Expecting value", stream.buf, stream.pos))
    if stream.buf[stream.pos] == "]":
        stream.pos += 1
    else:
        number = 0
        while True:
            stream.skip_ws()
            yield {"Reservations": [stream.decode()]}, number
            number += 1
            if stream.expect(",]") == "]":
                break
    # Other keys of the document (NextToken, ResponseMetadata): decode them as an object and drop them.
    if stream.expect(",}") == ",":
        stream.buf = stream.buf[: stream.pos - 1] + "{" + stream.buf[stream.pos :]
        stream.pos -= 1
        stream.decode()


def _elements(stream: _Stream) -> Iterator[tuple[Any, int | None]]:
    """The elements of a top-level JSON array one at a time, each as a one-element array (the
    shape the provider parsers know) with its number; an empty array as itself."""
    stream.pos += 1  # the "["
    if not stream.skip_ws():
        raise stream.error(json.JSONDecodeError("Expecting value", stream.buf, stream.pos))
    if stream.buf[stream.pos] == "]":
        stream.pos += 1
        yield [], None
        return
    number = 0
    while True:
        stream.skip_ws()
        yield [stream.decode()], number
        number += 1
        if stream.expect(",]") == "]":
            return


def iter_placed(
    handle: IO[str], source: str, *, chunk: int = CHUNK, split_reservations: bool = True
) -> Iterator[tuple[Any, Place]]:
    """Every JSON document of ``handle`` with its place; describe-instances one reservation at a
    time, a top-level list one element at a time.

    With ``split_reservations=False`` every document is decoded whole (as it was written).
    """
    stream = _Stream(handle, source, chunk)
    stream.ensure(1)
    if not stream.skip_ws():
        raise ProviderParseError(f"{source} is empty", hint=PIPE_HINT)
    document = 0
    while stream.skip_ws():
        stream.ensure(256)
        head = _AWS_HEAD.match(stream.buf, stream.pos) if split_reservations else None
        if head:
            for doc, number in _reservations(stream, head.end()):
                yield doc, Place(source, document, number)
        elif split_reservations and stream.buf[stream.pos] == "[":
            for doc, item in _elements(stream):
                yield doc, Place(source, document, first_item=item)
        else:
            yield stream.decode(), Place(source, document)
        document += 1


def iter_documents(
    handle: IO[str], source: str, *, chunk: int = CHUNK, split_reservations: bool = True
) -> Iterator[Any]:
    """The documents of :func:`iter_placed`, without their places."""
    for doc, _ in iter_placed(handle, source, chunk=chunk, split_reservations=split_reservations):
        yield doc


def load_documents(text: str, *, source: str = STDIN) -> list[Any]:
    """Every JSON document of ``text`` (one, or concatenated pages), each whole.

    Empty or invalid JSON is a USAGE error naming ``source`` with the line and column.
    """
    return [doc for doc, _ in load_placed(text, source=source, split_reservations=False)]


def load_placed(text: str, *, source: str, split_reservations: bool = True) -> list[tuple[Any, Place]]:
    """:func:`iter_placed` over a string (a program's output)."""
    return list(iter_placed(io.StringIO(text), source, split_reservations=split_reservations))


def _documents(sources: Sequence[str | Path], stdin: IO[str] | None) -> Iterator[tuple[Any, Place]]:
    for source in sources or ["-"]:
        if str(source) == "-":
            handle = stdin or sys.stdin
            if handle.isatty():
                raise ProviderParseError(f"{STDIN} is a terminal, not cloud JSON", hint=PIPE_HINT)
            yield from iter_placed(handle, STDIN)
        else:
            with open_text(source, what="input file") as handle:
                yield from iter_placed(handle, str(source))


def read_documents(sources: Sequence[str | Path], *, stdin: IO[str] | None = None) -> list[Any]:
    """Every JSON document of every source in order; ``-`` (or no source) is stdin."""
    return [doc for doc, _ in _documents(sources, stdin)]


def load_hosts(
    sources: Sequence[str | Path] = (), provider: str | None = None, *, stdin: IO[str] | None = None
) -> list[Host]:
    """Read and parse cloud JSON from files and/or stdin into hosts, in input order."""
    return parse_placed(_documents(sources, stdin), provider)
