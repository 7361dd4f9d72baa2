"""The dashboard as a server: slow, idle and greedy clients, hostile /files/ names, JSON errors
without server paths, bounds on what one request may ask, a graceful stop on SIGTERM/Ctrl-C."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from stackrig.bench.web import Dashboard, DashboardSettings, Limits, start
from tests.conftest import STACKRIG
from tests.services import free_port, port_open, start_service, wait_until

BIG = 64 << 20  # a sparse file larger than any socket buffer: its download stays in progress


@dataclass(frozen=True)
class Served:
    dash: Dashboard
    runs: Path

    @property
    def port(self) -> int:
        return self.dash.port


def _runs_folder(root: Path) -> Path:
    runs = root / "runs"
    run = runs / "20260101T000000Z-r1"
    (run / "sub").mkdir(parents=True)
    (run / "fio.json").write_text('{"jobs": []}\n')
    (run / "note.log").write_text("line\n" * 10)
    with (run / "big.bin").open("wb") as handle:
        handle.truncate(BIG)
    os.mkfifo(run / "fifo")
    (run / "loop").symlink_to(run / "loop")
    (root / "outside.txt").write_text("SECRET\n")
    (run / "out").symlink_to(root / "outside.txt")
    return runs


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("served")
    runs = _runs_folder(root)
    limits = Limits(request_timeout=1.0, keep_alive=1.0, max_requests=64, max_connections=900)
    dash = start(DashboardSettings(runs_dir=runs, db=root / "none.db", port=0, limits=limits))
    try:
        yield Served(dash, runs)
    finally:
        dash.stop()


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=15)
    return sock


def _read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response with a Content-Length (what the dashboard always sends)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed after {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, headers, body


def _get(port: int, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    with _connect(port) as sock:
        sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode("latin-1"))
        if method == "HEAD":
            data = b""
            while b"\r\n\r\n" not in data:
                data += sock.recv(65536)
            head = data.partition(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
            headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in head[1:])}
            return int(head[0].split()[1]), headers, data.partition(b"\r\n\r\n")[2]
        return _read_response(sock)


def _closed_by_peer(sock: socket.socket, within: float = 15.0) -> bool:
    """True when the server closes the connection (EOF) within ``within`` seconds."""
    sock.settimeout(within)
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
    return True


def _error_doc(status: int, body: bytes) -> dict[str, object]:
    doc = json.loads(body)
    assert doc["status"] == status
    assert isinstance(doc["error"], str)
    assert doc["error"]
    return doc


# ------------------------------------------------------------------ slow and idle clients


def test_a_client_that_never_speaks_is_closed(served: Served) -> None:
    with _connect(served.port) as sock:
        assert _closed_by_peer(sock)


def test_keep_alive_then_closed_when_idle(served: Served) -> None:
    with _connect(served.port) as sock:
        for _ in range(3):  # one connection, several requests
            sock.sendall(b"GET /api/runs HTTP/1.1\r\nHost: t\r\n\r\n")
            status, headers, _ = _read_response(sock)
            assert status == 200
            assert headers.get("connection", "keep-alive") != "close"
        assert _closed_by_peer(sock)


def test_slowloris_gets_408_while_others_are_served(served: Served) -> None:
    with _connect(served.port) as slow:
        slow.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n")
        answered = []
        deadline = time.monotonic() + 20
        got = b""
        while time.monotonic() < deadline:
            readable, _, _ = select.select([slow], [], [], 0.2)
            if readable:
                got = slow.recv(65536)
                break
            slow.sendall(b"X-Slow: 1\r\n")  # a header every 0.2 s, never the end of the head
            answered.append(_get(served.port, "/")[0])
        assert got.startswith(b"HTTP/1.1 408 ")
        _error_doc(408, got.partition(b"\r\n\r\n")[2])
        assert answered
        assert set(answered) == {200}
        assert _closed_by_peer(slow)


def test_500_idle_connections_do_not_block_and_are_closed(served: Served) -> None:
    idle = [_connect(served.port) for _ in range(500)]
    try:
        status, _, body = _get(served.port, "/api/runs")
        assert status == 200
        assert json.loads(body)["runs"] == []
        assert all(_closed_by_peer(sock) for sock in idle)
    finally:
        for sock in idle:
            sock.close()


def test_a_huge_request_head_gets_431(served: Served) -> None:
    with _connect(served.port) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * (100 * 1024) + b"\r\n\r\n")
        status, _, body = _read_response(sock)
        assert status == 431
        _error_doc(431, body)


def test_a_malformed_request_gets_json_400(served: Served) -> None:
    with _connect(served.port) as sock:
        sock.sendall(b"GET /\xff\xfe HTTP/1.1\r\nHost: t\r\n\r\n")
        status, _, body = _read_response(sock)
        assert status == 400
        _error_doc(400, body)


# ------------------------------------------------------------------ /files/ names


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("a" * 300, 414),  # one name longer than the file system allows
        ("%61" * 300, 414),  # the same, percent-encoded
        ("a/" * 2100 + "x", 414),  # a path longer than PATH_MAX
        ("%2e%2e%2f" * 2000, 414),
        ("{run}/" + "b" * 256, 414),
        ("{run}/sub", 404),  # a folder
        ("{run}/fifo", 404),  # a named pipe must not hang the server
        ("{run}/loop", 404),  # a symlink to itself
        ("{run}/out", 404),  # a symlink out of the runs folder
        ("{run}/x%00y", 404),
        ("{run}/%0d%0aSet-Cookie:%20a=b", 404),
        ("{run}/%ff%fe", 404),
        ("{run}/nosuch.json", 404),
        ("%2fetc%2fpasswd", 404),
    ],
)
def test_hostile_file_names(served: Served, name: str, status: int) -> None:
    run = "20260101T000000Z-r1"
    got, headers, body = _get(served.port, "/files/" + name.replace("{run}", run))
    assert got == status
    _error_doc(status, body)
    assert "set-cookie" not in headers
    assert b"SECRET" not in body
    assert str(served.runs).encode() not in body
    # the server is still there and well
    assert _get(served.port, f"/files/{run}/fio.json")[0] == 200


def test_raw_files_small_big_and_head(served: Served) -> None:
    run = "20260101T000000Z-r1"
    status, headers, body = _get(served.port, f"/files/{run}/note.log")
    assert status == 200
    assert body == b"line\n" * 10
    assert headers["content-type"].startswith("text/plain")
    assert "sandbox" in headers["content-security-policy"]
    status, headers, body = _get(served.port, f"/files/{run}/big.bin", method="HEAD")
    assert status == 200
    assert headers["content-length"] == str(BIG)
    assert body == b""
    with _connect(served.port) as sock:  # streamed, not read whole into memory
        sock.sendall(f"GET /files/{run}/big.bin HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
        got = 0
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(65536)
        got = len(data.partition(b"\r\n\r\n")[2])
        while chunk := sock.recv(1 << 20):
            got += len(chunk)
        assert got == BIG


# ------------------------------------------------------------------ errors and bounds


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/run/nosuch", 404),
        ("/api/runs/nosuch", 404),
        ("/api/runs/nosuch/series?kind=bw", 404),
        ("/api/runs/20260101T000000Z-r1/series?kind=nope", 404),
        ("/nowhere", 404),
        ("/static/nosuch.js", 404),
        ("/api/runs?q=" + "x" * 300, 400),
        ("/api/compare?runs=" + ",".join(f"r{i}" for i in range(11)), 400),
        ("/api/compare?runs=" + ",".join(["r1"] * 1000), 404),  # once after duplicates go: not two runs
    ],
)
def test_errors_are_json_without_server_paths(served: Served, path: str, status: int) -> None:
    got, headers, body = _get(served.port, path)
    assert got == status
    assert headers["content-type"] == "application/json"
    doc = _error_doc(status, body)
    for secret in (str(served.runs), str(served.runs.parent), "Traceback"):
        assert secret not in body.decode()
    assert "/tmp" not in str(doc["error"])


def test_only_get_and_head(served: Served) -> None:
    for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
        status, headers, body = _get(served.port, "/api/runs", method=method)
        assert status == 405
        assert headers["allow"] == "GET, HEAD"
        _error_doc(405, body)


def test_requests_past_the_bound_get_503(tmp_path: Path) -> None:
    runs = _runs_folder(tmp_path)
    limits = Limits(max_requests=2, request_timeout=5.0)
    dash = start(DashboardSettings(runs_dir=runs, db=tmp_path / "none.db", port=0, limits=limits))
    held = []
    try:
        for _ in range(2):  # two downloads nobody reads: two requests in progress
            sock = _connect(dash.port)
            sock.sendall(b"GET /files/20260101T000000Z-r1/big.bin HTTP/1.1\r\nHost: t\r\n\r\n")
            sock.recv(1024)  # the response has begun
            held.append(sock)
        status, headers, body = _get(dash.port, "/api/runs")
        assert status == 503
        assert headers["retry-after"] == "1"
        _error_doc(503, body)
        for sock in held:
            sock.close()
        held.clear()
        wait_until(lambda: _get(dash.port, "/api/runs")[0] == 200, timeout=15, what="served again")
    finally:
        for sock in held:
            sock.close()
        dash.stop()


# ------------------------------------------------------------------ a graceful stop


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_gracefully(tmp_path: Path, sig: signal.Signals) -> None:
    runs = _runs_folder(tmp_path)
    port = free_port()
    argv = [str(STACKRIG), "--data-dir", str(tmp_path), "bench", "serve", "--runs-dir", str(runs)]
    service = start_service("dashboard", [*argv, "--port", str(port)], workdir=tmp_path / "svc", port=port)
    try:
        with _connect(port) as sock:
            sock.sendall(b"GET /files/20260101T000000Z-r1/big.bin HTTP/1.1\r\nHost: t\r\n\r\n")
            data = b""
            while b"\r\n\r\n" not in data:
                data += sock.recv(65536)
            got = len(data.partition(b"\r\n\r\n")[2])
            os.kill(service.pid, sig)
            # no new connections once stopping, while the download in flight goes on to its end
            wait_until(lambda: not port_open("127.0.0.1", port), timeout=15, what="listener closed")
            while chunk := sock.recv(1 << 20):
                got += len(chunk)
            assert got == BIG
        assert service.process is not None
        assert service.process.wait(timeout=30) == 0
        assert f"dashboard stopped ({sig.name})" in service.log_path.read_text()
    finally:
        service.stop()


def test_quiet_dashboard_says_nothing(tmp_path: Path) -> None:
    """-q: errors only. The URL line and "dashboard stopped" are information: a dashboard started
    with -q, used and stopped with SIGTERM prints nothing at all; without -q it says both."""
    runs = _runs_folder(tmp_path)
    port = free_port()
    argv = [str(STACKRIG), "-q", "--data-dir", str(tmp_path), "bench", "serve", "--runs-dir", str(runs)]
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen([*argv, "--port", str(port)], stdout=stdout, stderr=stderr)
    try:
        wait_until(lambda: port_open("127.0.0.1", port), timeout=30, what="dashboard listening")
        with _connect(port) as sock:
            sock.sendall(b"GET /api/runs HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert out.read_text() == ""
    assert err.read_text() == ""
    loud = [str(STACKRIG), "--data-dir", str(tmp_path), "bench", "serve", "--runs-dir", str(runs)]
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen([*loud, "--port", str(port)], stdout=stdout, stderr=stderr)
    try:
        wait_until(lambda: "dashboard: http" in out.read_text(), timeout=30, what="the URL line")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert err.read_text().endswith("dashboard stopped (SIGTERM)\n")  # what -q silenced


def test_port_taken_is_a_clear_error(tmp_path: Path) -> None:
    runs = _runs_folder(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        argv = [str(STACKRIG), "--data-dir", str(tmp_path), "bench", "serve", "--runs-dir", str(runs)]
        done = subprocess.run(
            [*argv, "--port", str(port)], capture_output=True, text=True, timeout=60, check=False
        )
    assert done.returncode == 3, done.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr
