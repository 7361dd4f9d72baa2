"""A stub OpenStack on 127.0.0.1 for ``tune capacity --from-cloud``: Keystone v3 (password auth and the
catalog), placement and compute answering with the documented samples of tests/corpus/openstack."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOKEN = "gAAAAAstubtoken"


@dataclass
class Stub:
    """What the stub serves (path -> JSON) and what it was asked (method, path, token)."""

    routes: dict[str, Any]
    base: str = ""
    placement: bool = True
    seen: list[tuple[str, str, str]] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        return {
            "OS_AUTH_URL": f"{self.base}/v3", "OS_USERNAME": "admin", "OS_PASSWORD": "stub-secret",
            "OS_PROJECT_NAME": "admin", "OS_USER_DOMAIN_NAME": "Default", "OS_PROJECT_DOMAIN_NAME": "Default",
            "OS_IDENTITY_API_VERSION": "3", "OS_INTERFACE": "public", "OS_REGION_NAME": "RegionOne",
        }  # fmt: skip

    def catalog(self) -> list[dict[str, Any]]:
        services = [("compute", "nova", f"{self.base}/compute/v2.1")]
        if self.placement:
            services.append(("placement", "placement", f"{self.base}/placement"))
        return [
            {"type": kind, "name": name, "id": kind,
             "endpoints": [{"id": f"{kind}-public", "interface": "public", "region": "RegionOne",
                            "region_id": "RegionOne", "url": url}]}
            for kind, name, url in services
        ]  # fmt: skip


def _handler(stub: Stub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, code: int, doc: Any, headers: dict[str, str] | None = None) -> None:
            body = json.dumps(doc).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            stub.seen.append(("GET", self.path, self.headers.get("X-Auth-Token") or ""))
            if self.path.rstrip("/") in ("/v3", ""):
                links = [{"rel": "self", "href": f"{stub.base}/v3/"}]
                media = [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}]
                version = {"id": "v3.14", "status": "stable", "links": links, "media-types": media}
                self._send(200, {"version": version})
                return
            if self.headers.get("X-Auth-Token") != TOKEN:
                self._send(401, {"error": {"code": 401, "message": "no token"}})
                return
            if self.path in stub.routes:
                self._send(200, stub.routes[self.path])
            else:
                self._send(404, {"errors": [{"status": 404, "title": "Not Found"}]})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request = json.loads(self.rfile.read(length) or b"{}")
            stub.seen.append(("POST", self.path, ""))
            password = request.get("auth", {}).get("identity", {}).get("password", {}).get("user", {})
            if self.path != "/v3/auth/tokens" or password.get("password") != "stub-secret":
                self._send(
                    401,
                    {"error": {"code": 401, "message": "The request you have made requires authentication."}},
                )
                return
            domain = {"id": "default", "name": "Default"}
            token = {
                "methods": ["password"], "expires_at": "2099-01-01T00:00:00.000000Z",
                "issued_at": "2026-01-01T00:00:00.000000Z", "audit_ids": ["stub"],
                "user": {"id": "u1", "name": "admin", "domain": domain},
                "project": {"id": "p1", "name": "admin", "domain": domain},
                "roles": [{"id": "r1", "name": "admin"}], "catalog": stub.catalog(),
            }  # fmt: skip
            self._send(201, {"token": token}, {"X-Subject-Token": TOKEN})

    return Handler


@contextmanager
def serve(stub: Stub) -> Iterator[Stub]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(stub))
    stub.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
