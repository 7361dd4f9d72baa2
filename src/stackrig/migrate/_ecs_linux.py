"""Kernel-facing keys of a service → linuxParameters, ulimits, systemControls, dockerSecurityOptions."""

from __future__ import annotations

from typing import Any

from stackrig.migrate._ecs_ctx import Context, mib, truthy
from stackrig.migrate._yaml import loc_of

__all__ = ["CAPABILITIES", "LINUX_KEYS", "linux_parameters", "tmpfs_mount"]

LINUX_KEYS = (
    "ulimits",
    "cap_add",
    "cap_drop",
    "init",
    "tmpfs",
    "shm_size",
    "sysctls",
    "devices",
    "security_opt",
    "pid",
    "ipc",
)
ULIMITS = (
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
)
CAPABILITIES = (
    "ALL",
    "AUDIT_CONTROL",
    "AUDIT_WRITE",
    "BLOCK_SUSPEND",
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "IPC_LOCK",
    "IPC_OWNER",
    "KILL",
    "LEASE",
    "LINUX_IMMUTABLE",
    "MAC_ADMIN",
    "MAC_OVERRIDE",
    "MKNOD",
    "NET_ADMIN",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_RAW",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_CHROOT",
    "SYS_MODULE",
    "SYS_NICE",
    "SYS_PACCT",
    "SYS_PTRACE",
    "SYS_RAWIO",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "SYSLOG",
    "WAKE_ALARM",
)
_TMPFS_OPTIONS = {
    "defaults",
    "ro",
    "rw",
    "suid",
    "nosuid",
    "dev",
    "nodev",
    "exec",
    "noexec",
    "sync",
    "async",
    "dirsync",
    "remount",
    "mand",
    "nomand",
    "atime",
    "noatime",
    "diratime",
    "nodiratime",
    "bind",
    "rbind",
    "unbindable",
    "runbindable",
    "private",
    "rprivate",
    "shared",
    "rshared",
    "slave",
    "rslave",
    "relatime",
    "norelatime",
    "strictatime",
    "nostrictatime",
    "mode",
    "uid",
    "gid",
    "nr_inodes",
    "nr_blocks",
    "mpol",
}
_PERMISSIONS = {"r": "read", "w": "write", "m": "mknod"}


