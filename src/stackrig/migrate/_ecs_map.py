"""One compose service → one ECS container definition: the table of keys and the plain mappings.

Each compose key is handled by exactly one entry of :data:`HANDLERS` (or judged by
:data:`CANNOT` / :data:`SILENT`); handlers record a finding for anything that is not
translated as is. The storage, network, Linux and environment mappings live in
their own modules and are registered here.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from typing import Any

from stackrig.errors import UsageError
from stackrig.migrate._ecs_checks import HEALTH_RANGES
from stackrig.migrate._ecs_ctx import Context, ecs_name, mapping, seconds, text_map, truthy
from stackrig.migrate._ecs_env import environment, secret_files
from stackrig.migrate._ecs_linux import LINUX_KEYS, linux_parameters
from stackrig.migrate._ecs_net import NET_KEYS, dependencies, network, ports
from stackrig.migrate._ecs_resources import RESOURCE_KEYS, resources
from stackrig.migrate._ecs_storage import STORAGE_KEYS, storage
from stackrig.migrate._yaml import at, loc_of

__all__ = ["CANNOT", "HANDLERS", "PLACEHOLDER_REGISTRY", "SILENT", "container_definition", "has_healthcheck"]

Handler = Callable[[Context, str, dict[str, Any], dict[str, Any]], None]

_CONDITIONS = {
    "service_healthy": "HEALTHY",
    "service_started": "START",
    "service_completed_successfully": "SUCCESS",
}
PLACEHOLDER_REGISTRY = "build-required.invalid"  # the image of a build-only service without --image-prefix
_LOG_DRIVERS = ("json-file", "syslog", "journald", "gelf", "fluentd", "awslogs", "splunk", "awsfirelens")
_FARGATE_LOG_DRIVERS = ("awslogs", "splunk", "awsfirelens")

# Keys ECS has no way to express in a task definition, with what to do instead.
CANNOT: dict[str, str] = {
    "annotations": "ECS sets no OCI annotations",
    "blkio_config": "ECS has no block I/O weights or limits",
    "cgroup": "ECS does not choose the cgroup namespace",
    "cgroup_parent": "ECS places containers in its own cgroups",
    "cpu_count": "cpu_count applies to Windows containers only",
    "cpu_percent": "cpu_percent applies to Windows containers only",
    "cpu_period": "ECS has no CFS period setting (use task-level cpu on Fargate for a hard limit)",
    "cpu_quota": "ECS has no CFS quota setting (use task-level cpu on Fargate for a hard limit)",
    "cpu_rt_period": "ECS has no real-time CPU settings",
    "cpu_rt_runtime": "ECS has no real-time CPU settings",
    "cpuset": "ECS does not pin containers to CPUs",
    "credential_spec": "gMSA credential specs need credentialSpecs in S3 or SSM; set them by hand",
    "device_cgroup_rules": "ECS has no device cgroup rules",
    "domainname": "ECS sets no NIS domain name",
    "external_links": "ECS links only containers of the same task",
    "group_add": "ECS adds no supplementary groups (set them in the image)",
    "isolation": "isolation applies to Windows containers only",
    "mac_address": "ECS does not choose MAC addresses",
    "models": "ECS has no AI model resources",
    "oom_kill_disable": "ECS cannot disable the OOM killer",
    "oom_score_adj": "ECS does not adjust OOM scores",
    "pids_limit": "ECS has no PID limit",
    "post_start": "ECS runs no lifecycle hooks",
    "pre_stop": "ECS runs no lifecycle hooks",
    "provider": "ECS runs no Compose provider services",
    "pull_policy": "the ECS agent's ECS_IMAGE_PULL_BEHAVIOR decides when images are pulled",
    "pull_refresh_after": "the ECS agent's ECS_IMAGE_PULL_BEHAVIOR decides when images are pulled",
    "runtime": "ECS uses the container instance's default runtime",
    "scale": "the number of copies is the ECS service's desiredCount",
    "stop_signal": "ECS always stops containers with SIGTERM, then SIGKILL (set STOPSIGNAL in the image)",
    "storage_opt": "ECS has no per-container storage driver options",
    "use_api_socket": "ECS does not mount the Docker API socket for a container",
    "userns_mode": "ECS does not choose the user namespace",
    "uts": "ECS does not share the host's UTS namespace",
}
# Keys that need nothing in a task definition (handled while reading the compose file, or development-only).
SILENT = {"extends", "profiles", "develop", "attach"}


def has_healthcheck(service: Any) -> bool:
    check = service.get("healthcheck") if isinstance(service, dict) else None
    if not isinstance(check, dict) or truthy(check.get("disable", False)):
        return False
    test = check.get("test")
    return test is not None and not (isinstance(test, list) and test[:1] == ["NONE"])


def _command(value: Any, what: str) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    try:
        return shlex.split(str(value))
    except ValueError as exc:
        raise UsageError(f"{what}: {exc} in {value!r}") from None


def image(ctx: Context, name: str, svc: dict[str, Any], c: dict[str, Any]) -> None:
    if svc.get("image"):
        c["image"] = str(svc["image"])
        if "build" in svc:
            ctx.add(
                name, "build", "changed", f"ECS does not build; push {c['image']} to a registry", node=svc
            )
        return
    build = mapping(svc, "build")
    if ctx.image_prefix:
        c["image"] = f"{ctx.image_prefix.rstrip('/')}/{c['name']}:latest"
        job = {"service": name, "image": c["image"], "context": str(build.get("context") or ".")}
        for key in ("dockerfile", "target"):
            if build.get(key):
                job[key] = str(build[key])
        if isinstance(build.get("args"), dict) and build["args"]:
            job["args"] = {str(k): "" if v is None else str(v) for k, v in build["args"].items()}
        ctx.builds.append(job)
        ctx.add(
            name,
            "build",
            "changed",
            f"ECS does not build: build {job['context']} and push {c['image']}",
            node=svc,
        )
        return
    # A placeholder under a reserved domain (RFC 2606), so that it can never pull a public image of the
    # same name (a service called nginx that builds its own nginx must not run Docker Hub's).
    c["image"] = f"{PLACEHOLDER_REGISTRY}/{ctx.family}/{c['name'].lower()}:latest"
    ctx.add(
        name,
        "build",
        "cannot",
        f"build-only service: ECS does not build; build and push its image and name it in image: "
        f"(the placeholder {c['image']} pulls nothing), or use --image-prefix",
        node=svc,
    )


def command(ctx: Context, name: str, svc: dict[str, Any], c: dict[str, Any]) -> None:
    for key, ecs_key in (("command", "command"), ("entrypoint", "entryPoint")):
        if key not in svc or svc[key] is None:
            continue
        words = _command(svc[key], f"{at(loc_of(svc, key))}services.{name}.{key}")
        if not words and key == "entrypoint":
            ctx.add(name, key, "cannot", "an empty entrypoint cannot clear the image's in ECS", node=svc)
            continue
        if not words:
            continue  # an empty command (e.g. an unset ${COMMAND}) runs the image's CMD, as Docker does
        c[ecs_key] = words


def health(ctx: Context, name: str, svc: dict[str, Any], c: dict[str, Any]) -> None:
    check = svc.get("healthcheck")
    if not isinstance(check, dict) or not has_healthcheck(svc):
        return
    test = check["test"]
    words = ["CMD-SHELL", str(test)] if isinstance(test, str) else [str(t) for t in test]
    if words[0] not in ("CMD", "CMD-SHELL"):
        words = ["CMD", *words]
    out: dict[str, Any] = {"command": words}
    where = f"services.{name}.healthcheck"
    durations = (
        ("interval", "interval", 30),
        ("timeout", "timeout", 30),
        ("start_period", "startPeriod", None),
    )
    for key, ecs_key, default in durations:
        if key in check:
            out[ecs_key] = seconds(check[key], f"{where}.{key}")
        elif default is not None:
            out[ecs_key] = default  # compose's default, which differs from ECS's for timeout
    out["retries"] = int(check.get("retries", 3))
    for key, (low, high) in HEALTH_RANGES.items():
        if key in out and not low <= out[key] <= high:
            clamped = min(max(out[key], low), high)
            ctx.add(
                name,
                f"healthcheck.{key}",
                "cannot",
                f"{out[key]} is outside ECS's {low}-{high}; set to {clamped}",
                node=check,
                at=_compose_key(key),
            )
            out[key] = clamped
    if "start_interval" in check:
        ctx.add(name, "healthcheck.start_interval", "cannot", "ECS has no start interval", node=check)
    c["healthCheck"] = out


def _compose_key(ecs_key: str) -> str:
    return "start_period" if ecs_key == "startPeriod" else ecs_key


def logging(ctx: Context, name: str, svc: dict[str, Any], c: dict[str, Any]) -> None:
    spec = mapping(svc, "logging")
    default = {
        "logDriver": "awslogs",
        "options": {
            "awslogs-group": ctx.log_group,
            "awslogs-region": ctx.region,
            "awslogs-stream-prefix": c["name"],
        },
    }
    if not spec:
        c["logConfiguration"] = default
        return
    driver = str(spec.get("driver") or "json-file")
    options = text_map(spec.get("options"), f"services.{name}.logging.options")
    allowed = _FARGATE_LOG_DRIVERS if ctx.fargate else _LOG_DRIVERS
    if driver == "none":
        ctx.add(
            name, "logging.driver", "cannot", "ECS has no 'none' log driver; logs go to awslogs", node=spec
        )
        c["logConfiguration"] = default
    elif driver not in allowed:
        target = "Fargate" if ctx.fargate else "ECS"
        ctx.add(
            name,
            "logging.driver",
            "cannot",
            f"{target} has no {driver} log driver; logs go to awslogs",
            node=spec,
        )
        c["logConfiguration"] = default
    else:
        config: dict[str, Any] = {"logDriver": driver}
        if options:
            config["options"] = options
        c["logConfiguration"] = config


def restart(ctx: Context, name: str, svc: dict[str, Any], c: dict[str, Any]) -> None:
    policy = svc.get("restart")
    deploy = mapping(svc, "deploy")
    swarm = mapping(deploy, "restart_policy")
    if policy is None and swarm:
        condition = str(swarm.get("condition", "any"))
        policy = {"any": "always", "on-failure": "on-failure", "none": "no"}.get(condition, condition)
        for key in ("max_attempts", "delay"):
            if key in swarm:
                ctx.add(
                    name,
                    f"deploy.restart_policy.{key}",
                    "cannot",
                    "ECS restart policies have no " + ("attempt limit" if key == "max_attempts" else "delay"),
                    node=swarm,
                )
        if "window" in swarm:
            period = min(
                max(seconds(swarm["window"], f"services.{name}.deploy.restart_policy.window"), 60), 1800
            )
            c["restartPolicy"] = {"enabled": True, "restartAttemptPeriod": period}
    if policy is None or str(policy) == "no":
        return
    text = str(policy)
    restart_policy = c.setdefault("restartPolicy", {"enabled": True})
    if text.startswith("on-failure"):
        restart_policy["ignoredExitCodes"] = [0]
        if ":" in text:
            ctx.add(
                name, "restart", "cannot", f"ECS restart policies have no attempt limit ({text})", node=svc
            )
    elif text not in ("always", "unless-stopped"):
        raise UsageError(
            f"{at(loc_of(svc, 'restart'))}services.{name}.restart: {text!r} is not a restart policy"
        )


def simple(ctx: Context, name: str, svc: dict[str, Any], c: dict[str, Any]) -> None:
    for key, ecs_key in (("working_dir", "workingDirectory"), ("user", "user")):
        if svc.get(key) not in (None, ""):
            c[ecs_key] = str(svc[key])
    for key, ecs_key in (
        ("read_only", "readonlyRootFilesystem"),
        ("tty", "pseudoTerminal"),
        ("stdin_open", "interactive"),
    ):
        if key in svc:
            c[ecs_key] = truthy(svc[key])
    if "privileged" in svc:
        if ctx.fargate and truthy(svc["privileged"]):
            ctx.fargate_refuses(name, "privileged", "privileged containers", svc)
        else:
            c["privileged"] = truthy(svc["privileged"])
    labels = text_map(svc.get("labels"), f"services.{name}.labels")
    for path in svc.get("label_file") or []:
        from stackrig.migrate._interpolate import read_env_file
        from stackrig.migrate._project import _absolute

        for key, value in read_env_file(_absolute(str(path), ctx.project.directory, {})).items():
            labels.setdefault(key, value or "")
        ctx.add(name, "label_file", "changed", f"labels of {path} written out as dockerLabels", node=svc)
    if labels:
        c["dockerLabels"] = labels
    if "stop_grace_period" in svc:
        timeout = seconds(svc["stop_grace_period"], f"services.{name}.stop_grace_period")
        if ctx.fargate and timeout > 120:
            ctx.add(
                name, "stop_grace_period", "cannot", f"Fargate allows at most 120 s, not {timeout}", node=svc
            )
            timeout = 120
        c["stopTimeout"] = timeout


def depends(ctx: Context, name: str, svc: dict[str, Any], c: dict[str, Any]) -> None:
    dependencies(ctx, name, svc, c, _CONDITIONS, has_healthcheck)


# (keys, handler): a handler runs when any of its keys is present (or always, for the empty tuple).
HANDLERS: list[tuple[tuple[str, ...], Handler]] = [
    ((), image),
    (RESOURCE_KEYS, resources),
    (("ports", "expose"), ports),
    (("environment", "env_file", "secrets"), environment),
    (("depends_on", "links"), depends),
    (("healthcheck",), health),
    (("command", "entrypoint"), command),
    (
        (
            "working_dir",
            "user",
            "read_only",
            "tty",
            "stdin_open",
            "privileged",
            "labels",
            "label_file",
            "stop_grace_period",
        ),
        simple,
    ),
    (LINUX_KEYS, linux_parameters),
    (STORAGE_KEYS, storage),
    (NET_KEYS, network),
    ((), logging),
    (("restart", "deploy"), restart),
]
_KNOWN = {k for keys, _ in HANDLERS for k in keys} | {"image", "build", "logging", "deploy", "platform"}


def container_definition(ctx: Context, name: str, svc: dict[str, Any]) -> dict[str, Any]:
    """The container definition for one service; findings go to ``ctx``."""
    cname = ecs_name(name)
    if cname != name:
        ctx.add(name, "name", "changed", f"container named {cname} (ECS allows letters, digits, - and _)")
    c: dict[str, Any] = {"name": cname, "image": "", "essential": True}
    before = len(ctx.findings)
    for keys, handler in HANDLERS:
        if not keys or any(k in svc for k in keys):
            handler(ctx, name, svc, c)
    secret_files(ctx, name, svc, c)
    for key in svc:
        text = str(key)
        if text.startswith("x-") or text in _KNOWN or text in SILENT:
            continue
        reason = CANNOT.get(text, "ECS has no equivalent")
        ctx.add(name, text, "cannot", f"{reason}; left out", node=svc)
    judged = {f.key.split(".", 1)[0] for f in ctx.findings[before:] if f.service == name}
    for key in svc:
        text = str(key)
        if not text.startswith("x-") and text not in judged and text not in SILENT:
            ctx.add(name, text, "as-is", "translated as is", node=svc)
    return c
