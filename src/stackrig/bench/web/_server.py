"""The dashboard's HTTP server: uvicorn (httptools, uvloop when installed) with the limits a
shared dashboard needs against slow, idle and greedy clients.

uvicorn closes a connection that stays idle *between* requests (``timeout_keep_alive``) but
has no deadline for a request's own arrival: a client that connects and sends nothing, or
trickles its headers a byte at a time (slowloris), holds its connection for ever (uvicorn
issue #157, "timeout-request-start"). :class:`GuardedHttp` adds that deadline and a cap on
the size of a request's head. The listening socket is ours (a real backlog, the bind error
reported before anything starts); SIGTERM and Ctrl-C stop it gracefully: no new
connections, idle ones closed, requests in flight finished (for ``grace`` seconds at most).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import resource
import signal
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, ClassVar

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from stackrig.errors import MissingError, UsageError

__all__ = ["GuardedHttp", "Limits", "SignalledServer", "bind", "build_server"]

log = logging.getLogger("stackrig.bench")


@dataclass(frozen=True, slots=True)
class Limits:
    """What one dashboard process allows (defaults fit a team's shared dashboard on a small VM)."""

    backlog: int = 2048  # connections the kernel queues before we accept them (capped by somaxconn)
    keep_alive: float = 5.0  # an idle connection between requests is closed after this
    request_timeout: float = 10.0  # a request must arrive whole within this of its first byte
    max_head_bytes: int = 64 * 1024  # request line and headers
    max_connections: int = 1000  # open connections; past this a new one gets 503 and is closed
    max_requests: int = 128  # requests handled at once; past this the app answers 503
    workers: int = 4  # threads that read the history and the run folders
    grace: float = 10.0  # how long a graceful stop waits for requests in flight


def _refusal(status: HTTPStatus, message: str) -> bytes:
    body = json.dumps({"error": message, "status": int(status)}).encode()
    head = (
        f"HTTP/1.1 {int(status)} {status.phrase}\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class GuardedHttp(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline for each request and a cap on its head.

    The deadline runs from the connection's start (a client that never speaks) and from the
    first byte of each later request until the request is complete; uvicorn's own keep-alive
    timer covers the idle time between requests. A request head larger than the cap gets 431.
    """

    request_timeout: ClassVar[float] = 10.0
    max_head_bytes: ClassVar[int] = 64 * 1024
    max_connections: ClassVar[int] = 1000

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._head_bytes = 0  # bytes of the current request's head so far; -1 once it is whole

    # ------------------------------------------------------------ the deadline

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.request_timeout, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self._head_bytes > 0:  # a request began and never finished: say why we hang up
            self._refuse(HTTPStatus.REQUEST_TIMEOUT, "the request did not arrive in time")
        else:
            self.transport.close()

    def _refuse(self, status: HTTPStatus, message: str) -> None:
        self._disarm()
        with contextlib.suppress(RuntimeError, OSError):
            self.transport.write(_refusal(status, message))
        self.transport.close()

    # ------------------------------------------------------------ uvicorn's hooks

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            self._refuse(HTTPStatus.SERVICE_UNAVAILABLE, "too many connections; retry in a moment")
            return
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._head_bytes >= 0:
            self._head_bytes += len(data)
            if self._head_bytes > self.max_head_bytes:
                self._refuse(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "request line and headers too large")
                return
        super().data_received(data)

    def send_400_response(self, msg: str) -> None:
        self._refuse(HTTPStatus.BAD_REQUEST, "invalid HTTP request")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:
            self._arm()

    def on_headers_complete(self) -> None:
        self._head_bytes = -1
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._disarm()
        self._head_bytes = 0  # what comes next is the next request's head


class SignalledServer(uvicorn.Server):
    """uvicorn's server, stopped by SIGTERM or SIGINT without re-raising the signal afterwards
    (uvicorn re-raises it, which would kill the CLI before it can say the dashboard stopped).
    The signal that stopped it is kept in :attr:`stopped_by`. A second signal stops at once."""

    stopped_by: int | None = None

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # uvicorn's own handlers re-raise the signal: ours are installed by signals()

    @contextlib.contextmanager
    def signals(self) -> Iterator[None]:
        """Stop on SIGTERM and SIGINT while inside (from before the URL is shown, so a signal
        that comes before the loop runs still stops the server gracefully)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        wanted = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self._on_signal) for sig in wanted}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _on_signal(self, sig: int, frame: object) -> None:
        if self.should_exit:
            self.force_exit = True
        self.stopped_by = sig
        self.should_exit = True


def bind(host: str, port: int, backlog: int) -> socket.socket:
    """The listening socket, or a MissingError that says why it cannot be had."""
    if not 0 <= port < 65536:
        raise UsageError(f"bad port {port}", hint="use 1-65535 (0 picks a free one)")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise UsageError(
            f"cannot listen on {host}: {exc.strerror}", hint="give an address or a host name"
        ) from exc
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(address)
        sock.listen(backlog)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        raise MissingError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            hint="is the port taken? choose another with --port",
        ) from exc
    return sock


def _raise_open_files(wanted: int) -> None:
    """Each connection is a file descriptor: lift the soft limit toward what max_connections needs."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def build_server(app: Any, limits: Limits) -> SignalledServer:
    """A uvicorn server for ``app`` with ``limits`` (serve it with ``serve(sockets=[bind(...)])``)."""
    protocol = type(
        "DashboardHttp",
        (GuardedHttp,),
        {
            "request_timeout": limits.request_timeout,
            "max_head_bytes": limits.max_head_bytes,
            "max_connections": limits.max_connections,
        },
    )
    _raise_open_files(limits.max_connections + 64)
    config = uvicorn.Config(
        app,
        http=protocol,
        ws="none",
        lifespan="on",
        backlog=limits.backlog,
        timeout_keep_alive=max(1, round(limits.keep_alive)),
        timeout_graceful_shutdown=max(1, round(limits.grace)),
        limit_concurrency=None,  # GuardedHttp caps connections (JSON 503); _app._Busy caps requests
        log_config=None,
        log_level=logging.WARNING,
        access_log=False,
        server_header=False,
        proxy_headers=False,
    )
    return SignalledServer(config)
