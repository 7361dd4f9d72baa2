"""Units, in one place: sizes, rates, durations, points in time, and the figures we print.

One syntax for every family:

- **sizes** are IEC bytes: ``512M`` = 512 MiB, ``1.5G``, ``32GiB``, ``4k`` (a unit letter
  K/M/G/T/P, optionally followed by ``i`` and/or ``B``, any case);
- **rates** are SI bits per second: ``2M`` = 2,000,000 bit/s, ``500k``, ``10Gbit``, ``2mbps``;
- **durations** are a number and a unit, ``500ms``, ``60s``, ``5m``, ``2h``, ``1d``
  (also ``us``, and compounds such as ``1m30s``); a bare number is read in the unit the
  option names (seconds unless said otherwise), or refused where a unit must be said;
- **a point in time** is a date (``2026-01-31``, ``2026-01-31T12:00``, ISO with an offset;
  without one it is UTC) or an age counted back from now (``7d``, ``12h``).

The formatters print figures the way every table, report and progress line does
(``1.5 MiB``, ``2 Mbit/s``, ``1.23 ms``, ``1.20M``).
"""

from __future__ import annotations

import datetime as dt
import math
import re

from stackrig.errors import UsageError

__all__ = [
    "DURATION_HINT",
    "WHEN_HINT",
    "Seconds",
    "UnitError",
    "format_count",
    "format_duration",
    "format_ns",
    "format_rate",
    "format_size",
    "format_thousands",
    "parse_duration",
    "parse_rate",
    "parse_size",
    "parse_when",
]

DURATION_HINT = "write a number and a unit: 500ms, 60s, 5m, 2h, 1d"
WHEN_HINT = "give a date (2026-01-31, 2026-01-31T12:00) or an age (30m, 12h, 7d)"
SIZE_HINT = "give a number and a unit, e.g. 512M, 32G, 1T (IEC)"
RATE_HINT = "write bits per second with an SI suffix, e.g. 2M (2,000,000 bit/s), 500k, 10G"
MAX_RATE = 10**14  # 100 Tbit/s: beyond any port; catches typos like 10P
MAX_SIZE = 2**63

_IEC = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
_SI = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}
_SECONDS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}

_SIZE_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(?:([kmgtp])(i)?)?(b)?", re.IGNORECASE)
_RATE_RE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)\s*(bit|bps|bit/s|b)?\s*", re.IGNORECASE)
_NUMBER_RE = re.compile(r"\d+(?:\.\d+)?")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(us|ms|s|m|h|d)")


class UnitError(UsageError):
    """A size, rate, duration or point in time that cannot be understood (exit 2)."""


class Seconds(float):
    """A number of seconds that prints in the duration syntax (``60s``, ``5m``): option defaults in help."""

    def __str__(self) -> str:
        return format_duration(self)


# ---------------------------------------------------------------- parsing


def parse_size(value: str | int | float, *, what: str = "size", bare: bool = True) -> int:
    """Bytes from ``512M``, ``1.5g``, ``32GiB``, ``112MiB`` or ``4kB`` (IEC: M = MiB).

    A bare number is bytes when ``bare``; else only ``0`` is, and anything else is refused
    so that nobody gets 32 bytes of RAM by forgetting the unit.
    """
    if isinstance(value, bool):
        raise UnitError(f"{what} {value!r} is not a size")
    if isinstance(value, int | float):
        if value < 0 or not math.isfinite(value):
            raise UnitError(f"{what} {value!r} is not a size of 0 or more bytes")
        return int(value)
    text = str(value).strip()
    match = _SIZE_RE.fullmatch(text)
    if match is None or (not bare and match.group(2) is None and text != "0"):
        hint = SIZE_HINT if not bare else "write bytes or a size like 512M or 1G"
        raise UnitError(f"{what} {value!r} is not a size", hint=hint)
    from decimal import Decimal  # here: every CLI start imports this module, few commands take a size

    size = Decimal(match.group(1)) * _IEC[(match.group(2) or "").lower()]  # exact to the byte
    if size > MAX_SIZE:
        raise UnitError(f"{what} {value!r} is too large")
    return int(size)


def parse_rate(value: str | int, *, what: str = "rate") -> int:
    """Bits per second from ``2M`` (2,000,000), ``2Mbit``, ``2mbps``, ``2.5M`` or a whole number."""
    if isinstance(value, bool):
        raise UnitError(f"{value!r} is not a rate")
    if isinstance(value, int):
        bits = value
    else:
        match = _RATE_RE.fullmatch(str(value))
        if match is None:
            raise UnitError(f"{value!r} is not a rate", hint=RATE_HINT)
        bits = round(float(match.group(1)) * _SI[match.group(2).lower()])
    if bits <= 0:
        raise UnitError(f"{value!r} must be above 0 bit/s")
    if bits > MAX_RATE:
        raise UnitError(f"{value!r} is above 100 Tbit/s")
    return bits


