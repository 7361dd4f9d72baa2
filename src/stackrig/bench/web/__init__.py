"""The bench dashboard: a read-only web server over the runs folder and the history.

Pages (HTML shells drawn by ``static/app.js`` with the vendored uPlot, nothing from the
internet): ``/`` the run list (filterable, paged), ``/run/<id>`` one run (summary,
interactive charts with zoom, hover values and per-series toggles, links to every raw file),
``/compare?runs=<id>,<id>`` a comparison. JSON under ``/api/``; raw files under
``/files/<run folder>/<file>``, only from inside the runs folder: ``..``, encoded
``%2e%2e%2f``, absolute paths and symlinks that lead out are refused (404). Only GET and
HEAD are answered. It binds 127.0.0.1 unless told otherwise.

It is an ASGI application (Starlette, :mod:`._app`) served by uvicorn (:mod:`._server`):
a real listen backlog, keep-alive and request deadlines against slow and idle clients, a
bounded number of connections and of requests in progress, and a graceful stop on SIGTERM
and Ctrl-C.
"""

from __future__ import annotations

import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from stackrig.bench.web._server import Limits, SignalledServer, bind, build_server
from stackrig.errors import MissingError, UsageError

__all__ = ["Dashboard", "DashboardSettings", "Limits", "serve_dashboard", "start", "url_of"]


@dataclass(frozen=True, slots=True)
class DashboardSettings:
    runs_dir: Path
    db: Path
    host: str = "127.0.0.1"
    port: int = 8000
    limits: Limits = field(default_factory=Limits)


@dataclass(slots=True)
class Dashboard:
    """A dashboard serving in a background thread (tests, aio): its URL and how to stop it."""

    url: str
    port: int
    _server: SignalledServer
    _thread: threading.Thread

    def stop(self, timeout: float = 15.0) -> None:
        """Stop gracefully: no new connections, requests in flight finished."""
        self._server.should_exit = True
        self._thread.join(timeout)


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def _prepare(settings: DashboardSettings) -> tuple[SignalledServer, socket.socket]:
    from stackrig.bench.web._app import make_app

    if not settings.runs_dir.is_dir():
        raise UsageError(
            f"runs folder {settings.runs_dir} does not exist",
            hint="run `stackrig bench run` first, or give --runs-dir",
        )
    sock = bind(settings.host, settings.port, settings.limits.backlog)
    server = build_server(make_app(settings.runs_dir, settings.db, settings.limits), settings.limits)
    return server, sock


def start(settings: DashboardSettings, *, timeout: float = 30.0) -> Dashboard:
    """Serve in a background thread; stop with :meth:`Dashboard.stop`."""
    server, sock = _prepare(settings)
    url = url_of(sock)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="dashboard", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise MissingError(f"the dashboard on {url} did not start")
        time.sleep(0.01)
    return Dashboard(url=url, port=int(sock.getsockname()[1]), _server=server, _thread=thread)


def serve_dashboard(settings: DashboardSettings, on_ready: Callable[[str], None] | None = None) -> str:
    """Serve until SIGTERM or Ctrl-C, then stop gracefully; return the name of the signal.

    The socket listens (and queues connections) before ``on_ready`` is told the URL.
    """
    server, sock = _prepare(settings)
    try:
        with server.signals():
            if on_ready is not None:
                on_ready(url_of(sock))
            server.run(sockets=[sock])
    finally:
        sock.close()
    return signal.Signals(server.stopped_by).name if server.stopped_by else "stop"
