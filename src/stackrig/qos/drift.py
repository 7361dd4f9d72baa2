"""The state against the network: ``policy list --check`` and ``policy sync``.

Each backend compares its records with what its switches or controller hold
(:meth:`Backend.observe`): a policy is *present*, *missing* (nothing there any
more) or *changed* (there, but not as recorded); on OVS, flows carrying
stackrig's cookie that no record names are *orphans*. ``sync`` then makes the
two agree in the direction the user picks: reinstall what the state says,
forget what the network lost, delete the orphans.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from stackrig.errors import StackrigError, UsageError
from stackrig.qos.backends._base import Backend, Orphan, Seen
from stackrig.qos.state import Installed, PolicyState, locked_state

__all__ = [
    "BackendCheck",
    "CheckResult",
    "PolicyCheck",
    "SyncAction",
    "SyncRequest",
    "SyncResult",
    "check",
    "clear_leftovers",
    "observe_records",
    "sync",
]

log = logging.getLogger("stackrig.qos")

Opener = Callable[[str, str], Backend]
LOCAL_OVS = ("ovs", "local")


@dataclass(frozen=True, slots=True)
class PolicyCheck:
    name: str
    group: str | None
    switch: str
    backend: str
    target: str
    status: str  # present | missing | changed | unknown (its backend could not be read)
    detail: str = ""


@dataclass(frozen=True, slots=True)
class BackendCheck:
    backend: str
    target: str
    present: int = 0
    missing: int = 0
    changed: int = 0
    orphans: int = 0
    error: str | None = None


@dataclass(frozen=True, slots=True)
class CheckResult:
    state_file: str
    policies: tuple[PolicyCheck, ...]
    orphans: tuple[Orphan, ...]
    backends: tuple[BackendCheck, ...]

    def count(self, status: str) -> int:
        return sum(1 for p in self.policies if p.status == status)

    @property
    def in_sync(self) -> bool:
        return all(p.status == "present" for p in self.policies) and not self.orphans and not self.partial

    @property
    def partial(self) -> bool:
        return any(b.error for b in self.backends)

    @property
    def summary(self) -> str:
        """One line for cron and monitoring."""
        counts = ", ".join(
            f"{n} {status}"
            for status in ("present", "missing", "changed", "unknown")
            if (n := self.count(status)) or status == "present"
        )
        orphans = len(self.orphans)
        word = "in sync" if self.in_sync else "OUT OF SYNC"
        tail = f", {orphans} orphan flow{'s' if orphans != 1 else ''}" if orphans else ""
        failed = [f"{b.backend} {b.target}" for b in self.backends if b.error]
        cannot = f"; could not read {', '.join(failed)}" if failed else ""
        return f"qos state {word}: {counts}{tail}{cannot} ({self.state_file})"


def observe_records(
    records: Sequence[Installed], opener: Opener, *, orphans: bool = False
) -> tuple[dict[str, Seen], list[Orphan], list[BackendCheck]]:
    """Ask each backend about its records; with ``orphans``, local OVS is scanned even without records.

    A backend that cannot be read leaves its records out of the answer and is named in an
    error entry (the check is then partial).
    """
    groups: dict[tuple[str, str], list[Installed]] = {}
    for record in records:
        groups.setdefault((record.backend, record.target), []).append(record)
    if orphans:
        groups.setdefault(LOCAL_OVS, [])
    seen: dict[str, Seen] = {}
    found: list[Orphan] = []
    errors: list[BackendCheck] = []
    for (kind, target), group in groups.items():
        try:
            answer = opener(kind, target).observe(group, orphans=orphans and (kind, target) == LOCAL_OVS)
        except StackrigError as exc:
            errors.append(BackendCheck(kind, target, error=exc.message))
            continue
        seen.update(answer.seen)
        found.extend(answer.orphans)
    return seen, found, errors


def _result(
    state: PolicyState, seen: dict[str, Seen], orphans: list[Orphan], errors: list[BackendCheck]
) -> CheckResult:
    policies: list[PolicyCheck] = []
    tallies: dict[tuple[str, str], dict[str, int]] = {}
    for record in state.installed:
        got = seen.get(record.key, Seen("unknown", "its backend could not be read"))
        p = record.policy
        policies.append(
            PolicyCheck(p.name, p.group, p.switch, record.backend, record.target, got.status, got.detail)
        )
        tally = tallies.setdefault((record.backend, record.target), {})
        tally[got.status] = tally.get(got.status, 0) + 1
    for orphan in orphans:
        tallies.setdefault((orphan.backend, "local"), {})
    failed = {(e.backend, e.target): e for e in errors}
    backends = [
        failed.get(
            key,
            BackendCheck(
                key[0],
                key[1],
                t.get("present", 0),
                t.get("missing", 0),
                t.get("changed", 0),
                sum(1 for o in orphans if (o.backend, "local") == key),
            ),
        )
        for key, t in tallies.items()
    ]
    backends += [e for key, e in failed.items() if key not in tallies]
    return CheckResult(str(state.path), tuple(policies), tuple(orphans), tuple(backends))


def check(state_path: Path, opener: Opener, *, scan_ovs: bool = False) -> CheckResult:
    """Every recorded policy as present, missing, changed (or unknown), plus OVS orphans.

    OVS is scanned for orphans when the state has OVS records or ``scan_ovs`` (a lab is in use).
    """
    with locked_state(state_path) as state:
        return _check(state, opener, scan_ovs=scan_ovs)


def _check(state: PolicyState, opener: Opener, *, scan_ovs: bool) -> CheckResult:
    scan = scan_ovs or any((r.backend, r.target) == LOCAL_OVS for r in state.installed)
    seen, orphans, errors = observe_records(state.installed, opener, orphans=scan)
    return _result(state, seen, orphans, errors)


# ------------------------------------------------------------------ sync


@dataclass(frozen=True, slots=True)
class SyncRequest:
    reinstall: bool = False
    forget: bool = False
    remove_orphans: bool = False
    apply: bool = False  # --yes; else a dry run

    def __post_init__(self) -> None:
        if not (self.reinstall or self.forget or self.remove_orphans):
            raise UsageError(
                "say which way to sync: --reinstall (the network gets what the state says), "
                "--forget (the state drops what the network lost), --remove-orphans (delete stray flows)"
            )
        if self.reinstall and self.forget:
            raise UsageError("--reinstall and --forget pull opposite ways: pick one")


@dataclass(frozen=True, slots=True)
class SyncAction:
    action: str  # reinstall | forget | remove-orphan
    name: str  # the policy, or the orphan's cookie
    switch: str
    backend: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class SyncResult:
    state_file: str
    dry_run: bool
    actions: tuple[SyncAction, ...]
    before: CheckResult
    after: CheckResult | None = None
    remaining: tuple[SyncAction, ...] = ()

    @property
    def settled(self) -> bool:
        """Nothing (left) to do in the directions asked for."""
        return not (self.actions if self.dry_run else self.remaining)


def _plan(state: PolicyState, result: CheckResult, req: SyncRequest) -> list[SyncAction]:
    plan: list[SyncAction] = []
    for record, got in zip(state.installed, result.policies, strict=True):
        if req.reinstall and got.status in ("missing", "changed"):
            plan.append(
                SyncAction("reinstall", record.policy.name, record.policy.switch, record.backend, got.detail)
            )
        if req.forget and got.status == "missing":
            plan.append(
                SyncAction("forget", record.policy.name, record.policy.switch, record.backend, got.detail)
            )
    if req.remove_orphans:
        plan += [SyncAction("remove-orphan", o.cookie, o.switch, o.backend, o.flow) for o in result.orphans]
    return plan


def clear_leftovers(records: Sequence[Installed], opener: Opener) -> None:
    """Best effort, record by record: remove what is left of policies that are missing or changed
    (a changed flow, a meter whose flow is gone), so they can be pushed again on free ids. A backend
    that refuses because there is nothing left to delete is fine."""
    backends: dict[tuple[str, str], Backend] = {}
    for record in records:
        key = (record.backend, record.target)
        try:
            backend = backends.get(key) or backends.setdefault(key, opener(*key))
            backend.delete([record])
        except StackrigError as exc:
            log.debug("nothing more to remove of %s: %s", record.policy.name, exc)


def _reinstall(state: PolicyState, records: list[Installed], opener: Opener) -> None:
    groups: dict[tuple[str, str], list[Installed]] = {}
    for record in records:
        groups.setdefault((record.backend, record.target), []).append(record)
    clear_leftovers(records, opener)  # what is left of them goes before they are pushed again
    for (kind, target), group in groups.items():
        backend = opener(kind, target)
        keys = {r.key for r in group}
        taken = [r for r in state.installed if (r.backend, r.target) == (kind, target) and r.key not in keys]
        pushed = backend.push([r.policy for r in group], taken)
        # Same keys as before, so the journal's entries still name them; recorded group by group,
        # so a backend failing later leaves the state naming what the others did.
        fresh = {old.key: replace(new, key=old.key) for old, new in zip(group, pushed, strict=True)}
        state.installed = [fresh.get(r.key, r) for r in state.installed]


def sync(state_path: Path, opener: Opener, req: SyncRequest, *, scan_ovs: bool = False) -> SyncResult:
    """Plan (and with ``req.apply`` carry out) what makes the state and the network agree."""
    with locked_state(state_path) as state:
        before = _check(state, opener, scan_ovs=scan_ovs)
        plan = _plan(state, before, req)
        if not req.apply or not plan:
            return SyncResult(str(state_path), not req.apply, tuple(plan), before)
        names = {a.name for a in plan if a.action != "remove-orphan"}
        statuses = {r.key: c.status for r, c in zip(state.installed, before.policies, strict=True)}
        todo = [r for r in state.installed if r.policy.name in names]
        try:
            if req.reinstall:
                _reinstall(state, todo, opener)
            if req.forget:
                gone = [r for r in todo if statuses[r.key] == "missing"]
                clear_leftovers(gone, opener)
                state.record("policy sync --forget", [], gone)
        finally:
            if todo:
                state.save()
        if req.remove_orphans and before.orphans:
            opener(*LOCAL_OVS).delete_orphans(before.orphans)
        after = _check(state, opener, scan_ovs=scan_ovs)
        remaining = _plan(state, after, req)
        return SyncResult(str(state_path), False, tuple(plan), before, after, tuple(remaining))