def parse_duration(value: str | int | float, *, what: str = "duration", bare: str | None = "s") -> float:
    """Seconds from ``500ms``, ``60s``, ``5m``, ``2h``, ``1d``, ``250us`` or ``1m30s``.

    A bare number (``30``) is read in the unit ``bare`` names (seconds by default); with
    ``bare=None`` it is refused, for options where a missing unit would be a guess.
    """
    if isinstance(value, bool):
        raise UnitError(f"{what} {value!r} is not a duration", hint=DURATION_HINT)
    if isinstance(value, int | float):
        if bare is None or value < 0 or not math.isfinite(value):
            raise UnitError(f"{what} {value!r} is not a duration", hint=DURATION_HINT)
        return float(value) * _SECONDS[bare]
    text = str(value).strip().lower()
    if _NUMBER_RE.fullmatch(text):
        if bare is None:
            raise UnitError(f"{what} {value!r} has no unit", hint=DURATION_HINT)
        return float(text) * _SECONDS[bare]
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise UnitError(f"{what} {value!r} is not a duration", hint=DURATION_HINT)
    seconds = sum(float(n) * _SECONDS[u] for n, u in parts)
    if not math.isfinite(seconds):
        raise UnitError(f"{what} {value!r} is too long")
    return seconds


def parse_when(value: str, *, what: str = "time", now: dt.datetime | None = None) -> dt.datetime:
    """A point in time (timezone-aware) from a date, an ISO date-time or an age back from ``now``.

    ``2026-01-31`` is that day's midnight UTC; ``2026-01-31T12:00+02:00`` keeps its offset;
    ``7d``, ``12h``, ``30m`` are that long before now. A bare number is refused: days or
    seconds would be a guess.
    """
    text = value.strip()
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        pass
    else:
        return when if when.tzinfo else when.replace(tzinfo=dt.UTC)
    if _NUMBER_RE.fullmatch(text):
        raise UnitError(
            f"{what} {value!r} has no unit",
            hint=f"say which: {text}d (days), {text}h (hours), or give a date such as 2026-01-31",
        )
    try:
        seconds = parse_duration(text, what=what, bare=None)
    except UnitError as exc:
        raise UnitError(f"{what} {value!r} is neither a date nor an age", hint=WHEN_HINT) from exc
    current = now or dt.datetime.now(dt.UTC)
    try:
        return current - dt.timedelta(seconds=seconds)
    except OverflowError as exc:
        raise UnitError(f"{what} {value!r} reaches back before year 1", hint=WHEN_HINT) from exc


# ---------------------------------------------------------------- formatting


def format_duration(seconds: float) -> str:
    """Seconds in the duration syntax, in the largest unit keeping it whole: 300 → ``5m``, 0.5 → ``500ms``."""
    for unit in ("d", "h", "m", "s", "ms", "us"):
        count = seconds / _SECONDS[unit]
        if abs(count - round(count)) < 1e-9 * max(1.0, abs(count)) and round(count) != 0:
            return f"{round(count)}{unit}"
    return "0s" if seconds == 0 else f"{float(seconds)!r}s"


def format_size(
    value: float | None, *, unit: str | None = None, decimals: int = 1, missing: str = "—"
) -> str:
    """Bytes in IEC units: ``1.5 MiB``, ``512 B``; ``unit`` (``"MiB"``) fixes the unit."""
    if value is None:
        return missing
    if unit is not None:
        return f"{value / _IEC[unit[0].lower()]:.{decimals}f} {unit}"
    for name, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if value >= size:
            return f"{value / size:.{decimals}f} {name}"
    return f"{value:.0f} B"


def format_rate(bits: float) -> str:
    """Bits per second in SI units, 3 significant digits: 2_000_000 → ``2 Mbit/s``."""
    for div, unit in ((10**9, "Gbit/s"), (10**6, "Mbit/s"), (10**3, "kbit/s")):
        if bits >= div:
            return f"{bits / div:.3g} {unit}"
    return f"{bits:.3g} bit/s"


def format_ns(
    value: float | None, *, decimals: int | None = None, micro: str = "µs", missing: str = "—"
) -> str:
    """A time in nanoseconds as ns, µs, ms or s.

    3 significant digits (whole units from 100 on) unless ``decimals`` is given;
    ``micro="us"`` for plain-ASCII tables.
    """
    if value is None:
        return missing
    for div, unit in ((1e9, "s"), (1e6, "ms"), (1e3, micro)):
        if value >= div:
            scaled = value / div
            if decimals is not None:
                return f"{scaled:.{decimals}f} {unit}"
            return f"{scaled:.3g} {unit}" if scaled < 100 else f"{scaled:.0f} {unit}"
    return f"{value:.0f} ns"


def format_count(
    value: float | None,
    *,
    decimals: int = 2,
    unit: str = "",
    small_decimals: int | None = None,
    missing: str = "-",
) -> str:
    """A count with an SI suffix: ``1.23M``, ``4.50k``; below 1000 whole (two decimals below 10).

    ``small_decimals`` sets the decimals below 10 (default: ``decimals``).
    """
    if value is None:
        return missing
    for suffix, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= size:
            return f"{value / size:.{decimals}f}{suffix}{unit}"
    below_ten = decimals if small_decimals is None else small_decimals
    return f"{value:.0f}{unit}" if abs(value) >= 10 else f"{value:.{below_ten}f}{unit}"


def format_thousands(value: float | None, *, missing: str = "—") -> str:
    """A whole number with thousands separators: ``1,234,567``."""
    return missing if value is None else f"{value:,.0f}"
