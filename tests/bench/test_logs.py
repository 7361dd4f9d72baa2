"""The vectorised log reader against logs real fio wrote, value by value with a plain reader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stackrig.bench import logs
from stackrig.bench.logs import LogFormatError, find_logs, parse_log_name, read_hist_log, read_log


def reference_rows(path: Path) -> list[list[int]]:
    """The plain Python reader the fast one must agree with."""
    lines = path.read_text().splitlines()
    return [[int(tok.strip(), 0) for tok in line.split(",")] for line in lines if line.strip()]


def columns_of(log: logs.FioLog) -> dict[str, np.ndarray]:
    names = {
        "time": log.time_ms,
        "value": log.value,
        "value1": log.value1,
        "ddir": log.ddir,
        "bs": log.bs,
        "offset": log.offset,
        "prio": log.prio,
        "issue": log.issue_ns,
    }
    return {c: names[c] for c in log.columns}


def assert_same(log: logs.FioLog, path: Path) -> None:
    rows = reference_rows(path)
    assert len(log) == len(rows)
    cols = columns_of(log)
    for i, name in enumerate(log.columns):
        expected = [r[i] for r in rows]
        assert cols[name].tolist() == expected, name


@pytest.mark.parametrize(
    ("name", "columns"),
    [
        ("plain_bw.1.log", ("time", "value", "ddir", "bs", "prio")),
        ("plain_iops.1.log", ("time", "value", "ddir", "bs", "prio")),
        ("plain_clat.1.log", ("time", "value", "ddir", "bs", "prio")),
        ("plain_lat.1.log", ("time", "value", "ddir", "bs", "prio")),
        ("offset_clat.2.log", ("time", "value", "ddir", "bs", "offset", "prio")),
        ("offset_bw.2.log", ("time", "value", "ddir", "bs", "offset", "prio")),
        ("prio_clat.3.log", ("time", "value", "ddir", "bs", "offset", "prio")),
        ("avg_bw.4.log", ("time", "value", "ddir", "bs", "prio")),
        ("avg_clat.4.log", ("time", "value", "ddir", "bs", "prio")),
        ("max_clat.5.log", ("time", "value", "ddir", "bs", "prio")),
    ],
)
def test_real_fio_logs_match_reference(fio_logs: Path, name: str, columns: tuple[str, ...]) -> None:
    path = fio_logs / name
    log = read_log(path)
    assert log.columns == columns
    assert len(log) > 0
    assert not log.no_data
    assert_same(log, path)


def test_log_prio_is_hex_and_decoded(fio_logs: Path) -> None:
    text = (fio_logs / "prio_clat.3.log").read_text().splitlines()[0]
    assert "0x" in text
    log = read_log(fio_logs / "prio_clat.3.log")
    assert log.prio is not None
    assert log.prio.tolist() == [r[5] for r in reference_rows(fio_logs / "prio_clat.3.log")]


def test_windowed_logs(fio_logs: Path) -> None:
    avg = read_log(fio_logs / "avg_clat.4.log")
    top = read_log(fio_logs / "max_clat.5.log")
    assert avg.windowed
    assert top.windowed
    assert not read_log(fio_logs / "plain_clat.1.log").windowed
    assert set(avg.directions) == {0, 1}
    assert avg.unit == "ns"
    assert read_log(fio_logs / "avg_bw.4.log").unit == "KiB/s"
    reads = avg.select(0)
    assert set(reads.ddir.tolist()) == {0}
    assert len(reads) + len(avg.select(1)) == len(avg)


def test_histogram_logs(fio_logs: Path) -> None:
    for name, bins, coarse in (("hist_clat_hist.6.log", 1856, 0), ("coarse_clat_hist.7.log", 232, 3)):
        path = fio_logs / name
        hist = read_hist_log(path)
        rows = reference_rows(path)
        assert hist.counts.shape == (len(rows), bins)
        assert hist.coarseness == coarse
        assert hist.time_ms.tolist() == [r[0] for r in rows]
        assert hist.ddir.tolist() == [r[1] for r in rows]
        assert hist.counts.tolist() == [r[3:] for r in rows]
        assert not hist.no_data
        values = hist.bin_ns
        assert values.shape == (bins,)
        assert bool(np.all(np.diff(values) > 0))
    assert isinstance(logs.read_any(fio_logs / "hist_clat_hist.6.log"), logs.FioHistLog)


def test_histogram_bins_follow_fio_stat_h() -> None:
    values = logs.hist_bin_values(1856)
    # below 128 each bin is one nanosecond wide
    assert values[5] == pytest.approx(5.5)
    # bin 128 starts group 1: base 128, width 2 -> middle 129
    assert values[128] == pytest.approx(129.0)
    assert values[-1] > 1e10  # the last group reaches tens of seconds


def test_gtod_reduce_log_is_no_data(fio_logs: Path) -> None:
    for name in ("gtod_bw.8.log", "gtod_iops.8.log"):
        assert read_log(fio_logs / name).no_data


def test_zero_log_is_no_data(tmp_path: Path) -> None:
    path = tmp_path / "z_lat.1.log"
    path.write_text("0, 0, 0, 0, 0\n" * 10)
    log = read_log(path)
    assert len(log) == 10
    assert log.no_data


def test_client_mode_names(fio_logs: Path) -> None:
    found = [n for n in find_logs(fio_logs, "client_*") if n.host]
    assert found, sorted(p.name for p in fio_logs.iterdir())
    name = found[0]
    assert name.kind == "bw"
    assert name.label.endswith("@" + name.host)
    log = read_log(name.path)
    assert_same(log, name.path)


def test_name_parsing() -> None:
    n = parse_log_name("/x/My16k_bw.3.log.10.0.0.1")
    assert n is not None
    assert (n.prefix, n.kind, n.job, n.host) == ("My16k", "bw", 3, "10.0.0.1")
    n = parse_log_name("a_b_clat_hist.2.log")
    assert n is not None
    assert (n.prefix, n.kind, n.job, n.is_hist) == ("a_b", "clat_hist", 2, True)
    n = parse_log_name("job_slat.log")
    assert n is not None
    assert (n.kind, n.job) == ("slat", None)
    assert parse_log_name("fio.json") is None
    assert parse_log_name("_bw.1.log") is None


# ------------------------------------------------------- newer layouts (fio 3.36+/3.37+)


def _issue_time_rows(rows: list[list[int]]) -> list[list[int]]:
    # log_issue_time=1 appends the issue time in ns: completion time minus latency.
    return [[*r, max(r[0] * 1_000_000 - r[1], 0)] for r in rows]


def test_issue_time_layout_from_real_samples(fio_logs: Path, tmp_path: Path) -> None:
    src = reference_rows(fio_logs / "offset_clat.2.log")  # time, value, ddir, bs, offset, prio
    rows = _issue_time_rows(src)  # 7 columns
    path = tmp_path / "issue_clat.1.log"
    path.write_text("".join(", ".join(str(v) for v in r) + "\n" for r in rows))
    log = read_log(path, offset=True, issue_time=True)
    assert log.columns == ("time", "value", "ddir", "bs", "offset", "prio", "issue")
    assert_same(log, path)
    # without log_offset: 6 columns time, value, ddir, bs, prio, issue
    rows6 = [[r[0], r[1], r[2], r[3], r[5], r[6]] for r in rows]
    path6 = tmp_path / "issue6_clat.1.log"
    path6.write_text("".join(", ".join(str(v) for v in r) + "\n" for r in rows6))
    log6 = read_log(path6, issue_time=True)
    assert log6.columns == ("time", "value", "ddir", "bs", "prio", "issue")
    assert_same(log6, path6)


def _window_both(rows: list[list[int]], window: int = 100) -> list[list[int]]:
    """Mean and max per window and direction from per-I/O samples (log_window_value=both)."""
    out = []
    buckets: dict[tuple[int, int], list[int]] = {}
    for r in rows:
        buckets.setdefault(((r[0] // window + 1) * window, r[2]), []).append(r[1])
    for (t, d), vals in sorted(buckets.items()):
        out.append([t, sum(vals) // len(vals), max(vals), d, 0, 0, 0x0000, 0])
    return out


def test_window_both_layouts_from_real_samples(fio_logs: Path, tmp_path: Path) -> None:
    rows = _window_both(reference_rows(fio_logs / "plain_clat.1.log"))
    path8 = tmp_path / "both_clat.1.log"
    # fio writes the priority of log_prio=1 logs in hex
    path8.write_text(
        "".join(", ".join([*(str(v) for v in r[:6]), f"0x{r[6]:04x}", str(r[7])]) + "\n" for r in rows)
    )
    log8 = read_log(path8)
    assert log8.columns == ("time", "value", "value1", "ddir", "bs", "offset", "prio", "issue")
    assert_same(log8, path8)
    assert log8.value1 is not None
    assert bool(np.all(log8.value1 >= log8.value))
    # 6 columns: time, mean, max, ddir, bs, prio (no offset, no issue time): found from the values
    path6 = tmp_path / "both6_clat.1.log"
    path6.write_text("".join(f"{r[0]}, {r[1]}, {r[2]}, {r[3]}, 0, 0\n" for r in rows))
    log6 = read_log(path6)
    assert log6.columns == ("time", "value", "value1", "ddir", "bs", "prio")
    assert_same(log6, path6)


def test_old_fio_layouts(tmp_path: Path) -> None:
    for text, cols in (
        ("10, 500\n20, 600\n", ("time", "value")),
        ("10, 500, 1\n", ("time", "value", "ddir")),
        ("10, 500, 1, 4096\n", ("time", "value", "ddir", "bs")),
        ("10, 500, 1, 4096, 1234567\n", ("time", "value", "ddir", "bs", "offset")),
    ):
        path = tmp_path / "old_bw.1.log"
        path.write_text(text)
        log = read_log(path)
        assert log.columns == cols
        assert_same(log, path)


def test_hex_digits_above_nine(tmp_path: Path) -> None:
    path = tmp_path / "h_lat.1.log"
    path.write_text("1, 100, 0, 4096, 0x00af\n2, 200, 1, 4096, 0x2004\n")
    log = read_log(path)
    assert log.prio is not None
    assert log.prio.tolist() == [0xAF, 0x2004]


def test_large_log_spans_chunks(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    n = 120_000
    t = np.sort(rng.integers(0, 100_000, n))
    v = rng.integers(0, 10**12, n)
    d = rng.integers(0, 3, n)
    path = tmp_path / "big_clat.1.log"
    path.write_text(
        "".join(f"{a}, {b}, {c}, 4096, {a * 7}, 0x0001\n" for a, b, c in zip(t, v, d, strict=True))
    )
    log = read_log(path)
    assert log.time_ms.tolist() == t.tolist()
    assert log.value.tolist() == v.tolist()
    assert log.ddir.tolist() == d.tolist()
    assert log.offset is not None
    assert log.offset.tolist() == (t * 7).tolist()
    assert log.prio is not None
    assert set(log.prio.tolist()) == {1}


# ------------------------------------------------------------------ malformed


@pytest.mark.parametrize(
    ("text", "line", "why"),
    [
        ("1, 2, 0, 4096, 0\n3, 4, 0, 4096\n", 2, "4 fields"),
        ("1, 2, 0, 4096, 0\n3, 4, 0, 4096, 0, 9\n", 2, "6 fields"),
        ("1, 2, 0, 4096, 0\n1, 2, 0, 4096, 0\n3, x, 0, 4096, 0\n", 3, "not a list of integers"),
        ("1, 2, 0, 4096, 0\n\n3, 4, 0, 4096, 0\n", 2, "empty line"),
        ("1, 2, 0, 4096, 0\n3, 4.5, 0, 4096, 0\n", 2, "not a list of integers"),
        ("1, 2, 0, 4096, 0\n3, 4, 0, 4096, 0, 1\n5, 6, 0, 4096\n", 2, "6 fields"),
        ("1, 2, 7, 4096, 0\n", 1, "do not fit"),
        ("1,2,3,4,5,6,7,8,9\n", 1, "9 fields"),
    ],
)
def test_malformed_line_names_file_and_line(tmp_path: Path, text: str, line: int, why: str) -> None:
    path = tmp_path / "bad_bw.1.log"
    path.write_text(text)
    with pytest.raises(LogFormatError) as err:
        read_log(path)
    assert str(path) in err.value.message
    assert f"line {line}" in err.value.message
    assert why in err.value.message
    assert err.value.exit_code == 2


def test_malformed_far_into_a_big_file(tmp_path: Path) -> None:
    path = tmp_path / "far_bw.1.log"
    good = "1, 2, 0, 4096, 0\n" * 200_000
    path.write_text(good + "1, 2, 0, 4096\n" + good)
    with pytest.raises(LogFormatError, match="line 200001"):
        read_log(path)


def test_missing_and_folder(tmp_path: Path) -> None:
    with pytest.raises(LogFormatError, match="does not exist"):
        read_log(tmp_path / "none_bw.1.log")
    with pytest.raises(LogFormatError, match="is a folder"):
        read_log(tmp_path)


def test_bad_histogram(tmp_path: Path) -> None:
    path = tmp_path / "x_clat_hist.1.log"
    path.write_text("100, 0, 4096, 1, 2, 3\n")
    with pytest.raises(LogFormatError, match="bins"):
        read_hist_log(path)
    path.write_text("100, 5, 4096, " + ", ".join(["0"] * 1856) + "\n")
    with pytest.raises(LogFormatError, match="direction"):
        read_hist_log(path)
    with pytest.raises(LogFormatError, match="histogram"):
        read_log(path)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "e_iops.1.log"
    path.write_text("")
    log = read_log(path)
    assert len(log) == 0
    assert log.no_data
    assert not log.windowed
    hist = read_hist_log(tmp_path / "e_iops.1.log")
    assert hist.no_data


def test_blank_line_and_bad_direction_far_into_a_big_file(tmp_path: Path) -> None:
    good = "1, 2, 0, 4096, 0\n" * 150_000
    path = tmp_path / "blank_bw.1.log"
    path.write_text(good + "\n" + good)
    with pytest.raises(LogFormatError, match="line 150001: empty line"):
        read_log(path)
    path = tmp_path / "dir_bw.1.log"
    path.write_text(good + "1, 2, 9, 4096, 0\n" + good)
    with pytest.raises(LogFormatError, match="line 150001: data direction 9"):
        read_log(path)
