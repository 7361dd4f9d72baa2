"""instances-path: where Nova keeps guest disks: file system, noatime, and a device apart from the OS."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass

from stackrig.tune._host import DEFAULT_INSTANCES_PATH, Host, ReadError
from stackrig.tune._model import Finding, Profile, Severity, Status
from stackrig.tune.checks._base import Check

_LOCAL_OK = ("ext4", "xfs", "btrfs")
_SHARED = ("nfs", "nfs4", "ceph", "glusterfs", "fuse.glusterfs", "gpfs", "lustre")
_VOLATILE = ("tmpfs", "ramfs", "overlay")
_ESCAPE = re.compile(r"\\([0-7]{3})")


@dataclass(frozen=True)
class Mount:
    device: str  # major:minor
    point: str
    options: tuple[str, ...]
    fstype: str
    source: str


def _unescape(text: str) -> str:
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), text)


def parse_mountinfo(text: str) -> list[Mount]:
    mounts = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        fields = left.split()
        tail = right.split()
        if not sep or len(fields) < 6 or len(tail) < 2:
            continue
        mounts.append(
            Mount(
                device=fields[2],
                point=_unescape(fields[4]),
                options=tuple(fields[5].split(",")),
                fstype=tail[0],
                source=_unescape(tail[1]),
            )
        )
    return mounts


def mount_of(path: str, mounts: list[Mount]) -> Mount | None:
    """The mount holding ``path``: the longest mount point above it (the last one mounted wins)."""
    best: Mount | None = None
    for mount in mounts:
        point = mount.point.rstrip("/") or "/"
        above = path == point or path.startswith(point.rstrip("/") + "/") or point == "/"
        if above and (best is None or len(point) >= len(best.point.rstrip("/") or "/")):
            best = mount
    return best


class InstancesPath(Check):
    id = "instances-path"
    title = "Guest disks live on a suitable, separate file system"
    severity = Severity.MEDIUM
    rationale = (
        "Guest disks under Nova's instances_path need a durable local or shared file system, mounted "
        "noatime so guest reads do not become inode writes, and a device apart from the OS so guests' "
        "I/O does not starve the host (and a full disk does not stop it)."
    )
    source = (
        "Nova docs: configuration/config (instances_path), admin/configuring-migrations; mount(8) noatime"
    )

    def _path(self, host: Host) -> str:
        return host.instances_path or host.nova_option("instances_path") or DEFAULT_INSTANCES_PATH

    def check(self, host: Host) -> Iterable[Finding]:
        if host.profile is Profile.GUEST:
            return [
                self.finding(Status.NA, current="-", expected="-", reason="guests keep no Nova instances")
            ]
        path = os.path.normpath("/" + self._path(host).strip("/"))
        if not host.exists(path):
            return [
                self.finding(
                    Status.NA,
                    current=f"{path} does not exist",
                    expected="-",
                    reason="not a Nova compute node yet (or give --instances-path)",
                )
            ]
        if host.live:
            path = os.path.realpath(path)
        text = host.read_optional("proc/self/mountinfo")
        if text is None:
            raise ReadError(host.shown("proc/self/mountinfo"), "no such file")
        mounts = parse_mountinfo(text)
        mount = mount_of(path, mounts)
        root = mount_of("/", mounts)
        if mount is None or root is None:
            raise ReadError(host.shown("proc/self/mountinfo"), f"no mount holds {path}")
        where = f"{path} on {mount.point} ({mount.source}, {mount.fstype})"
        return [self._fs(mount, where), self._atime(mount, where), self._device(mount, root, where)]

    def _fs(self, mount: Mount, where: str) -> Finding:
        expected = f"{', '.join(_LOCAL_OK)} or shared ({', '.join(_SHARED[:3])})"
        if mount.fstype in _LOCAL_OK:
            return self.finding(Status.PASS, current=where, expected=expected, key="filesystem")
        if mount.fstype in _SHARED:
            return self.finding(
                Status.PASS,
                current=where,
                expected=expected,
                reason="shared storage: live migration without copying disks",
                key="filesystem",
            )
        if mount.fstype in _VOLATILE:
            return self.finding(
                Status.FAIL,
                current=where,
                expected=expected,
                reason=f"{mount.fstype} does not keep guest disks across a reboot",
                fix=f"mount a disk at {mount.point if mount.point != '/' else where.split(maxsplit=1)[0]}",
                key="filesystem",
            )
        return self.finding(
            Status.WARN,
            current=where,
            expected=expected,
            reason=f"{mount.fstype} is not a file system Nova guests are usually run from",
            key="filesystem",
        )

    def _atime(self, mount: Mount, where: str) -> Finding:
        atime = next((o for o in mount.options if o in ("noatime", "relatime", "strictatime")), "relatime")
        current = f"{atime} ({where})"
        if atime == "noatime" or mount.fstype in _SHARED:
            return self.finding(Status.PASS, current=current, expected="noatime", key="noatime")
        return self.finding(
            Status.WARN,
            current=current,
            expected="noatime",
            reason="every read of a guest disk can update its inode",
            fix=f"mount -o remount,noatime {mount.point}  # and add noatime in /etc/fstab",
            key="noatime",
        )

    def _device(self, mount: Mount, root: Mount, where: str) -> Finding:
        expected = "a device apart from the OS's"
        if mount.fstype in _SHARED:
            return self.finding(
                Status.PASS, current=where, expected=expected, reason="network storage", key="device"
            )
        if mount.device == root.device or mount.source == root.source:
            return self.finding(
                Status.WARN,
                current=f"{mount.source} ({mount.device}) is also the OS's /",
                expected=expected,
                reason="guest I/O competes with the host's own, and a full disk stops both",
                fix=f"mount a separate disk at {where.split(maxsplit=1)[0]}",
                key="device",
            )
        return self.finding(
            Status.PASS,
            current=f"{mount.source} ({mount.device}); / is on {root.source} ({root.device})",
            expected=expected,
            key="device",
        )