def _linux(c: dict[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = c.setdefault("linuxParameters", {})
    return params


def tmpfs_mount(  # noqa: PLR0917 - the parts of one mount
    ctx: Context,
    name: str,
    path: str,
    options: list[str],
    size: int | None,
    node: Any,
    key: str,
    c: dict[str, Any],
) -> None:
    """One tmpfs mount (from the tmpfs key or a volume of type tmpfs) into linuxParameters.tmpfs."""
    if ctx.fargate:
        ctx.add(name, key, "cannot", f"Fargate has no tmpfs mounts ({path}); left out", node=node)
        return
    mount: dict[str, Any] = {"containerPath": path}
    kept = []
    for option in options:
        option_name = option.split("=", 1)[0]
        if option_name == "size":
            size = mib(option.split("=", 1)[1], f"services.{name}.{key} size")
        elif option_name in _TMPFS_OPTIONS:
            kept.append(option)
        else:
            ctx.add(name, key, "cannot", f"tmpfs option {option} is not one ECS accepts; left out", node=node)
    if not size:
        size = int(c.get("memory") or c.get("memoryReservation") or ctx.default_memory)
        ctx.add(
            name,
            key,
            "changed",
            f"ECS needs a tmpfs size: {path} gets {size} MiB (the container's memory)",
            node=node,
        )
    mount["size"] = max(size, 1)
    if kept:
        mount["mountOptions"] = kept
    _linux(c).setdefault("tmpfs", []).append(mount)


def _capabilities(ctx: Context, name: str, svc: dict[str, Any], c: dict[str, Any]) -> None:
    for key, ecs_key in (("cap_add", "add"), ("cap_drop", "drop")):
        values = svc.get(key)
        if not values:
            continue
        kept = []
        for raw in values:
            cap = str(raw).upper().removeprefix("CAP_")
            if cap not in CAPABILITIES:
                ctx.add(name, key, "cannot", f"{raw} is not a capability ECS knows; left out", node=svc)
            elif ctx.fargate and ecs_key == "add" and cap != "SYS_PTRACE":
                ctx.add(name, key, "cannot", f"Fargate adds only SYS_PTRACE, not {cap}; left out", node=svc)
            else:
                kept.append(cap)
        if kept:
            _linux(c).setdefault("capabilities", {})[ecs_key] = kept


def _ulimits(ctx: Context, name: str, svc: dict[str, Any], c: dict[str, Any]) -> None:
    limits = svc.get("ulimits")
    if not isinstance(limits, dict):
        return
    out = []
    for limit, value in limits.items():
        if str(limit) not in ULIMITS:
            ctx.add(
                name, f"ulimits.{limit}", "cannot", "not a ulimit ECS knows; left out", node=limits, at=limit
            )
            continue
        if isinstance(value, dict):
            soft = int(value.get("soft", value.get("hard", 0)) or 0)
            hard = int(value.get("hard", value.get("soft", 0)) or 0)
        else:
            soft = hard = int(value)
        out.append({"name": str(limit), "softLimit": soft, "hardLimit": hard})
    if out:
        c["ulimits"] = out


def _devices(ctx: Context, name: str, svc: dict[str, Any], c: dict[str, Any]) -> None:
    if ctx.fargate:
        ctx.add(name, "devices", "cannot", "Fargate does not pass host devices; left out", node=svc)
        return
    out = []
    for item in svc.get("devices") or []:
        if isinstance(item, dict):
            host, inside, perms = (
                str(item.get("source")),
                str(item.get("target") or item.get("source")),
                str(item.get("permissions") or "rwm"),
            )
        else:
            parts = str(item).split(":")
            host = parts[0]
            inside = parts[1] if len(parts) > 1 else host
            perms = parts[2] if len(parts) > 2 else "rwm"
        if host.startswith(("nvidia.com/", "vendor.com/")) or "=" in host:
            ctx.add(name, "devices", "cannot", f"CDI device {host} has no ECS equivalent; left out", node=svc)
            continue
        device: dict[str, Any] = {"hostPath": host, "containerPath": inside}
        permissions = [_PERMISSIONS[p] for p in perms if p in _PERMISSIONS]
        if permissions:
            device["permissions"] = permissions
        out.append(device)
    if out:
        _linux(c)["devices"] = out


def _security(ctx: Context, name: str, svc: dict[str, Any], c: dict[str, Any]) -> None:
    out = []
    for raw in svc.get("security_opt") or []:
        text = str(raw)
        key, _, value = text.replace("=", ":", 1).partition(":")
        if key == "no-new-privileges" and value in ("", "true"):
            out.append("no-new-privileges")
        elif key in ("apparmor", "label") and value and not ctx.fargate:
            out.append(f"{key}:{value}")
        else:
            ctx.add(
                name,
                "security_opt",
                "cannot",
                f"{text} is not a security option ECS accepts"
                + (" on Fargate" if ctx.fargate else "")
                + "; left out",
                node=svc,
            )
    if out:
        c["dockerSecurityOptions"] = out


def _namespaces(ctx: Context, name: str, svc: dict[str, Any]) -> None:
    """pid and ipc are task-level in ECS: remember what each service asks for."""
    for key, allowed in (
        ("pid", {"host": "host"}),
        ("ipc", {"host": "host", "shareable": "task", "private": "none", "none": "none"}),
    ):
        if key not in svc or svc[key] is None:
            continue
        value = str(svc[key])
        mode = "task" if value.startswith(("service:", "container:")) else allowed.get(value)
        if mode is None:
            ctx.add(name, key, "cannot", f"{key} {value} has no ECS equivalent; left out", node=svc)
            continue
        if ctx.fargate and (key == "ipc" or mode == "host"):
            ctx.add(name, key, "cannot", f"Fargate does not allow {key} mode {mode}; left out", node=svc)
            continue
        if mode != value:
            ctx.add(name, key, "changed", f"{key} {value} becomes the task's {key}Mode {mode}", node=svc)
        ctx.task.setdefault(f"{key}Mode", {})[name] = (mode, loc_of(svc, key))


def linux_parameters(ctx: Context, name: str, svc: dict[str, Any], c: dict[str, Any]) -> None:
    _capabilities(ctx, name, svc, c)
    _ulimits(ctx, name, svc, c)
    if "init" in svc:
        _linux(c)["initProcessEnabled"] = truthy(svc["init"])
    for item in svc.get("tmpfs") or []:
        path, _, opts = str(item).partition(":")
        tmpfs_mount(ctx, name, path, [o for o in opts.split(",") if o], None, svc, "tmpfs", c)
    if "shm_size" in svc:
        if ctx.fargate:
            ctx.add(
                name, "shm_size", "cannot", "Fargate has no shared memory size setting; left out", node=svc
            )
        else:
            _linux(c)["sharedMemorySize"] = max(mib(svc["shm_size"], f"services.{name}.shm_size"), 1)
    sysctls = svc.get("sysctls")
    if isinstance(sysctls, dict) and sysctls:
        c["systemControls"] = [{"namespace": str(k), "value": str(v)} for k, v in sysctls.items()]
    if svc.get("devices"):
        _devices(ctx, name, svc, c)
    if svc.get("security_opt"):
        _security(ctx, name, svc, c)
    _namespaces(ctx, name, svc)
