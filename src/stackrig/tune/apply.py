"""Plan the writes that fix failed checks, apply them with a backup first, and revert from it.

On the live machine (root ``/``) values are written to the kernel's files. Under
any other root (a copied host, a test tree) the files are plain files: a write
leaves what the kernel would show when read back (``60`` → ``10\\n``, a
scheduler list with the new choice in brackets), and a revert puts back the
exact bytes saved in the backup.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from stackrig._fileset import FilesBeside
from stackrig._io import atomic_write, ensure_dir, safe_join
from stackrig.errors import FailedError, InterruptError, NotRootError, StackrigError, UsageError
from stackrig.tune._host import Host, ReadError, parse_bracket, render_bracket
from stackrig.tune._model import Change, Finding, Profile, Status, Style
from stackrig.tune.audit import make_host, run_check, select_checks

__all__ = [
    "ApplyResult",
    "ApplySettings",
    "NoBackupError",
    "PersistFile",
    "Plan",
    "RevertResult",
    "WriteRefusedError",
    "apply",
    "execute",
    "latest_backup",
    "plan_changes",
    "revert",
]

log = logging.getLogger("stackrig.tune")

BACKUP_VERSION = 1
SYSCTL_FILE = "etc/sysctl.d/90-stackrig.conf"
UDEV_FILE = "etc/udev/rules.d/90-stackrig-scheduler.rules"
TMPFILES_FILE = "etc/tmpfiles.d/90-stackrig.conf"
_HEADER = "# Written by stackrig tune apply --persist; stackrig tune revert BACKUP removes it.\n"


class NoBackupError(UsageError):
    """``revert --latest`` found no backup of that root left to revert."""


class WriteRefusedError(FailedError):
    """A write the kernel (or the file system) refused; what this run changed was reverted."""


@dataclass(frozen=True)
class ApplySettings:
    root: Path = Path("/")
    profile: Profile = Profile.COMPUTE_HOST
    only: tuple[str, ...] = ()
    instances_path: str | None = None
    yes: bool = False
    persist: bool = False
    backups: Path = Path()


@dataclass(frozen=True)
class PersistFile:
    path: str
    content: str
    old_content: str | None


@dataclass(frozen=True)
class Plan:
    root: str
    live: bool
    profile: Profile
    changes: tuple[Change, ...]
    persist: tuple[PersistFile, ...]
    manual: tuple[Finding, ...]


@dataclass(frozen=True)
class ApplyResult:
    plan: Plan
    applied: bool
    backup: str | None


@dataclass(frozen=True)
class RevertResult:
    backup: str
    root: str
    restored: tuple[str, ...]
    removed: tuple[str, ...]


# ------------------------------------------------------------------ planning


def plan_changes(settings: ApplySettings, host: Host | None = None) -> Plan:
    """The writes that would fix every failed or warned finding of the selected checks."""
    run, _waived = select_checks(settings.only, ())
    host = host or make_host(settings.root, settings.profile, settings.instances_path)
    changes: list[Change] = []
    manual: list[Finding] = []
    for check in run:
        for finding in run_check(check, host):
            if finding.status not in (Status.FAIL, Status.WARN):
                continue
            planned = check.plan_fix(host, finding)
            changes.extend(planned)
            if not planned:
                manual.append(finding)
    persist = _persist_files(host, changes) if settings.persist else ()
    return Plan(
        root=str(host.root),
        live=host.live,
        profile=settings.profile,
        changes=tuple(changes),
        persist=persist,
        manual=tuple(manual),
    )


def _merge(host: Host, rel: str, entries: dict[str, str], key_of: re.Pattern[str]) -> PersistFile | None:
    if not entries:
        return None
    try:
        old = host.read_optional(rel)
    except ReadError:
        old = None  # e.g. a folder in the way: the write will be refused and the run undone
    kept = []
    for line in (old or "").splitlines():
        match = key_of.match(line)
        if line.startswith("#") or (match and match.group(1) in entries):
            continue
        kept.append(line)
    body = "\n".join([*kept, *entries.values()]).strip("\n")
    return PersistFile(path=rel, content=_HEADER + body + "\n", old_content=old)


def _persist_files(host: Host, changes: list[Change]) -> tuple[PersistFile, ...]:
    sysctl = {c.sysctl: f"{c.sysctl} = {c.new}" for c in changes if c.sysctl}
    udev = {
        c.device: f'ACTION=="add|change", KERNEL=="{c.device}", ATTR{{queue/scheduler}}="{c.new}"'
        for c in changes
        if c.device
    }
    other = {f"/{c.path}": f"w /{c.path} - - - - {c.new}" for c in changes if not c.sysctl and not c.device}
    files = (
        _merge(host, SYSCTL_FILE, sysctl, re.compile(r"\s*([\w.]+)\s*=")),
        _merge(host, UDEV_FILE, udev, re.compile(r'.*KERNEL=="([^"]+)"')),
        _merge(host, TMPFILES_FILE, other, re.compile(r"w\s+(\S+)")),
    )
    return tuple(f for f in files if f is not None)


# ------------------------------------------------------------------ writing


def _render(change: Change, value: str, raw_before: str) -> str:
    """What a kernel file reads back as after ``value`` is written (for copied trees)."""
    if change.style is Style.BRACKET:
        _selected, choices = parse_bracket(raw_before)
        return render_bracket(choices, value)
    return value + "\n"


def _write_value(root: Path, live: bool, change: Change, value: str, raw: str | None = None) -> None:
    target = root / change.path
    if live:
        # Kernel files are written in place; the kernel validates the value.
        with open(target, "w", encoding="utf-8") as handle:
            handle.write(value)
        return
    # A copied tree must not lead a write out of itself (an absolute symlink into the live /sys).
    target = safe_join(root, change.path)
    atomic_write(target, raw if raw is not None else _render(change, value, change.old_raw))


def _reason(exc: BaseException) -> str:
    if isinstance(exc, StackrigError):
        return exc.message
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc)


def _require_root(live: bool, action: str) -> None:
    if live and os.geteuid() != 0:
        raise NotRootError(
            f"{action} the running kernel's settings needs root; nothing was written",
            hint="run it with sudo, or point --root at a copied tree",
        )


def _missing_dirs(root: Path, persist: tuple[PersistFile, ...]) -> list[str]:
    missing: list[str] = []
    for item in persist:
        parent = Path(item.path).parent
        chain = [parent, *parent.parents]
        for folder in reversed(chain):
            if str(folder) != "." and not (root / folder).exists() and str(folder) not in missing:
                missing.append(str(folder))
    return missing


def _backup_doc(plan: Plan, created_dirs: list[str]) -> dict[str, Any]:
    return {
        "stackrig_tune_backup": BACKUP_VERSION,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "root": str(Path(plan.root).absolute()),
        "live": plan.live,
        "profile": plan.profile.value,
        "changes": [{**asdict(c), "style": c.style.value} for c in plan.changes],
        "persist": [{"path": p.path, "old_content": p.old_content} for p in plan.persist],
        "created_dirs": created_dirs,
    }


def _write_backup(plan: Plan, backups: Path, created_dirs: list[str]) -> Path:
    ensure_dir(backups, private=True)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
    target = backups / f"tune-{stamp}.json"
    atomic_write(target, json.dumps(_backup_doc(plan, created_dirs), indent=2) + "\n", secret=True)
    return target


def execute(plan: Plan, backups: Path) -> Path:
    """Write the backup, then the persist files beside theirs, then every change, then put the
    persist files in place; undo all on the first refusal.

    The persist files are a set (:class:`~stackrig._fileset.FilesBeside`): each new one is
    written beside its target before any setting changes, so a full disk in ``/etc`` stops
    the run with nothing changed, and they go in place together once every change is made.
    Returns the backup's path. Raises :class:`WriteRefusedError` (exit 1) after putting back
    everything this run had changed.
    """
    _require_root(plan.live, "changing")
    root = Path(plan.root)
    created_dirs = _missing_dirs(root, plan.persist)
    backup = _write_backup(plan, backups, created_dirs)
    done: list[Change] = []
    made: list[str] = []
    persist = FilesBeside()
    step = ""
    try:
        for folder in created_dirs:
            step = f"the folder {folder}/"
            if not (root / folder).exists():
                ensure_dir(root / folder)
                made.append(folder)
        for item in plan.persist:
            step = f"the write {item.path}"
            persist.write(root / item.path, item.content, mode=0o644)
        for change in plan.changes:
            step = f"the write {change.path} = {change.new}"
            _write_value(root, plan.live, change, change.new)
            done.append(change)
        step = "putting the --persist files in place"
        persist.commit()
    except (OSError, StackrigError) as exc:
        persist.discard()
        undone, stuck = _undo(root, plan.live, done, made)
        raise WriteRefusedError(
            f"{step} was refused ({_reason(exc)}); " + _what_was_undone(undone, stuck),
            hint=f"the backup {backup} holds the values from before the run",
        ) from exc
    except KeyboardInterrupt as exc:
        persist.discard()
        undone, stuck = _undo(root, plan.live, done, made)
        raise InterruptError(
            "interrupted; " + _what_was_undone(undone, stuck),
            hint=f"the backup {backup} holds the values from before the run",
        ) from exc
    return backup


def _what_was_undone(undone: int, stuck: list[str]) -> str:
    if not undone and not stuck:
        return "nothing was changed"
    said = f"stopped and put back the {undone} change(s) this run had made"
    return said + (f"; could NOT put back {', '.join(stuck)}" if stuck else "")


def _undo(root: Path, live: bool, done: list[Change], made: list[str]) -> tuple[int, list[str]]:
    """Put back what a run changed, newest first; returns (how many, paths that could not be)."""
    count = 0
    stuck: list[str] = []
    for folder in reversed(made):
        with contextlib.suppress(OSError):
            (root / folder).rmdir()
    for change in reversed(done):
        try:
            _write_value(root, live, change, change.old, None if live else change.old_raw)
            count += 1
        except (OSError, StackrigError):
            log.exception("could not put back %s = %s", change.path, change.old)
            stuck.append(change.path)
    return count, stuck


def apply(settings: ApplySettings) -> ApplyResult:
    """Plan; with ``yes`` also back up and write. A dry run needs no root."""
    if settings.yes:
        _require_root(Host(root=settings.root).live, "changing")
    plan = plan_changes(settings)
    if not settings.yes or (not plan.changes and not plan.persist):
        return ApplyResult(plan=plan, applied=False, backup=None)
    backup = execute(plan, settings.backups)
    return ApplyResult(plan=plan, applied=True, backup=str(backup))


# ------------------------------------------------------------------ revert


def _load_backup(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise UsageError(f"backup {path} does not exist") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read backup {path}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise UsageError(f"backup {path} is not JSON (line {exc.lineno}: {exc.msg})") from exc
    if not isinstance(doc, dict) or doc.get("stackrig_tune_backup") != BACKUP_VERSION:
        raise UsageError(f"{path} is not a stackrig tune backup (version {BACKUP_VERSION})")
    try:
        for item in doc["changes"]:
            Change(**{**item, "style": Style(item["style"])})
        for item in doc["persist"]:
            str(item["path"])
        str(doc["root"])
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"backup {path} is damaged ({type(exc).__name__}: {exc})") from exc
    return doc


def revert(backup: Path) -> RevertResult:
    """Put back exactly the values saved in ``backup`` and remove the files --persist wrote."""
    doc = _load_backup(backup)
    root, live = Path(doc["root"]), bool(doc["live"])
    _require_root(live, "restoring")
    if not root.is_dir():
        raise UsageError(f"the backup's root {root} is not a folder")
    restored: list[str] = []
    removed: list[str] = []
    failures: list[str] = []
    # The --persist files as a set, as apply wrote them: all back, or (a full disk) all as they are.
    restoring = FilesBeside()
    try:
        for item in doc["persist"]:
            if item["old_content"] is not None:
                restoring.write(root / item["path"], item["old_content"])
        restoring.commit()
        restored.extend(item["path"] for item in doc["persist"] if item["old_content"] is not None)
        for item in reversed(doc["persist"]):
            target = root / item["path"]
            if item["old_content"] is None and target.exists():
                target.unlink()
                removed.append(item["path"])
    except (OSError, StackrigError) as exc:
        restoring.discard()
        failures.append(f"the --persist files: {_reason(exc)}")
    for folder in reversed(doc.get("created_dirs", [])):
        with contextlib.suppress(OSError):
            (root / folder).rmdir()
            removed.append(folder + "/")
    for item in reversed(doc["changes"]):
        change = Change(**{**item, "style": Style(item["style"])})
        try:
            _write_value(root, live, change, change.old, None if live else change.old_raw)
            restored.append(change.path)
        except (OSError, StackrigError) as exc:
            failures.append(f"{change.path}: {_reason(exc)}")
    if failures:
        raise FailedError(f"could not restore {len(failures)} setting(s): {'; '.join(failures)}")
    with contextlib.suppress(OSError, StackrigError):  # only --latest reads the mark
        atomic_write(_reverted_mark(backup), dt.datetime.now(dt.timezone.utc).isoformat() + "\n")
    return RevertResult(backup=str(backup), root=str(root), restored=tuple(restored), removed=tuple(removed))


def _reverted_mark(backup: Path) -> Path:
    return backup.with_name(backup.name + ".reverted")


def latest_backup(backups: Path, root: Path) -> Path:
    """The newest backup of ``root`` in ``backups`` not reverted yet (so --latest walks back in time)."""
    wanted = root.absolute()
    for path in sorted(backups.glob("tune-*.json"), reverse=True):
        if _reverted_mark(path).exists():
            continue
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            log.debug("skipping unreadable backup %s", path)
            continue
        if isinstance(doc, dict) and Path(str(doc.get("root"))) == wanted:
            return path
    raise NoBackupError(
        f"no backup of {wanted} left to revert in {backups}",
        hint="stackrig tune apply --yes writes one; each revert --latest steps back one",
    )
