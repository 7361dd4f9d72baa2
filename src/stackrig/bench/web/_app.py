"""The dashboard as an ASGI application (Starlette): pages, static files, raw files, the JSON API.

Paths are routed from the raw request path, segment by segment, so an encoded ``%2f`` never
becomes a separator and ``..`` in any spelling is refused. The work that reads the history
or the run folders runs in a small pool of threads (``Limits.workers``); JSON answers are
cached by the history's data version (SQLite's ``PRAGMA data_version``: any commit, by any
process, changes it), so a busy run list costs one cheap pragma per request, and for at most
a second (what no commit announces, a running run's process gone or its logs growing, shows
within that second). Every error is a
JSON document ``{"error": ..., "status": ...}``: no traceback and no server path in it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import sqlite3
import stat
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from http import HTTPStatus
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import anyio
import anyio.to_thread
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from stackrig import _io
from stackrig.bench.web import _data
from stackrig.bench.web._page import CSP, RAW_CSP, STATIC_TYPES, file_type, page
from stackrig.bench.web._server import Limits
from stackrig.errors import StackrigError, UsageError

__all__ = ["HttpError", "make_app"]

log = logging.getLogger("stackrig.bench")

NAME_MAX = 255  # bytes in one file name (Linux)
PATH_MAX = 4096
MAX_COMPARE = 10  # runs in one comparison
MAX_QUERY = 256  # characters of a ?q= filter
SMALL_FILE = 1 << 20  # raw files up to this are read at once; larger ones are streamed
_CHUNK = 256 * 1024
_ABSOLUTE = re.compile(r"(?<![\w.])/[^\s'\"]+")


class HttpError(Exception):
    """An answer other than 200, with a message safe to show to anyone."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _not_found(what: str = "not found") -> HttpError:
    return HttpError(HTTPStatus.NOT_FOUND, what)


def _headers(csp: str = CSP) -> dict[str, str]:
    return {
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": csp,
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }


def _error(status: HTTPStatus, message: str) -> Response:
    body = json.dumps({"error": message, "status": int(status)}).encode()
    return Response(body, int(status), _headers(), "application/json")


def _json_bytes(doc: Any) -> bytes:
    return json.dumps(doc, allow_nan=False, separators=(",", ":")).encode()


class _Busy:
    """At most ``limit`` requests in progress; past that a JSON 503 with Retry-After at once."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.active = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.active >= self.limit:
            response = _error(HTTPStatus.SERVICE_UNAVAILABLE, "the dashboard is busy; retry in a moment")
            response.headers["Retry-After"] = "1"
            await response(scope, receive, send)
            return
        self.active += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.active -= 1


class _Clock:
    """The history's data version, read on the event loop's thread (one connection, reused)."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self._conn: sqlite3.Connection | None = None
        self._inode: tuple[int, int] | None = None
        self._generation = 0

    def version(self) -> tuple[int, int] | None:
        try:
            st = self.db.stat()
        except OSError:
            self._close()
            return None
        inode = (st.st_dev, st.st_ino)
        if self._conn is None or inode != self._inode:
            self._close()
            try:
                self._conn = sqlite3.connect(
                    f"file:{quote(str(self.db))}?mode=ro",
                    uri=True,
                    isolation_level=None,
                    check_same_thread=False,
                )
            except sqlite3.Error:
                return None
            self._inode = inode
            self._generation += 1
        try:
            return (self._generation, int(self._conn.execute("PRAGMA data_version").fetchone()[0]))
        except sqlite3.Error:
            self._close()
            return None

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = None


class _Answers:
    """A bounded cache of JSON answers, each kept ``max_age`` seconds at most (touched on the
    event loop's thread only)."""

    def __init__(self, size: int = 512, max_age: float = 1.0) -> None:
        self.size = size
        self.max_age = max_age
        self._items: OrderedDict[tuple[Any, ...], tuple[float, bytes]] = OrderedDict()

    def get(self, key: tuple[Any, ...]) -> bytes | None:
        item = self._items.get(key)
        if item is None:
            return None
        if time.monotonic() - item[0] > self.max_age:
            del self._items[key]
            return None
        self._items.move_to_end(key)
        return item[1]

    def put(self, key: tuple[Any, ...], body: bytes) -> None:
        self._items[key] = (time.monotonic(), body)
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)


