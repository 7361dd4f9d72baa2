"""Run ansible-playbook on an inventory: streamed output, recap parsed, exit codes mapped.

0 when ansible succeeds; FAILED (1) for failed or unreachable hosts (named);
MISSING (3) when ansible-playbook is not installed. A JSON inventory in the
script layout (``--format script``: ``_meta.hostvars``) is handed to Ansible
through a tiny inventory script, as a dynamic inventory; every other inventory
file is given to ``-i`` as it is. Hosts on ``ansible_connection=local`` get the venv's Python
unless the inventory names an interpreter.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shlex
import stat
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import yaml

from stackrig import _proc
from stackrig.errors import ExitCode, FailedError, InterruptError, UsageError
from stackrig.fleet._reader import Inventory, is_script_layout, read_inventory

__all__ = ["PlayResult", "PlaySettings", "RecapLine", "key_file_warning", "parse_recap", "play"]

log = logging.getLogger("stackrig.fleet")

_RECAP = re.compile(
    r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)"
    r"\s+failed=(?P<failed>\d+)(?:\s+skipped=(?P<skipped>\d+))?(?:\s+rescued=(?P<rescued>\d+))?"
    r"(?:\s+ignored=(?P<ignored>\d+))?"
)
_LOCAL_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


@dataclass(frozen=True, slots=True)
class PlaySettings:
    """Everything ``fleet play`` was asked for."""

    playbook: Path
    inventory: Path
    key_file: Path | None = None
    extra_vars: tuple[str, ...] = ()
    host_key_checking: bool = True
    limit: str | None = None
    args: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RecapLine:
    host: str
    ok: int
    changed: int
    unreachable: int
    failed: int
    skipped: int = 0
    rescued: int = 0
    ignored: int = 0


@dataclass(frozen=True, slots=True)
class PlayResult:
    """How the play went: ansible's exit code, the recap per host, and who failed or was unreachable."""

    returncode: int
    recap: tuple[RecapLine, ...]
    failed: tuple[str, ...]
    unreachable: tuple[str, ...]
    command: str
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.OK if self.returncode == 0 else ExitCode.FAILED

    def problem(self) -> str | None:
        """One sentence naming the failed and unreachable hosts, or None when all went well."""
        if self.returncode == 0:
            return None
        parts = []
        if self.failed:
            parts.append(f"failed on {', '.join(self.failed)}")
        if self.unreachable:
            parts.append(f"unreachable: {', '.join(self.unreachable)}")
        detail = "; ".join(parts) or "see its output above"
        return f"ansible-playbook exited with {self.returncode}: {detail}"


def parse_recap(lines: Sequence[str]) -> tuple[RecapLine, ...]:
    """The ``PLAY RECAP`` lines of ansible-playbook's output."""
    out: list[RecapLine] = []
    seen = False
    for line in lines:
        if line.startswith("PLAY RECAP"):
            seen = True
            out = []
            continue
        if not seen:
            continue
        match = _RECAP.match(line.strip())
        if match:
            nums = {k: int(v) for k, v in match.groupdict().items() if k != "host" and v is not None}
            out.append(RecapLine(host=match["host"], **nums))
    return tuple(out)


