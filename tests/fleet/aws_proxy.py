"""A small real HTTP endpoint in front of moto for the failures moto cannot produce.

``mode="throttle"`` answers every request with EC2's RequestLimitExceeded (HTTP 503),
counting the attempts, so botocore's real retry logic runs against a real socket.
``mode="forward"`` passes requests through to moto; ``hold("DescribeInstances")``
makes the next such request wait (the test then interrupts the client, as Ctrl-C would);
``deny_region`` answers EC2 calls signed for that region with OptInRequired (a region
the account has not enabled); ``deny_roles`` answers AssumeRole of those role ARNs with
AccessDenied (moto does not enforce trust policies). Every request's form is kept in
``requests`` (the parameters botocore sent: RoleSessionName, ExternalId, ...).
"""

from __future__ import annotations

import http.server
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

THROTTLED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>RequestLimitExceeded</Code>'
    b"<Message>Request limit exceeded.</Message></Error></Errors>"
    b"<RequestID>stackrig-test</RequestID></Response>"
)
ACCESS_DENIED = (
    b'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
    b"<Code>AccessDenied</Code><Message>User is not authorized to perform: sts:AssumeRole</Message>"
    b"</Error><RequestId>stackrig-test</RequestId></ErrorResponse>"
)
OPT_IN_REQUIRED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>OptInRequired</Code>'
    b"<Message>You are not subscribed to this service.</Message></Error></Errors>"
    b"<RequestID>stackrig-test</RequestID></Response>"
)
HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


class Proxy:
    def __init__(self, mode: str, upstream: str | None = None) -> None:
        self.mode = mode
        self.upstream = upstream
        self.actions: list[str] = []
        self.hold_action: str | None = None
        self.hold_after: str | None = None
        self.holding = threading.Event()
        self.release = threading.Event()
        self.url = ""
        self.deny_region: str | None = None
        self.deny_roles: set[str] = set()
        self.requests: list[dict[str, str]] = []

    def hold(self, action: str, *, after: str | None = None) -> None:
        """Hold the first ``action`` request that comes after an ``after`` request."""
        self.hold_action = action
        self.hold_after = after

    def should_hold(self, action: str) -> bool:
        if action != self.hold_action or self.holding.is_set():
            return False
        return self.hold_after is None or self.hold_after in self.actions


def _handler(proxy: Proxy) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
            return

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            form = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode("utf-8", "replace")).items()}
            action = form.get("Action", "?")
            proxy.actions.append(action)
            proxy.requests.append(form)
            if proxy.mode == "throttle":
                self._reply(503, THROTTLED, {"Content-Type": "text/xml"})
                return
            scope = self.headers.get("Authorization", "")
            if proxy.deny_region and f"/{proxy.deny_region}/ec2/" in scope:
                self._reply(401, OPT_IN_REQUIRED, {"Content-Type": "text/xml"})
                return
            if action == "AssumeRole" and form.get("RoleArn") in proxy.deny_roles:
                self._reply(403, ACCESS_DENIED, {"Content-Type": "text/xml"})
                return
            if proxy.should_hold(action):
                proxy.holding.set()
                proxy.release.wait(60)
            assert proxy.upstream is not None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
            request = urllib.request.Request(  # noqa: S310 - loopback moto
                proxy.upstream + self.path, data=body, headers=headers, method="POST"
            )
            try:
                with urllib.request.urlopen(request, timeout=60) as reply:  # noqa: S310 - loopback moto
                    status, data, out = reply.status, reply.read(), dict(reply.headers.items())
            except urllib.error.HTTPError as exc:
                status, data, out = exc.code, exc.read(), dict(exc.headers.items())
            self._reply(status, data, {k: v for k, v in out.items() if k.lower() not in HOP_HEADERS})

        def _reply(self, status: int, data: bytes, headers: dict[str, str]) -> None:
            try:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                return  # the client went away (interrupted)

    return Handler


@contextmanager
def serve(mode: str, upstream: str | None = None) -> Iterator[Proxy]:
    proxy = Proxy(mode, upstream)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(proxy))
    server.daemon_threads = True
    proxy.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="test-proxy", daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.release.set()
        server.shutdown()
        server.server_close()
        thread.join(10)
