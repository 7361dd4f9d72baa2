"""io-scheduler: the block I/O scheduler of each disk, by kind of disk."""

from __future__ import annotations

from collections.abc import Iterable

from stackrig.tune._host import Host, ReadError, parse_bracket
from stackrig.tune._model import Change, Finding, Severity, Status, Style
from stackrig.tune.checks._base import Check

# Devices with no queue worth tuning: loop files, RAM disks, device-mapper/md stacks, optical drives.
_SKIP = ("loop", "ram", "zram", "dm-", "md", "nbd", "sr", "fd")

# Wanted schedulers per kind, best first; "legacy" for single-queue kernels (noop deadline cfq).
_WANTED = {
    ("hdd", False): ("mq-deadline", "bfq"),
    ("ssd", False): ("none", "mq-deadline"),
    ("nvme", False): ("none",),
    ("virtio", False): ("none",),
    ("hdd", True): ("deadline",),
    ("ssd", True): ("noop", "deadline"),
    ("nvme", True): ("noop", "none"),
    ("virtio", True): ("noop",),
}


def device_kind(name: str, rotational: bool) -> str:
    if name.startswith("nvme"):
        return "nvme"
    if name.startswith(("vd", "xvd")):
        return "virtio"
    return "hdd" if rotational else "ssd"


class IoScheduler(Check):
    id = "io-scheduler"
    title = "I/O scheduler suits each block device"
    severity = Severity.MEDIUM
    rationale = (
        "Rotational disks need a scheduler that sorts and bounds latency (mq-deadline or bfq; deadline on "
        "old kernels, where cfq starves guests' I/O); NVMe and virtio queues are fast or already "
        "scheduled by the host, so any scheduler only adds CPU and latency (none)."
    )
    source = "Linux kernel docs: Documentation/block/switching-sched.rst, blk-mq.rst; tuned virtual-host"

    def _devices(self, host: Host) -> list[str]:
        return [d for d in host.listdir("sys/block") if not d.startswith(_SKIP)]

    def check(self, host: Host) -> Iterable[Finding]:
        findings: list[Finding] = []
        for dev in self._devices(host):
            try:
                finding = self._one(host, dev)
            except ReadError as exc:
                finding = self.unreadable(exc, expected="a readable scheduler", key=dev)
            if finding is not None:
                findings.append(finding)
        if not findings:
            findings.append(
                self.finding(
                    Status.NA,
                    current="no disks",
                    expected="-",
                    reason="no block device with a choice of scheduler under /sys/block",
                )
            )
        return findings

    def _state(self, host: Host, dev: str) -> tuple[str, str | None, list[str], tuple[str, ...]] | None:
        text = host.read_optional(f"sys/block/{dev}/queue/scheduler")
        if text is None:
            return None
        selected, choices = parse_bracket(text)
        if len(choices) < 2 or selected is None:
            return None  # nothing to choose (device-mapper, some virtual disks)
        rotational = host.read_optional(f"sys/block/{dev}/queue/rotational")
        kind = device_kind(dev, (rotational or "0").strip() == "1")
        legacy = "none" not in choices and any(c in choices for c in ("noop", "cfq", "deadline"))
        return kind, selected, choices, _WANTED[(kind, legacy)]

    def _one(self, host: Host, dev: str) -> Finding | None:
        state = self._state(host, dev)
        if state is None:
            return None
        kind, selected, choices, wanted = state
        expected = " or ".join(wanted)
        current = f"{selected} ({kind}; available: {' '.join(choices)})"
        if selected in wanted:
            return self.finding(Status.PASS, current=current, expected=expected, key=dev)
        target = next((w for w in wanted if w in choices), None)
        if target is None:
            return self.finding(
                Status.FAIL,
                current=current,
                expected=expected,
                reason=f"none of {expected} is built into this kernel",
                key=dev,
            )
        return self.finding(
            Status.FAIL,
            current=current,
            expected=expected,
            reason=f"{kind} device uses {selected}",
            fix=f"echo {target} > /sys/block/{dev}/queue/scheduler",
            key=dev,
        )

    def plan_fix(self, host: Host, finding: Finding) -> list[Change]:
        dev = finding.id[len(self.id) + 1 : -1]
        state = self._state(host, dev)
        if state is None:
            return []
        _kind, selected, choices, wanted = state
        target = next((w for w in wanted if w in choices), None)
        if target is None or selected is None or selected == target:
            return []
        rel = f"sys/block/{dev}/queue/scheduler"
        return [
            Change(
                finding=finding.id,
                path=rel,
                old=selected,
                new=target,
                old_raw=host.read(rel),
                style=Style.BRACKET,
                device=dev,
            )
        ]
