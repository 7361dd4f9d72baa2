"""The bench dashboard: a small read-only HTTP server over the runs folder and the history.

Pages (HTML shells drawn by ``static/app.js`` with the vendored uPlot, nothing from the
internet): ``/`` the run list (filterable), ``/run/<id>`` one run (summary, interactive
charts with zoom, hover values and per-series toggles, links to every raw file),
``/compare?runs=<id>,<id>`` a comparison. JSON under ``/api/``; raw files under
``/files/<run folder>/<file>``, only from inside the runs folder: ``..``, encoded
``%2e%2e%2f``, absolute paths and symlinks that lead out are refused (404). Only GET and
HEAD are answered. It binds 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import contextlib
import html
import json
import logging
import mimetypes
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from stackrig import _io
from stackrig.bench.web import _data
from stackrig.errors import MissingError, StackrigError, UsageError

__all__ = ["Dashboard", "DashboardSettings", "make_server", "serve_dashboard", "start"]

log = logging.getLogger("stackrig.bench")

_STATIC = {
    "uPlot.iife.min.js": "text/javascript; charset=utf-8",
    "uPlot.min.css": "text/css; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
    "uPlot.LICENSE": "text/plain; charset=utf-8",
}
_RAW_CSP = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'"
_CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'"


@dataclass(frozen=True, slots=True)
class DashboardSettings:
    runs_dir: Path
    db: Path
    host: str = "127.0.0.1"
    port: int = 8000


@dataclass(frozen=True, slots=True)
class Dashboard:
    """A started server: its URL and how to stop it."""

    url: str
    server: ThreadingHTTPServer

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _page(title: str, page: str) -> bytes:
    title = html.escape(title)
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{title}</title><link rel='icon' href='data:,'>"
        "<link rel='stylesheet' href='/static/uPlot.min.css'>"
        "<link rel='stylesheet' href='/static/style.css'></head>"
        f"<body data-page='{page}'><header><a href='/'>stackrig bench</a></header>"
        "<main id='main'><p class='note'>loading…</p></main>"
        "<script src='/static/uPlot.iife.min.js'></script><script src='/static/app.js'></script>"
        "</body></html>"
    ).encode()


class _Handler(BaseHTTPRequestHandler):
    server_version = "stackrig-dashboard"
    sys_version = ""
    settings: DashboardSettings

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base class signature
        log.debug("dashboard: %s", format % args)

    # ------------------------------------------------------------ answers

    def _send(self, status: int, body: bytes, ctype: str, *, head: bool = False, csp: str = _CSP) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", csp)
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _json(self, doc: Any, head: bool) -> None:
        self._send(200, json.dumps(doc, allow_nan=False).encode(), "application/json", head=head)

    def _error(self, status: HTTPStatus, message: str, head: bool) -> None:
        body = json.dumps({"error": message, "status": int(status)}).encode()
        self._send(int(status), body, "application/json", head=head)

    def do_GET(self) -> None:
        self._dispatch(head=False)

    def do_HEAD(self) -> None:
        self._dispatch(head=True)

    def _refuse(self) -> None:
        self._error(HTTPStatus.METHOD_NOT_ALLOWED, "read-only dashboard: only GET and HEAD", head=False)

    do_POST = do_PUT = do_DELETE = do_PATCH = _refuse  # noqa: N815 - http.server naming

    def _dispatch(self, *, head: bool) -> None:
        parts = urlsplit(self.path)
        raw = parts.path
        query = parse_qs(parts.query)
        try:
            self._route(raw, query, head)
        except _NotFoundError as exc:
            self._error(HTTPStatus.NOT_FOUND, str(exc) or "not found", head)
        except UsageError as exc:
            self._error(HTTPStatus.NOT_FOUND, exc.message, head)
        except StackrigError as exc:
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR, exc.message, head)
        except (BrokenPipeError, ConnectionResetError):  # the browser went away
            return

    def _route(self, raw: str, query: dict[str, list[str]], head: bool) -> None:
        s = self.settings
        if raw in ("/", "/index.html"):
            self._send(200, _page("stackrig bench — runs", "runs"), "text/html; charset=utf-8", head=head)
            return
        if raw == "/compare":
            self._send(
                200, _page("stackrig bench — compare", "compare"), "text/html; charset=utf-8", head=head
            )
            return
        if raw.startswith("/group/"):
            _data.group_detail(s.db, _segment(raw[len("/group/") :]))  # 404 before drawing a page for nothing
            self._send(200, _page("stackrig bench — group", "group"), "text/html; charset=utf-8", head=head)
            return
        if raw.startswith("/api/groups/"):
            self._json(_data.group_detail(s.db, _segment(raw[len("/api/groups/") :])), head)
            return
        if raw.startswith("/run/"):
            run_id = _segment(raw[len("/run/") :])
            _data.run_record(s.runs_dir, s.db, run_id)  # 404 before drawing a page for nothing
            self._send(200, _page(f"stackrig bench — {run_id}", "run"), "text/html; charset=utf-8", head=head)
            return
        if raw.startswith("/static/"):
            self._static(raw[len("/static/") :], head)
            return
        if raw.startswith("/files/"):
            self._file(raw[len("/files/") :], head)
            return
        api: dict[str, Callable[[], Any]] = {
            "/api/runs": lambda: _data.runs(
                s.runs_dir,
                s.db,
                _one(query, "q"),
                limit=_int(query, "limit", 50),
                offset=_int(query, "offset", 0),
            ),
            "/api/groups": lambda: _data.groups(s.db, _int(query, "limit", 50)),
            "/api/compare": lambda: _compare(s, query),
        }
        if raw in api:
            self._json(api[raw](), head)
            return
        if raw.startswith("/api/runs/"):
            rest = raw[len("/api/runs/") :]
            run_id, _, sub = rest.partition("/")
            run_id = _segment(run_id)
            if sub == "":
                self._json(_data.run_detail(s.runs_dir, s.db, run_id), head)
                return
            if sub == "series":
                self._json(_data.run_series(s.runs_dir, s.db, run_id, _one(query, "kind")), head)
                return
        raise _NotFoundError(f"no page {raw}")

    def _static(self, name: str, head: bool) -> None:
        ctype = _STATIC.get(unquote(name))
        if ctype is None:
            raise _NotFoundError("no such static file")
        body = resources.files("stackrig.bench.web").joinpath("static", unquote(name)).read_bytes()
        self._send(200, body, ctype, head=head)

    def _file(self, rel: str, head: bool) -> None:
        untrusted = unquote(rel)
        try:
            path = _io.safe_join(self.settings.runs_dir, untrusted)
        except UsageError:
            raise _NotFoundError("not found") from None  # say nothing about the folders
        if not path.is_file():
            raise _NotFoundError("no such file")
        # raw files never run code in our origin: a sandbox and no scripts at all
        self._send(200, path.read_bytes(), _file_type(path), head=head, csp=_RAW_CSP)


def _file_type(path: Path) -> str:
    if path.suffix in (".log", ".fio", ".stderr") or ".log." in path.name:
        return "text/plain; charset=utf-8"
    if path.suffix == ".html":
        return "text/html; charset=utf-8"  # a stackrig report: self-contained, no script
    guessed, _ = mimetypes.guess_type(path.name)
    if guessed in ("image/png", "image/svg+xml", "application/json", "text/csv"):
        return guessed
    return "application/octet-stream"


class _NotFoundError(Exception):
    pass


def _segment(text: str) -> str:
    value = unquote(text)
    if not value or "/" in value or value in (".", "..") or "\x00" in value:
        raise _NotFoundError("no such run")
    return value


def _one(query: dict[str, list[str]], key: str) -> str | None:
    values = query.get(key)
    return values[0] if values else None


def _int(query: dict[str, list[str]], key: str, default: int) -> int:
    text = _one(query, key)
    if text is None:
        return default
    if not text.isdigit():
        raise UsageError(f"{key} must be a whole number")
    return int(text)


def _compare(s: DashboardSettings, query: dict[str, list[str]]) -> Any:
    """``?runs=a,b,...`` (runs against the first) or ``?base=g:ID&cand=g:ID`` (groups, with intervals)."""
    base, cand = _one(query, "base"), _one(query, "cand")
    if base or cand:
        if not (base and cand):
            raise UsageError("give base= and cand=")
        return _data.compare_groups(s.db, base, cand)
    return _data.compare(s.runs_dir, s.db, _ids(query))


def _ids(query: dict[str, list[str]]) -> list[str]:
    text = _one(query, "runs") or ""
    return [_segment(part) for part in text.split(",") if part.strip()]


def make_server(settings: DashboardSettings) -> ThreadingHTTPServer:
    """A bound (not yet serving) dashboard server."""
    if not 0 <= settings.port < 65536:
        raise UsageError(f"bad port {settings.port}", hint="use 1-65535 (0 picks a free one)")
    if not settings.runs_dir.is_dir():
        raise UsageError(
            f"runs folder {settings.runs_dir} does not exist",
            hint="run `stackrig bench run` first, or give --runs-dir",
        )
    handler = type("Handler", (_Handler,), {"settings": settings})
    try:
        server = ThreadingHTTPServer((settings.host, settings.port), handler)
    except OSError as exc:
        raise MissingError(
            f"cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}",
            hint="is the port taken? choose another with --port",
        ) from exc
    server.daemon_threads = True
    return server


def start(settings: DashboardSettings) -> Dashboard:
    """Serve in a background thread (tests, aio); stop with ``Dashboard.stop``."""
    server = make_server(settings)
    thread = threading.Thread(target=server.serve_forever, name="dashboard", daemon=True)
    thread.start()
    return Dashboard(url=url_of(server), server=server)


def url_of(server: ThreadingHTTPServer) -> str:
    host, port = server.server_address[:2]
    shown = host if isinstance(host, str) else host.decode()
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


def serve_dashboard(settings: DashboardSettings, on_ready: Callable[[str], None] | None = None) -> None:
    """Serve until Ctrl-C (KeyboardInterrupt propagates after the socket is closed)."""
    server = make_server(settings)
    if on_ready is not None:
        on_ready(url_of(server))
    try:
        server.serve_forever()
    finally:
        with contextlib.suppress(OSError):
            server.server_close()