def key_file_warning(path: Path) -> str | None:
    """ssh refuses a private key that others can read; say so before ansible fails obscurely."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        return (
            f"key file {path} has mode {mode:04o}; ssh refuses private keys readable by others: "
            f"chmod 600 {path}"
        )
    return None


def _check_inputs(settings: PlaySettings) -> list[str]:
    warnings: list[str] = []
    if not settings.playbook.is_file():
        raise UsageError(
            f"playbook {settings.playbook} does not exist", hint="give the path of a playbook .yml"
        )
    if not settings.inventory.exists():
        raise UsageError(
            f"inventory {settings.inventory} does not exist",
            hint="write one with: stackrig fleet inventory ... -o FILE",
        )
    if settings.key_file is not None:
        if not settings.key_file.is_file():
            raise UsageError(f"key file {settings.key_file} does not exist")
        warning = key_file_warning(settings.key_file)
        if warning:
            warnings.append(warning)
    for extra in settings.extra_vars:
        if extra.startswith("@"):
            if not Path(extra[1:]).is_file():
                raise UsageError(f"--extra-vars {extra}: file {extra[1:]} does not exist")
        elif "=" not in extra or not extra.partition("=")[0].strip():
            raise UsageError(f"--extra-vars {extra!r} is not KEY=VALUE or @FILE")
    return warnings


def _local_interpreters(inventory: Inventory) -> dict[str, dict[str, str]]:
    hosts: dict[str, dict[str, str]] = {}
    for entry in inventory.hosts:
        if "ansible_python_interpreter" in entry.vars:
            continue
        connection = entry.vars.get("ansible_connection")
        if connection == "local" or (
            connection is None and entry.name in _LOCAL_NAMES and entry.port is None
        ):
            hosts[entry.name] = {"ansible_python_interpreter": sys.executable}
    return hosts


def _inventory_sources(settings: PlaySettings, scratch: Path) -> list[str]:
    """``-i`` arguments: the inventory (through a script for the script layout) and local interpreters."""
    try:
        inventory = read_inventory(settings.inventory)
    except UsageError as exc:
        log.info("reading %s ourselves failed (%s); handing it to ansible as is", settings.inventory, exc)
        return ["-i", str(settings.inventory)]
    sources = [str(settings.inventory)]
    if is_script_layout(settings.inventory):
        script = scratch / "inventory.py"
        script.write_text(
            f"#!{sys.executable}\nimport sys\n"
            f"sys.stdout.write(open({str(settings.inventory.resolve())!r}, encoding='utf-8').read())\n",
            encoding="utf-8",
        )
        script.chmod(0o700)
        sources = [str(script)]
    local = _local_interpreters(inventory)
    if local:
        extra = scratch / "stackrig-local.yml"
        extra.write_text(yaml.safe_dump({"all": {"hosts": local}}), encoding="utf-8")
        sources.append(str(extra))
    return [arg for source in sources for arg in ("-i", source)]


def _extra_var_args(extra_vars: Sequence[str]) -> list[str]:
    args: list[str] = []
    for extra in extra_vars:
        if extra.startswith("@"):
            args += ["-e", extra]
        else:
            key, _, value = extra.partition("=")
            # JSON, so a value with spaces or '=' stays one value
            args += ["-e", json.dumps({key.strip(): value})]
    return args


def _stream(proc: subprocess.Popen[str], out: IO[str]) -> list[str]:
    lines: list[str] = []
    assert proc.stdout is not None  # noqa: S101 - started with stdout=PIPE
    for line in proc.stdout:
        lines.append(line.rstrip("\n"))
        out.write(line)
        out.flush()
    proc.wait()
    return lines


def play(settings: PlaySettings, *, out: IO[str], environ: Mapping[str, str] | None = None) -> PlayResult:
    """Run ansible-playbook, streaming its output to ``out``; return the recap.

    Failed or unreachable hosts are in the result (exit code 1), not raised.
    """
    warnings = _check_inputs(settings)
    for warning in warnings:
        log.warning("%s", warning)
    env = dict(os.environ if environ is None else environ)
    if not settings.host_key_checking:
        env["ANSIBLE_HOST_KEY_CHECKING"] = "False"
    env.setdefault("ANSIBLE_NOCOLOR", "1")
    env["PYTHONUNBUFFERED"] = "1"
    with tempfile.TemporaryDirectory(prefix="stackrig-play-") as scratch:
        args = _inventory_sources(settings, Path(scratch))
        if settings.key_file is not None:
            args += ["--key-file", str(settings.key_file)]
        if settings.limit:
            args += ["--limit", settings.limit]
        args += _extra_var_args(settings.extra_vars)
        args += [*settings.args, str(settings.playbook)]
        command = shlex.join(["ansible-playbook", *args])
        log.info("running %s", command)
        proc = _proc.start(
            "ansible-playbook",
            args,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            needed_for="fleet play",
        )
        try:
            lines = _stream(proc, out)
        except KeyboardInterrupt as exc:
            proc.terminate()
            proc.wait(timeout=30)
            raise InterruptError("interrupted; ansible-playbook was stopped") from exc
    recap = parse_recap(lines)
    failed = tuple(r.host for r in recap if r.failed)
    unreachable = tuple(r.host for r in recap if r.unreachable)
    if proc.returncode != 0 and not recap:
        detail = _proc.tail("\n".join(lines))
        raise FailedError(
            f"ansible-playbook exited with {proc.returncode} before running any host"
            + (f":\n{detail}" if detail else "")
        )
    return PlayResult(proc.returncode, recap, failed, unreachable, command, tuple(warnings))
