"""What runs on each host of ``stackrig tune ... --inventory``: the audit, apply or revert, as JSON.

Packed with the modules it needs into a stdlib-only zipapp (:mod:`stackrig.tune._zipapp`)
and run by Ansible's ``script`` module with the host's own Python (3.9 or newer; this
module and everything it imports must stay compatible with it). It prints exactly one
line, a JSON document marked ``"stackrig_tune_remote"``, on stdout: the result in the
shape of the single-host command's ``--json`` data, or the error with its kind.

Per-host settings come in ``--vars`` as JSON, templated by Ansible from the inventory:
``root`` (stackrig_tune_root), ``skip`` (stackrig_tune_skip: ids, comma-separated or a
list) and ``data_dir`` (stackrig_tune_data_dir: where backups are kept; default the
remote user's data folder, root's with --become).
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import json
import os
import platform
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stackrig.errors import StackrigError, UsageError
from stackrig.paths import Paths
from stackrig.tune._model import Profile
from stackrig.tune.apply import ApplySettings, NoBackupError, apply, latest_backup, revert
from stackrig.tune.audit import AuditReport, AuditSettings, run_audit

__all__ = ["MARKER", "PROTOCOL", "main", "plain", "report_doc"]

MARKER = "stackrig_tune_remote"
PROTOCOL = 1


def plain(obj: Any) -> Any:
    """Dataclasses, enums, tuples and paths as plain JSON values (as ``--json`` shows them)."""
    if isinstance(obj, enum.Enum):
        return plain(obj.value)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    return obj


def report_doc(report: AuditReport) -> dict[str, Any]:
    doc: dict[str, Any] = plain(report)
    return doc


def _ids(value: Any, what: str) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value if v.strip()]
    raise UsageError(f"{what} must be check ids, comma-separated or a list; got {value!r}")


class _Vars:
    def __init__(self, text: str) -> None:
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise UsageError(f"--vars is not JSON: {exc}") from exc
        if not isinstance(doc, dict):
            raise UsageError("--vars is not a JSON object")
        root = doc.get("root") or "/"
        if not isinstance(root, str):
            raise UsageError(f"stackrig_tune_root must be a path, got {root!r}")
        self.root = Path(root)
        self.skip = tuple(_ids(doc.get("skip"), "stackrig_tune_skip"))
        data_dir = doc.get("data_dir") or None
        if data_dir is not None and not isinstance(data_dir, str):
            raise UsageError(f"stackrig_tune_data_dir must be a path, got {data_dir!r}")
        self.backups = Paths.resolve(data_dir, os.environ).tune_backups


def _audit(args: argparse.Namespace, host: _Vars) -> Any:
    settings = AuditSettings(
        root=host.root,
        profile=Profile(args.profile),
        only=tuple(args.only),
        skip=tuple(args.skip),
        instances_path=args.instances_path,
        host_skip=host.skip,
    )
    return report_doc(run_audit(settings))


def _apply(args: argparse.Namespace, host: _Vars) -> Any:
    """Apply's data, plus the --only checks this host waives; none planned when all are waived."""
    waived = [i for i in args.only if i in host.skip]
    only = [i for i in args.only if i not in host.skip]
    if waived and not only:
        return {"plan": None, "applied": False, "backup": None, "waived": waived}
    settings = ApplySettings(
        root=host.root,
        profile=Profile(args.profile),
        only=tuple(only),
        instances_path=args.instances_path,
        yes=args.yes,
        persist=args.persist,
        backups=host.backups,
    )
    return {**plain(apply(settings)), "waived": waived}


def _revert(args: argparse.Namespace, host: _Vars) -> Any:
    """Revert's data; a host with no backup left has nothing to revert (``backup`` None and why)."""
    try:
        backup = latest_backup(host.backups, host.root)
    except NoBackupError as exc:
        return {"backup": None, "root": str(host.root), "restored": [], "removed": [], "reason": exc.message}
    return plain(revert(backup))


_ACTIONS: dict[str, Callable[[argparse.Namespace, _Vars], Any]] = {
    "audit": _audit,
    "apply": _apply,
    "revert": _revert,
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stackrig-tune-remote", description=__doc__)
    parser.add_argument("action", choices=sorted(_ACTIONS))
    parser.add_argument("--vars", default="{}")
    parser.add_argument("--profile", default=Profile.COMPUTE_HOST.value)
    parser.add_argument("--only", action="append", default=[])
    parser.add_argument("--skip", action="append", default=[])
    parser.add_argument("--instances-path", default=None)
    parser.add_argument("--yes", action="store_true")
    parser.add_argument("--persist", action="store_true")
    return parser


def _error(kind: str, exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, StackrigError):
        return {
            "kind": kind,
            "type": exc.type_name,
            "message": exc.message,
            "hint": exc.hint,
            "exit_code": int(exc.exit_code),
        }
    return {"kind": kind, "type": type(exc).__name__, "message": str(exc), "hint": None, "exit_code": 70}


def main(argv: list[str] | None = None) -> int:
    """Run one action; print one marked JSON line; exit 0, or the error's exit code."""
    args = _parser().parse_args(argv)
    doc: dict[str, Any] = {
        MARKER: PROTOCOL,
        "python": platform.python_version(),
        "executable": sys.executable,
        "user": os.environ.get("USER") or os.environ.get("LOGNAME") or "",
    }
    code = 0
    try:
        doc.update(ok=True, result=_ACTIONS[args.action](args, _Vars(args.vars)))
    except StackrigError as exc:
        doc.update(ok=False, error=_error("stackrig", exc))
        code = int(exc.exit_code)
    except Exception as exc:  # noqa: BLE001 - a bug must still come back as JSON, not a traceback
        doc.update(ok=False, error=_error("internal", exc))
        code = 70
    sys.stdout.write(json.dumps(doc) + "\n")
    sys.stdout.flush()
    return code
