"""Running out of memory: the exit-70 message and its log even when memory is gone.

When a command meets ``MemoryError`` (an address-space limit such as ``ulimit -v`` or
``prlimit --as``, or a failed allocation), the usual crash handler cannot run: formatting a
traceback and opening a log need memory too. So the CLI keeps a small reserve from its start
and, on ``MemoryError``, takes the shortest path: give the reserve back, keep the traceback as
bare frame positions, clear the frames' locals (which hold whatever filled memory), and only
then format the traceback and write the log with plain ``os`` calls.

A MemoryError can also meet a finalizer: a suspended generator closed while the failing frames
unwind runs (and allocates) at the worst moment, and Python reports what it cannot raise through
``sys.unraisablehook``, whose default prints a raw traceback. :func:`quiet_finalizer_memory_errors`
counts those instead (the log says how many); any other unraisable exception still goes to the
hook that was there before (Python's default report).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import os
import sys
import tempfile
import traceback
from pathlib import Path

__all__ = ["keep_reserve", "out_of_memory_log", "quiet_finalizer_memory_errors"]

RESERVE_BYTES = 4 << 20
_reserve: bytearray | None = None
_finalizer_failures = 0


def keep_reserve() -> None:
    """Set memory aside for :func:`out_of_memory_log` (once per process)."""
    global _reserve  # noqa: PLW0603 - one reserve per process, by design
    if _reserve is None:
        with contextlib.suppress(MemoryError):
            _reserve = bytearray(RESERVE_BYTES)


def _unraisable(unraisable: sys.UnraisableHookArgs) -> None:
    """Count a finalizer's MemoryError (allocating nothing: memory is gone); pass anything else on."""
    global _finalizer_failures  # noqa: PLW0603 - a count per process, read by _text
    if issubclass(unraisable.exc_type, MemoryError):
        _finalizer_failures += 1
        return
    _previous_hook(unraisable)


_previous_hook = sys.unraisablehook


def quiet_finalizer_memory_errors() -> None:
    """Route unraisable exceptions through :func:`_unraisable`; the hook found before it (Python's
    default, or a test runner's) still gets every other one."""
    global _previous_hook  # noqa: PLW0603 - see _unraisable
    if sys.unraisablehook is not _unraisable:
        _previous_hook = sys.unraisablehook
        sys.unraisablehook = _unraisable


def _release(exc: BaseException) -> list[traceback.StackSummary]:
    """Give the reserve back; the positions of each exception in the chain; their frames cleared."""
    global _reserve  # noqa: PLW0603 - see keep_reserve
    _reserve = None
    stacks: list[traceback.StackSummary] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        tb = current.__traceback__
        stacks.append(traceback.StackSummary.extract(traceback.walk_tb(tb), lookup_lines=False))
        traceback.clear_frames(tb)  # what the frames' locals held (the big input) is freed here
        current = current.__context__
    gc.collect()
    return stacks


def _text(version: str, stacks: list[traceback.StackSummary]) -> str:
    parts = [f"stackrig {version}\nargv: {sys.argv!r}\n\nMemoryError: out of memory\n"]
    if _finalizer_failures:
        parts.append(f"({_finalizer_failures} finalizer(s) also ran out of memory while it unwound)\n")
    for n, stack in enumerate(reversed(stacks)):
        if n:
            parts.append("\nDuring handling of the above exception, another exception occurred:\n\n")
        parts.append("Traceback (most recent call last):\n")
        parts.extend(stack.format())
        parts.append("MemoryError\n")
    return "".join(parts)


def out_of_memory_log(exc: MemoryError, logs: Path, version: str) -> str:
    """Free what can be freed, write the traceback to a private log file; return its path (or
    a note that none could be written)."""
    stacks = _release(exc)
    try:
        text = _text(version, stacks)
    except MemoryError:
        text = f"stackrig {version}\nMemoryError: out of memory (no memory left to format the traceback)\n"
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    for folder in (logs, Path(tempfile.gettempdir())):
        target = folder / f"out-of-memory-{stamp}-{os.getpid()}.log"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # may hold input values
            try:
                os.write(fd, text.encode("utf-8", "replace"))
            finally:
                os.close(fd)
            return str(target)
        except (OSError, MemoryError):
            continue
    return "<no writable log folder>"
