"""stackrig._units: one syntax for sizes, rates, durations and points in time; the figure formatters."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stackrig._units import (
    Seconds,
    UnitError,
    format_count,
    format_duration,
    format_ns,
    format_rate,
    format_size,
    format_thousands,
    parse_duration,
    parse_rate,
    parse_size,
    parse_when,
)
from stackrig.errors import ExitCode, UsageError

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("512M", 512 << 20),
        ("1g", 1 << 30),
        ("1.5T", int(1.5 * (1 << 40))),
        ("112MiB", 112 << 20),
        ("4kB", 4096),
        ("512Mi", 512 << 20),
        ("2 G", 2 << 30),
        ("100k", 102400),
        ("1P", 1 << 50),
        ("17", 17),
        ("0", 0),
        (117964800, 117964800),
        (12.7, 12),
    ],
)
def test_sizes_are_iec(text: str | int, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "12 parsecs", "M", "1.2.3G", "-1", "5X", "1GiBs"])
def test_bad_sizes_name_the_option(text: str) -> None:
    with pytest.raises(UnitError, match=r"^--mem-limit .* is not a size") as info:
        parse_size(text, what="--mem-limit")
    assert info.value.exit_code == ExitCode.USAGE
    assert isinstance(info.value, UsageError)


def test_sizes_without_a_unit_can_be_refused() -> None:
    assert parse_size("0", bare=False) == 0
    assert parse_size("32G", bare=False) == 32 << 30
    with pytest.raises(UnitError) as info:
        parse_size("32", what="host RAM", bare=False)
    assert info.value.message == "host RAM '32' is not a size"
    assert info.value.hint == "give a number and a unit, e.g. 512M, 32G, 1T (IEC)"
    with pytest.raises(UnitError, match="too large"):
        parse_size("9" * 400 + "G")
    for junk in (True, -1, float("inf")):
        with pytest.raises(UnitError):
            parse_size(junk)


@pytest.mark.parametrize(
    ("text", "bits"),
    [("2M", 2_000_000), ("2Mbit", 2_000_000), ("2mbps", 2_000_000), ("2.5M", 2_500_000), ("1 Gbit/s", 10**9),
     ("500k", 500_000), (1234, 1234), ("1234", 1234), ("100T", 10**14)],
)  # fmt: skip
def test_rates_are_si_bits(text: str | int, bits: int) -> None:
    assert parse_rate(text) == bits


@pytest.mark.parametrize(
    ("text", "message"),
    [("fast", "'fast' is not a rate"), ("0", "'0' must be above 0 bit/s"),
     ("101T", "'101T' is above 100 Tbit/s"), ("2MiB", "'2MiB' is not a rate"), (True, "True is not a rate"),
     (-5, "-5 must be above 0 bit/s")],
)  # fmt: skip
def test_bad_rates(text: str | int, message: str) -> None:
    with pytest.raises(UnitError) as info:
        parse_rate(text)
    assert info.value.message == message


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("500ms", 0.5), ("60s", 60), ("5m", 300), ("2h", 7200), ("1d", 86400), ("250us", 0.00025), ("1m30s", 90),
     ("1h30m", 5400), (" 2S ", 2), ("0", 0), ("3", 3), ("1.5", 1.5), (45, 45), (0.25, 0.25)],
)  # fmt: skip
def test_one_duration_syntax(text: str | float, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "soon", "5 parsecs", "-1", "1y", "5m junk", "s", "1.2.3s", "ms5"])
def test_bad_durations_say_the_syntax(text: str) -> None:
    with pytest.raises(UnitError) as info:
        parse_duration(text, what="--timeout")
    assert info.value.message == f"--timeout {text!r} is not a duration"
    assert info.value.hint == "write a number and a unit: 500ms, 60s, 5m, 2h, 1d"


def test_bare_numbers_in_the_option_unit_or_refused() -> None:
    assert parse_duration("250", bare="ms") == pytest.approx(0.25)
    with pytest.raises(UnitError, match="'30' has no unit"):
        parse_duration("30", bare=None)
    with pytest.raises(UnitError):
        parse_duration(30, bare=None)
    with pytest.raises(UnitError):
        parse_duration(True)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-31", dt.datetime(2026, 1, 31, tzinfo=dt.UTC)),
        ("2026-01-31T12:30", dt.datetime(2026, 1, 31, 12, 30, tzinfo=dt.UTC)),
        ("2026-01-31T12:30:00+02:00", dt.datetime(2026, 1, 31, 10, 30, tzinfo=dt.UTC)),
        ("2026-01-31T12:30:00Z", dt.datetime(2026, 1, 31, 12, 30, tzinfo=dt.UTC)),
        ("7d", NOW - dt.timedelta(days=7)),
        ("12h", NOW - dt.timedelta(hours=12)),
        ("90m", NOW - dt.timedelta(minutes=90)),
        ("0s", NOW),
    ],
)
def test_a_point_in_time_is_a_date_or_an_age(text: str, expected: dt.datetime) -> None:
    when = parse_when(text, now=NOW)
    assert when == expected
    assert when.tzinfo is not None


def test_a_point_in_time_without_an_age_back_from_now() -> None:
    before = dt.datetime.now(dt.UTC)
    when = parse_when("1h")
    assert before - dt.timedelta(hours=1, seconds=5) < when <= dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)


@pytest.mark.parametrize(
    ("text", "message", "hint"),
    [
        ("last week", "--since 'last week' is neither a date nor an age", "or an age (30m, 12h, 7d)"),
        ("2026-13-01", "--since '2026-13-01' is neither a date nor an age", "give a date (2026-01-31"),
        ("30", "--since '30' has no unit", "say which: 30d (days), 30h (hours)"),
        ("99999999d", "--since '99999999d' reaches back before year 1", "give a date"),
    ],
)
def test_bad_points_in_time(text: str, message: str, hint: str) -> None:
    with pytest.raises(UnitError) as info:
        parse_when(text, what="--since", now=NOW)
    assert info.value.message == message
    assert hint in (info.value.hint or "")


def test_size_formats() -> None:
    assert format_size(512) == "512 B"
    assert format_size(1536) == "1.5 KiB"
    assert format_size(3 << 20) == "3.0 MiB"
    assert format_size(5 << 30) == "5.0 GiB"
    assert format_size(2 << 20, decimals=0) == "2 MiB"
    assert format_size(512 << 10, unit="MiB") == "0.5 MiB"
    assert format_size(None) == "—"
    assert format_size(None, missing="-") == "-"


def test_rate_formats() -> None:
    assert format_rate(2_000_000) == "2 Mbit/s"
    assert format_rate(1.5e9) == "1.5 Gbit/s"
    assert format_rate(1500) == "1.5 kbit/s"
    assert format_rate(12) == "12 bit/s"


def test_nanosecond_formats() -> None:
    assert format_ns(None) == "—"
    assert format_ns(850) == "850 ns"
    assert format_ns(1234) == "1.23 µs"
    assert format_ns(123_456) == "123 µs"
    assert format_ns(2_500_000) == "2.5 ms"
    assert format_ns(3e9) == "3 s"
    assert format_ns(1234, decimals=1, micro="us", missing="-") == "1.2 us"
    assert format_ns(None, missing="-") == "-"
    assert format_ns(123_456_789, decimals=1) == "123.5 ms"


def test_count_formats() -> None:
    assert format_count(None) == "-"
    assert format_count(5.5) == "5.50"
    assert format_count(42) == "42"
    assert format_count(1234) == "1.23k"
    assert format_count(-2_500_000) == "-2.50M"
    assert format_count(3e9, unit=" IOPS") == "3.00G IOPS"
    assert format_count(5.5, decimals=1, small_decimals=0) == "6"
    assert format_count(12_345, decimals=1) == "12.3k"
    assert format_thousands(1234567.4) == "1,234,567"
    assert format_thousands(None) == "—"


@given(st.integers(min_value=0, max_value=2**53))
def test_sizes_are_exact_to_the_byte(size: int) -> None:
    assert parse_size(str(size)) == size
    assert parse_size(f"{size}k") == size * 1024


@given(st.integers(min_value=1, max_value=10**6), st.sampled_from(["ms", "s", "m", "h", "d"]))
def test_durations_scale_by_their_unit(number: int, unit: str) -> None:
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}[unit]
    assert parse_duration(f"{number}{unit}") == pytest.approx(number * scale)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (0.5, "500ms"), (1, "1s"), (2.0, "2s"), (90, "90s"), (300, "5m"), (600, "10m"), (7200, "2h"),
     (86400, "1d"), (0.00025, "250us"), (1.0000001, "1.0000001s")],
)  # fmt: skip
def test_durations_print_in_the_same_syntax(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
    assert str(Seconds(seconds)) == text
    assert parse_duration(text) == pytest.approx(seconds)
