"""stackrig: a toolkit for the people who run cloud and container infrastructure by hand.

The public API is what ``__all__`` lists; everything behind an underscore is private.
Each family (``stackrig.fleet``, ``stackrig.bench``, ...) names its own public entry points.
"""

from __future__ import annotations

from stackrig._io import atomic_write
from stackrig.errors import ExitCode, StackrigError
from stackrig.paths import Paths

__version__ = "0.1.0"

__all__ = [
    "ExitCode",
    "Paths",
    "StackrigError",
    "__version__",
    "atomic_write",
]
