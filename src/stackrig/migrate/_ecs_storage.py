"""volumes, volumes_from and configs of a service → task volumes, mountPoints, volumesFrom.

- A named volume becomes a task volume with a Docker volume configuration (scope
  shared, the top-level driver and options; ``external`` ones are not created);
  on Fargate, where Docker volumes do not exist, a task-scoped volume.
- An anonymous volume becomes a task volume without configuration (Docker's own,
  gone with the task), as in Compose.
- A bind mount becomes a host path on the container instance (relative paths
  resolved against the compose file's folder, with a warning: those files must be
  on every instance); Fargate forbids host paths.
- A tmpfs volume becomes a tmpfs mount in linuxParameters.
"""

from __future__ import annotations

import re
from typing import Any

from stackrig.migrate._ecs_ctx import (
    Context,
    ecs_name,
    mapping,
    merge_extension,
    mib,
    no_container,
    text_map,
    truthy,
)
from stackrig.migrate._ecs_linux import tmpfs_mount
from stackrig.migrate._project import WRITTEN
from stackrig.migrate._syntax import is_path

__all__ = ["STORAGE_KEYS", "storage"]

STORAGE_KEYS = ("volumes", "volumes_from", "configs")


def _named(ctx: Context, name: str, source: str, items: Any, index: int) -> str:
    declared = (ctx.project.model.get("volumes") or {}).get(source)
    declared = declared if isinstance(declared, dict) else {}
    vol = ecs_name(source)
    if vol != source:
        ctx.add(name, "volumes", "changed", f"volume {source} is named {vol} in ECS", node=items, at=index)
    if vol in ctx.volumes:
        return vol
    if ctx.fargate:
        ctx.add(
            name,
            "volumes",
            "cannot",
            f"Fargate has no Docker volumes: {source} lives as long as the task "
            "(use EFS for data that must last)",
            node=items,
            at=index,
        )
        ctx.volumes[vol] = {"name": vol}
        return vol
    config: dict[str, Any] = {
        "scope": "shared",
        "autoprovision": not truthy(declared.get("external", False)),
        "driver": str(declared.get("driver") or "local"),
    }
    options = text_map(declared.get("driver_opts"), f"volumes.{source}.driver_opts")
    if options:
        config["driverOpts"] = options
    labels = text_map(declared.get("labels"), f"volumes.{source}.labels")
    if labels:
        config["labels"] = labels
    ctx.volumes[vol] = {"name": vol, "dockerVolumeConfiguration": config}
    merge_extension(ctx.volumes[vol], declared.get("x-ecs"))
    if declared.get("name") and declared.get("name") != source:
        ctx.add(
            None,
            f"volumes.{source}.name",
            "cannot",
            f"ECS names Docker volumes after the task volume ({vol}), not {declared['name']}",
            node=ctx.project.model.get("volumes"),
            at=source,
        )
    return vol


def _bind(ctx: Context, name: str, item: dict[str, Any], items: Any, index: int) -> str | None:
    source = str(item["source"])
    written = str(item.get(WRITTEN, source))
    if ctx.fargate:
        ctx.add(
            name,
            "volumes",
            "forbidden",
            f"Fargate does not allow host paths ({written})",
            node=items,
            at=index,
        )
        return None
    if not written.startswith("/") or not is_path(written):
        ctx.add(
            name,
            "volumes",
            "cannot",
            f"bind mount {written} becomes the host path {source}: those files "
            "must be on every container instance",
            node=items,
            at=index,
        )
    # Named after the path as written (stable wherever the compose file lives), made absolute in sourcePath.
    shown = written if not written.startswith("/") else source
    vol = ecs_name(re.sub(r"^[-.~]+", "", shown.strip("/.~").replace("/", "-")) or "root")
    if isinstance(item.get("x-ecs-volume"), str):
        vol = ecs_name(
            item["x-ecs-volume"]
        )  # the name a task definition gave it (migrate compose --from-ecs)
    existing = ctx.volumes.get(vol)
    if existing is not None and existing.get("host", {}).get("sourcePath") != source:
        vol = ecs_name(f"{vol}-{len(ctx.volumes)}")
    ctx.volumes.setdefault(vol, {"name": vol, "host": {"sourcePath": source}})
    bind = mapping(item, "bind")
    for key in ("propagation", "selinux"):
        if bind.get(key):
            ctx.add(
                name,
                "volumes",
                "cannot",
                f"bind {key} {bind[key]} of {written}: ECS has no such option",
                node=items,
                at=index,
            )
    return vol


def _volumes(ctx: Context, name: str, svc: dict[str, Any], c: dict[str, Any]) -> None:
    items = svc.get("volumes") or []
    mounts = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        kind = str(item.get("type") or "volume")
        target = str(item.get("target") or "")
        vol: str | None
        if kind == "tmpfs":
            tmpfs = mapping(item, "tmpfs")
            size = tmpfs.get("size")
            mode = (
                [f"mode={tmpfs['mode']:o}" if isinstance(tmpfs.get("mode"), int) else f"mode={tmpfs['mode']}"]
                if tmpfs.get("mode") is not None
                else []
            )
            tmpfs_mount(
                ctx,
                name,
                target,
                mode,
                mib(size, f"services.{name}.volumes tmpfs.size") if size else None,
                items,
                "volumes",
                c,
            )
            continue
        if kind == "bind":
            vol = _bind(ctx, name, item, items, index)
        elif kind == "volume" and item.get("source"):
            vol = _named(ctx, name, str(item["source"]), items, index)
        elif kind == "volume":
            vol = ecs_name(f"{c['name']}{target.replace('/', '-')}")
            ctx.volumes.setdefault(vol, {"name": vol})
        else:
            ctx.add(
                name,
                "volumes",
                "cannot",
                f"{kind} mounts have no ECS equivalent; left out",
                node=items,
                at=index,
            )
            continue
        if vol is None:
            continue
        volume_opts = mapping(item, "volume")
        for key in ("nocopy", "subpath"):
            if volume_opts.get(key):
                ctx.add(
                    name,
                    "volumes",
                    "cannot",
                    f"volume {key} of {target}: ECS has no such option",
                    node=items,
                    at=index,
                )
        mounts.append(
            {"sourceVolume": vol, "containerPath": target, "readOnly": truthy(item.get("read_only"))}
        )
    if mounts:
        c["mountPoints"] = mounts


def storage(ctx: Context, name: str, svc: dict[str, Any], c: dict[str, Any]) -> None:
    _volumes(ctx, name, svc, c)
    sources = []
    for raw in svc.get("volumes_from") or []:
        text = str(raw)
        if text.startswith("container:"):
            ctx.add(
                name,
                "volumes_from",
                "cannot",
                f"{text}: ECS shares volumes only between containers of the task",
                node=svc,
            )
            continue
        parts = text.removeprefix("service:").split(":")
        mode = parts[1] if len(parts) > 1 else "rw"
        absent = no_container(ctx.project.services.get(parts[0]))
        if absent is not None:
            ctx.add(name, "volumes_from", "cannot", f"{parts[0]} is not in the task ({absent[1]})", node=svc)
            continue
        sources.append({"sourceContainer": ecs_name(parts[0]), "readOnly": mode == "ro"})
    if sources:
        c["volumesFrom"] = sources
    for item in svc.get("configs") or []:
        source = item.get("source") if isinstance(item, dict) else item
        ctx.add(
            name,
            "configs",
            "cannot",
            f"ECS cannot mount config {source} as a file (put it in the image, "
            "or fetch it from S3 or SSM at start)",
            node=svc,
        )
