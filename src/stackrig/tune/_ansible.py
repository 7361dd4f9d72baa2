"""Run one tune action on every host of an inventory through ``ansible`` and the ``script`` module.

The checks travel as the file :mod:`stackrig.tune._zipapp` packs; ``ansible``
copies it to each host and runs it there with the host's Python. Per-host
settings are inventory variables, templated by Ansible for each host and handed
over as one shell-quoted JSON argument (never spliced into the command line):
``stackrig_tune_root``, ``stackrig_tune_skip`` and ``stackrig_tune_data_dir``.
Results come back through a small callback plugin, one JSON line per host.
"""

from __future__ import annotations

import enum
import json
import logging
import os
import re
import shlex
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stackrig import _proc
from stackrig.errors import FailedError, UsageError
from stackrig.tune import _zipapp
from stackrig.tune.remote import MARKER

__all__ = ["FleetTarget", "HostRun", "HostState", "natural_key", "run_on_hosts"]

log = logging.getLogger("stackrig.tune")

CALLBACKS = Path(__file__).resolve().parent / "ansible_callback"
TASK_TIMEOUT = 300  # seconds one host may take; a hung host fails alone instead of holding the run
_HOST_VARS = (
    "{'root': stackrig_tune_root | default('/'), 'skip': stackrig_tune_skip | default(''), "
    "'data_dir': stackrig_tune_data_dir | default('')}"
)


class HostState(enum.Enum):
    OK = "ok"
    UNREACHABLE = "unreachable"
    NO_PYTHON = "no-python"
    PYTHON_TOO_OLD = "python-too-old"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class FleetTarget:
    """Which hosts and how to reach them: the ``ansible`` flags of ``tune ... --inventory``."""

    inventory: Path
    limit: str | None = None
    forks: int = 5
    user: str | None = None
    key_file: Path | None = None
    become: bool = False
    host_key_checking: bool = True


@dataclass(frozen=True, slots=True)
class HostRun:
    """What one host answered: its state, why when not ok, its Python and the action's result."""

    host: str
    state: HostState
    reason: str = ""
    python: str | None = None
    result: Any = None


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """``cmp-2`` before ``cmp-10``."""
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"(\d+)", name) if p)


def _check(target: FleetTarget, args: Sequence[str]) -> None:
    if not target.inventory.exists():
        raise UsageError(
            f"inventory {target.inventory} does not exist",
            hint="write one with: stackrig fleet inventory ... -o hosts.ini",
        )
    if target.forks < 1:
        raise UsageError(f"--forks must be at least 1, got {target.forks}")
    if target.key_file is not None and not target.key_file.is_file():
        raise UsageError(f"key file {target.key_file} does not exist")
    for arg in args:
        if re.search(r"{[{%#]", arg):
            raise UsageError(
                f"{arg!r} holds a template marker ('{{{{', '{{%' or '{{#'), which Ansible would run"
            )


def _marked(stdout: str) -> dict[str, Any] | None:
    for line in reversed(stdout.splitlines()):
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if isinstance(doc, dict) and doc.get(MARKER) == 1:
            return doc
    return None


def _outcome(host: str, state: str, result: Mapping[str, Any]) -> HostRun:
    if state == "unreachable":
        reason = str(result.get("msg") or "unreachable").removeprefix("Task failed: ")
        return HostRun(host, HostState.UNREACHABLE, reason)
    doc = _marked(str(result.get("stdout") or ""))
    if doc is None:
        detail = _proc.tail(str(result.get("stderr") or "")) or str(result.get("msg") or "")
        reason = detail or f"the script exited with {result.get('rc')} and printed no result"
        return HostRun(host, HostState.ERROR, reason)
    python = doc.get("python")
    if doc.get("ok") is True:
        return HostRun(host, HostState.OK, "", python, doc.get("result"))
    error = doc.get("error")
    if not isinstance(error, dict):
        error = {}
    kind = error.get("kind")
    message = str(error.get("message") or "failed")
    if error.get("hint"):
        message += f" ({error['hint']})"
    states = {"no-python": HostState.NO_PYTHON, "python-too-old": HostState.PYTHON_TOO_OLD}
    return HostRun(host, states.get(str(kind), HostState.ERROR), message, python)


