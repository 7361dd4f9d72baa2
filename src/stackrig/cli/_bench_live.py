"""The live progress line of ``bench run`` and ``bench aio``, drawn on stderr.

The library reports :class:`stackrig.bench.Progress` readings through a callback; this
module draws them with rich when stderr is a terminal and the output is not ``--json``.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

from stackrig.output import stderr_console

if TYPE_CHECKING:
    from stackrig.bench import Progress
    from stackrig.bench.runner import ProgressCallback

__all__ = ["live_progress"]


@contextlib.contextmanager
def live_progress(json_mode: bool) -> Iterator[ProgressCallback | None]:
    """A callback drawing one transient line on stderr, or None when nobody watches."""
    if json_mode or not sys.stderr.isatty():
        yield None
        return
    from rich.live import Live
    from rich.text import Text

    with Live(Text("starting fio"), console=stderr_console(), transient=True, refresh_per_second=4) as live:

        def draw(reading: Progress) -> None:
            live.update(Text(reading.line()))

        yield draw