class Dashboard:
    """The routes of the dashboard over one runs folder and one history."""

    def __init__(self, runs_dir: Path, db: Path, limits: Limits) -> None:
        self.runs_dir = runs_dir
        self.db = db
        self.limits = limits
        self.clock = _Clock(db)
        self.answers = _Answers()
        self.static = {
            name: resources.files("stackrig.bench.web").joinpath("static", name).read_bytes()
            for name in STATIC_TYPES
        }
        self._limiter: anyio.CapacityLimiter | None = None
        self._hide = sorted(
            {str(p) for p in (runs_dir, runs_dir.absolute(), db, db.absolute(), db.parent.absolute())}
            - {"."},
            key=len,
            reverse=True,
        )

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self._limiter = anyio.CapacityLimiter(self.limits.workers)
        yield

    async def _work(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await anyio.to_thread.run_sync(fn, *args, limiter=self._limiter)

    # ------------------------------------------------------------ the one endpoint

    async def asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.endpoint(Request(scope, receive))
        await response(scope, receive, send)

    async def endpoint(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            response = _error(HTTPStatus.METHOD_NOT_ALLOWED, "read-only dashboard: only GET and HEAD")
            response.headers["Allow"] = "GET, HEAD"
            return response
        raw = request.scope.get("raw_path", request.url.path.encode()).decode("latin-1")
        try:
            return await self._route(raw, request)
        except HttpError as exc:
            return _error(exc.status, self._scrub(exc.message))
        except UsageError as exc:  # a run or a log that is not there (RunNotFoundError, ...)
            return _error(HTTPStatus.NOT_FOUND, self._scrub(exc.message))
        except StackrigError as exc:
            log.warning("dashboard: %s %s: %s", request.method, raw, exc.message)
            return _error(HTTPStatus.INTERNAL_SERVER_ERROR, self._scrub(exc.message))
        except Exception as exc:  # a bug must not take the server down nor show its traceback
            log.error("dashboard: %s %s failed: %s: %s", request.method, raw, type(exc).__name__, exc)  # noqa: TRY400
            log.debug("dashboard: traceback", exc_info=True)
            return _error(
                HTTPStatus.INTERNAL_SERVER_ERROR, "internal error; the server's log has the details"
            )

    def _scrub(self, message: str) -> str:
        """No server path in an answer: the runs folder and the history by role, others elided."""
        for known in self._hide:
            message = message.replace(known, "the runs folder" if known.endswith(self.runs_dir.name) else "…")
        return _ABSOLUTE.sub("…", message)

    async def _route(self, raw: str, request: Request) -> Response:
        if raw in ("/", "/index.html"):
            return self._html("stackrig bench — runs", "runs")
        if raw == "/compare":
            return self._html("stackrig bench — compare", "compare")
        if raw.startswith("/static/"):
            name = unquote(raw[len("/static/") :])
            if name not in self.static:
                raise _not_found("no such static file")
            return Response(self.static[name], 200, _headers(), STATIC_TYPES[name])
        if raw.startswith("/files/"):
            return await self._file(raw[len("/files/") :])
        if raw.startswith("/group/"):
            ref = _segment(raw[len("/group/") :])
            await self._work(_data.group_detail, self.db, ref)  # 404 before drawing a page for nothing
            return self._html("stackrig bench — group", "group")
        if raw.startswith("/run/"):
            run_id = _segment(raw[len("/run/") :])
            await self._work(
                _data.run_record, self.runs_dir, self.db, run_id
            )  # 404 before a page for nothing
            return self._html(f"stackrig bench — {run_id}", "run")
        if raw.startswith("/api/"):
            return await self._api(raw, request)
        raise _not_found("no such page")

    def _html(self, title: str, name: str) -> Response:
        return Response(page(title, name), 200, _headers(), "text/html; charset=utf-8")

    # ------------------------------------------------------------ the JSON API

    async def _api(self, raw: str, request: Request) -> Response:
        query = _Query(request)
        s = self
        if raw == "/api/runs":
            q = query.text("q", MAX_QUERY)
            limit, offset = query.number("limit", 50), query.number("offset", 0)
            key = ("runs", q, limit, offset)
            return await self._cached(
                key, lambda: _data.runs(s.runs_dir, s.db, q, limit=limit, offset=offset)
            )
        if raw == "/api/groups":
            limit = query.number("limit", 50)
            return await self._cached(("groups", limit), _data.groups, s.db, limit)
        if raw.startswith("/api/groups/"):
            ref = _segment(raw[len("/api/groups/") :])
            return await self._cached(("group", ref), _data.group_detail, s.db, ref)
        if raw == "/api/compare":
            base, cand = query.text("base", NAME_MAX), query.text("cand", NAME_MAX)
            if base or cand:  # two groups (or runs) with their intervals
                if not (base and cand):
                    raise HttpError(HTTPStatus.BAD_REQUEST, "give both base= and cand=")
                return await self._cached(
                    ("compare-groups", base, cand), _data.compare_groups, s.db, base, cand
                )
            ids = _ids(query.text("runs", PATH_MAX) or "")
            return await self._cached(("compare", *ids), _data.compare, s.runs_dir, s.db, ids)
        if raw.startswith("/api/runs/"):
            run_id, _, sub = raw[len("/api/runs/") :].partition("/")
            run_id = _segment(run_id)
            if sub == "":
                return self._json(await self._work(_data.run_detail, s.runs_dir, s.db, run_id))
            if sub == "series":
                kind = query.text("kind", 16)
                return await self._cached(
                    ("series", run_id, kind), _data.run_series, s.runs_dir, s.db, run_id, kind
                )
        raise _not_found("no such page")

    async def _cached(self, key: tuple[Any, ...], fn: Callable[..., Any], *args: Any) -> Response:
        version: tuple[Any, ...] | None = self.clock.version()
        if version is None:  # no history: the folders are the truth; their listing changes the key
            version = ("folders", _mtime(self.runs_dir))
        full = (version, *key)
        body = self.answers.get(full)
        if body is None:
            body = await self._work(lambda: _json_bytes(fn(*args)))
            self.answers.put(full, body)
        return Response(body, 200, _headers(), "application/json")

    def _json(self, doc: Any) -> Response:
        return Response(_json_bytes(doc), 200, _headers(), "application/json")

    # ------------------------------------------------------------ raw files

    async def _file(self, rel: str) -> Response:
        untrusted = unquote(rel)
        if len(untrusted.encode("utf-8", "surrogateescape")) > PATH_MAX or any(
            len(part.encode("utf-8", "surrogateescape")) > NAME_MAX for part in untrusted.split("/")
        ):
            raise HttpError(HTTPStatus.REQUEST_URI_TOO_LONG, "file name too long")
        fd, size, path, body = await self._work(_open_inside, self.runs_dir, untrusted)
        headers = _headers(RAW_CSP)
        ctype = file_type(path)
        if body is not None:
            return Response(body, 200, headers, ctype)
        headers["Content-Length"] = str(size)
        return StreamingResponse(_chunks(fd, self._work), 200, headers, ctype)


class _Query:
    def __init__(self, request: Request) -> None:
        self.params = request.query_params

    def text(self, key: str, longest: int) -> str | None:
        values = self.params.getlist(key)
        if not values:
            return None
        if len(values[0]) > longest:
            raise HttpError(HTTPStatus.BAD_REQUEST, f"{key} is longer than {longest} characters")
        return values[0]

    def number(self, key: str, default: int) -> int:
        """A whole number at least 0 (the functions behind the API clamp it to what they allow)."""
        text = self.text(key, 12)
        if text is None or text == "":
            return default
        if not text.isdigit():
            raise HttpError(HTTPStatus.BAD_REQUEST, f"{key} must be a whole number")
        return int(text)


def _segment(text: str) -> str:
    value = unquote(text)
    if not value or "/" in value or value in (".", "..") or "\x00" in value or len(value) > NAME_MAX:
        raise _not_found("no such run")
    return value


def _ids(text: str) -> list[str]:
    """The runs to compare, each once, in the order given (the first is the baseline)."""
    ids = list(dict.fromkeys(_segment(part.strip()) for part in text.split(",") if part.strip()))
    if len(ids) > MAX_COMPARE:
        raise HttpError(
            HTTPStatus.BAD_REQUEST, f"compare at most {MAX_COMPARE} runs at once ({len(ids)} given)"
        )
    return ids


def _mtime(folder: Path) -> int:
    try:
        return folder.stat().st_mtime_ns
    except OSError:
        return 0


def _open_inside(runs_dir: Path, untrusted: str) -> tuple[int, int, Path, bytes | None]:
    """An open descriptor of a regular file inside the runs folder, its size, its path, and its
    bytes when it is small (the descriptor is then closed already: one trip to a thread)."""
    try:
        path = _io.safe_join(runs_dir, untrusted)
    except (UsageError, RuntimeError):  # out of the folder, or a symlink loop: say nothing more
        raise _not_found() from None
    except OSError as exc:
        raise _oserror(exc) from None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise _oserror(exc) from None
    try:
        st = os.fstat(fd)
        os.set_blocking(fd, True)
    except OSError as exc:
        os.close(fd)
        raise _oserror(exc) from None
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise _not_found("no such file")
    if st.st_size > SMALL_FILE:
        return fd, st.st_size, path, None
    try:
        return fd, st.st_size, path, _read_all(fd)
    finally:
        os.close(fd)


def _oserror(exc: OSError) -> HttpError:
    import errno

    if exc.errno == errno.ENAMETOOLONG:
        return HttpError(HTTPStatus.REQUEST_URI_TOO_LONG, "file name too long")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return HttpError(HTTPStatus.FORBIDDEN, "not readable")
    return _not_found("no such file")


def _read_all(fd: int) -> bytes:
    parts = []
    while chunk := os.read(fd, _CHUNK):
        parts.append(chunk)
    return b"".join(parts)


async def _chunks(fd: int, work: Callable[..., Any]) -> AsyncIterator[bytes]:
    try:
        while chunk := await work(os.read, fd, _CHUNK):
            yield chunk
    finally:
        os.close(fd)


def make_app(runs_dir: Path, db: Path, limits: Limits) -> ASGIApp:
    """The dashboard's ASGI application (serve it with :func:`stackrig.bench.web._server.build_server`)."""
    dash = Dashboard(runs_dir, db, limits)
    app = Starlette(lifespan=dash.lifespan, middleware=[Middleware(_Busy, limit=limits.max_requests)])
    # No pattern routes: every request reaches Dashboard.asgi, which routes on the raw path itself
    # (a pattern matches the decoded path, where %2f is a slash and %0a ends the match).
    app.router.default = dash.asgi
    return app