def _read_results(path: Path) -> dict[str, HostRun]:
    runs: dict[str, HostRun] = {}
    if not path.exists():
        return runs
    for line in path.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        result = entry.get("result") if isinstance(entry.get("result"), dict) else {}
        runs[str(entry["host"])] = _outcome(str(entry["host"]), str(entry["state"]), result)
    return runs


def _inventory_source(inventory: Path, scratch: Path) -> str:
    """The -i argument: a JSON inventory in the --list layout (fleet inventory --format script) goes
    through a tiny inventory script, as a dynamic inventory; anything else (fleet's --format json,
    the YAML plugin's layout, included) as it is."""
    from stackrig.fleet import is_script_layout

    if not inventory.is_file() or not is_script_layout(inventory):
        return str(inventory)
    script = scratch / "inventory.py"
    script.write_text(
        f"#!{sys.executable}\nimport sys\n"
        f"sys.stdout.write(open({str(inventory.resolve())!r}, encoding='utf-8').read())\n",
        encoding="utf-8",
    )
    script.chmod(0o700)
    return str(script)


def _argv(target: FleetTarget, script: Path, action: str, args: Sequence[str]) -> list[str]:
    command = " ".join(
        [
            shlex.quote(str(script)),
            "{{ ansible_python_interpreter | default('') | quote }}",
            action,
            "--vars",
            f"{{{{ {_HOST_VARS} | to_json | quote }}}}",
            *(shlex.quote(a) for a in args),
        ]
    )
    argv = ["all", "-i", _inventory_source(target.inventory, script.parent), "--forks", str(target.forks)]
    if target.limit:
        argv += ["--limit", target.limit]
    if target.user:
        argv += ["--user", target.user]
    if target.key_file is not None:
        argv += ["--private-key", str(target.key_file)]
    if target.become:
        argv.append("--become")
    return [*argv, "-m", "script", "-a", command]


def run_on_hosts(
    target: FleetTarget, action: str, args: Sequence[str], *, environ: Mapping[str, str] | None = None
) -> list[HostRun]:
    """Run ``action`` (audit, apply, revert) with ``args`` on every host; one HostRun per host, sorted."""
    _check(target, args)
    env = dict(os.environ if environ is None else environ)
    with tempfile.TemporaryDirectory(prefix="stackrig-tune-") as scratch:
        results = Path(scratch) / "results.jsonl"
        script = _zipapp.build(Path(scratch) / "stackrig-tune")
        env.update(
            {
                "ANSIBLE_CALLBACK_PLUGINS": str(CALLBACKS),
                "ANSIBLE_STDOUT_CALLBACK": "stackrig_tune",
                "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
                "ANSIBLE_TASK_TIMEOUT": str(TASK_TIMEOUT),
                "ANSIBLE_NOCOLOR": "1",
                "STACKRIG_TUNE_RESULTS": str(results),
            }
        )
        if not target.host_key_checking:
            env["ANSIBLE_HOST_KEY_CHECKING"] = "False"
        argv = _argv(target, script, action, args)
        log.info("running ansible %s", shlex.join(argv))
        # No overall limit: each host is bounded by ansible's connection and task timeouts.
        done = _proc.run(
            "ansible", argv, env=env, check=False, timeout=None, needed_for=f"tune {action} --inventory"
        )
        runs = _read_results(results)
    if not runs:
        if done.returncode != 0 and "no hosts to target" not in done.stderr:
            detail = _proc.tail(done.stderr) or _proc.tail(done.stdout)
            raise FailedError(
                f"ansible exited with {done.returncode} before running on any host"
                + (f":\n{detail}" if detail else "")
            )
        where = f" matches --limit {target.limit}" if target.limit else ""
        raise UsageError(f"no host in {target.inventory}{where}", hint="ansible-inventory --graph lists them")
    return [runs[name] for name in sorted(runs, key=natural_key)]
