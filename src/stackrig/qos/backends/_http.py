"""A small JSON-over-HTTP client for controller REST APIs, with errors translated at the boundary.

A controller that does not answer is MISSING (exit 3, "is it running?"); an
HTTP error or a body that is not JSON is FAILED naming the method, URL and the
start of the answer.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from stackrig.errors import FailedError, MissingError, UsageError

__all__ = ["ControllerDownError", "JsonClient"]


class ControllerDownError(MissingError):
    """The controller's REST API does not answer."""


@dataclass(frozen=True, slots=True)
class JsonClient:
    base: str
    what: str
    timeout: float = 20.0

    def __post_init__(self) -> None:
        if not self.base.startswith(("http://", "https://")):
            raise UsageError(
                f"invalid --controller {self.base!r}: give the REST URL, e.g. http://127.0.0.1:8080"
            )

    def call(self, method: str, path: str, body: Any = None, *, raw: bool = False) -> Any:
        url = self.base.rstrip("/") + path
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - http(s) only, checked above
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310
                text = answer.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:300]
            raise FailedError(f"{self.what} answered {exc.code} to {method} {url}: {detail}") from exc
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ControllerDownError(
                f"{self.what} at {self.base} does not answer ({reason})",
                hint="is the controller running, and is --controller its REST URL?",
            ) from exc
        if raw:
            return text
        if not text.strip():
            return None
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise FailedError(
                f"{self.what} answered {method} {url} with something that is not JSON: {text[:200]!r}"
            ) from exc
