"""An Ansible stdout callback that writes one JSON line per host result to a file.

``stackrig tune ... --inventory`` runs ``ansible`` with this folder in
ANSIBLE_CALLBACK_PLUGINS and reads the file named by STACKRIG_TUNE_RESULTS
(ansible-core's own json callback moved out of the core into a collection, and
its tree callback is deprecated). Loaded by Ansible, never imported by stackrig.
"""

from __future__ import annotations

import json
import os
from typing import Any

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):  # type: ignore[misc]
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "stackrig_tune"

    def _write(self, result: Any, state: str) -> None:
        line = json.dumps(
            {"host": result._host.get_name(), "state": state, "result": result._result}, default=str
        )
        with open(os.environ["STACKRIG_TUNE_RESULTS"], "a", encoding="utf-8") as handle:
            handle.write(line + "\n")

    def v2_runner_on_ok(self, result: Any) -> None:
        self._write(result, "ok")

    def v2_runner_on_failed(self, result: Any, ignore_errors: bool = False) -> None:
        self._write(result, "failed")

    def v2_runner_on_unreachable(self, result: Any) -> None:
        self._write(result, "unreachable")

    def v2_runner_on_skipped(self, result: Any) -> None:
        self._write(result, "skipped")
