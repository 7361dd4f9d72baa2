"""Read cloud JSON from files or stdin (never from a terminal)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from stackrig._io import read_text
from stackrig.fleet._model import Host, ProviderParseError
from stackrig.fleet.providers import load_documents, parse_documents

__all__ = ["PIPE_HINT", "load_hosts", "read_documents"]

PIPE_HINT = (
    "pipe the output of aws ec2 describe-instances --output json (or az vm list -d -o json, "
    "gcloud compute instances list --format=json, openstack server list --long -f json) into this "
    "command, or name a file"
)


def _read_stdin(stdin: IO[str]) -> str:
    if stdin.isatty():
        raise ProviderParseError("stdin is a terminal, not cloud JSON", hint=PIPE_HINT)
    try:
        return stdin.read()
    except UnicodeDecodeError as exc:
        raise ProviderParseError(f"stdin is not UTF-8 text (byte {exc.start})") from exc


def read_documents(sources: Sequence[str | Path], *, stdin: IO[str] | None = None) -> list[Any]:
    """Every JSON document of every source in order; ``-`` (or no source) is stdin."""
    docs: list[Any] = []
    for source in sources or ["-"]:
        if str(source) == "-":
            text = _read_stdin(stdin or sys.stdin)
            name = "stdin"
        else:
            text = read_text(source, what="input file")
            name = str(source)
        if not text.strip():
            raise ProviderParseError(f"{name} is empty", hint=PIPE_HINT)
        docs.extend(load_documents(text, source=name))
    return docs


def load_hosts(
    sources: Sequence[str | Path] = (), provider: str | None = None, *, stdin: IO[str] | None = None
) -> list[Host]:
    """Read and parse cloud JSON from files and/or stdin into hosts, in input order."""
    return parse_documents(read_documents(sources, stdin=stdin), provider)
