"""Networking keys of a service → portMappings, dependsOn and links, DNS, extra hosts, hostname.

In bridge mode (EC2's default) containers find each other through links: every
service a container depends on or links to is linked, with the network aliases
and container_name of that service as link aliases. In awsvpc mode (Fargate) the
containers of a task share one network namespace and reach each other on
localhost.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from stackrig.errors import UsageError
from stackrig.migrate._ecs_ctx import Context, ecs_name, mapping, no_container
from stackrig.migrate._syntax import parse_port
from stackrig.migrate._yaml import at, loc_of

__all__ = ["NET_KEYS", "aliases_of", "dependencies", "network", "ports"]

NET_KEYS = (
    "network_mode",
    "networks",
    "dns",
    "dns_search",
    "dns_opt",
    "extra_hosts",
    "hostname",
    "container_name",
)
_APP_PROTOCOLS = ("http", "http2", "grpc")


def aliases_of(svc: Mapping[str, Any]) -> list[str]:
    """The names other containers know this service by, besides its own."""
    out = []
    networks = svc.get("networks")
    if isinstance(networks, dict):
        out += [str(a) for n in networks.values() if isinstance(n, dict) for a in n.get("aliases") or []]
    if svc.get("container_name"):
        out.append(str(svc["container_name"]))
    return list(dict.fromkeys(out))


def _port_items(value: Any, name: str, where: Any) -> list[tuple[int, dict[str, Any]]]:
    out = []
    for index, item in enumerate(value or []):
        if isinstance(item, dict):
            spec = dict(item)
            spec["target"] = parse_port(str(item.get("target")))["target"]
            if item.get("published") not in (None, ""):
                spec["published"] = parse_port(str(item["published"]))["target"]
            spec["protocol"] = str(item.get("protocol") or "tcp").lower()
        else:
            try:
                spec = parse_port(item)
            except UsageError as exc:
                raise UsageError(f"{at(loc_of(where, index))}services.{name}.ports: {exc}") from None
        out.append((index, spec))
    return out


def ports(ctx: Context, name: str, svc: dict[str, Any], c: dict[str, Any]) -> None:  # noqa: PLR0912 - one branch per ECS port rule
    if "expose" in svc:
        ctx.add(
            name,
            "expose",
            "as-is",
            "nothing to set: containers reach each other's ports directly",
            node=svc,
            warn=False,
        )
    items = svc.get("ports") or []
    out: list[dict[str, Any]] = []
    for index, spec in _port_items(items, name, items):
        node, at = items, index
        target, published, protocol = spec["target"], spec.get("published"), spec["protocol"]
        shown = str(items[index]) if not isinstance(items[index], dict) else f"target {target}"
        if protocol not in ("tcp", "udp"):
            ctx.add(
                name, "ports", "cannot", f"{shown}: ECS maps only tcp and udp; left out", node=node, at=at
            )
            continue
        if spec.get("host_ip"):
            ctx.add(
                name,
                "ports",
                "cannot",
                f"{shown}: ECS binds every address, not only {spec['host_ip']}",
                node=node,
                at=at,
            )
        mapping: dict[str, Any] = {}
        if isinstance(target, str):  # a range
            if ctx.network_mode not in ("bridge", "awsvpc"):
                ctx.add(
                    name,
                    "ports",
                    "cannot",
                    f"{shown}: ECS maps port ranges only in bridge or awsvpc mode",
                    node=node,
                    at=at,
                )
                continue
            mapping["containerPortRange"] = target
            if published is not None and ctx.network_mode == "bridge":
                ctx.add(
                    name,
                    "ports",
                    "cannot",
                    f"{shown}: ECS picks the host ports of a range itself",
                    node=node,
                    at=at,
                )
        else:
            mapping["containerPort"] = target
            if isinstance(published, str):
                ctx.add(
                    name,
                    "ports",
                    "cannot",
                    f"{shown}: ECS cannot pick a host port from a range; it chooses one itself",
                    node=node,
                    at=at,
                )
            elif published is not None and ctx.network_mode in ("awsvpc", "host") and published != target:
                ctx.add(
                    name,
                    "ports",
                    "cannot",
                    f"{shown}: in {ctx.network_mode} mode the container answers on "
                    f"port {target} itself, not {published}",
                    node=node,
                    at=at,
                )
                mapping["hostPort"] = target
            elif published is not None:
                mapping["hostPort"] = published
        mapping["protocol"] = protocol
        app = spec.get("app_protocol")
        if spec.get("name"):
            mapping["name"] = str(spec["name"])
        if app is not None:
            if str(app) in _APP_PROTOCOLS:
                mapping["appProtocol"] = str(app)
                mapping.setdefault("name", f"{c['name']}-{target}-{protocol}")
            else:
                ctx.add(
                    name,
                    "ports",
                    "cannot",
                    f"{shown}: ECS knows app protocols {', '.join(_APP_PROTOCOLS)}, not {app}",
                    node=node,
                    at=at,
                )
        out.append(mapping)
    if out:
        c["portMappings"] = out


def _absent_dependency(ctx: Context, name: str, depends: dict[str, Any], dep: str) -> bool:
    """A dependency on a service that runs no container (provider, 0 replicas): nothing to wait for."""
    absent = no_container(ctx.project.services[dep])
    if absent is None:
        return False
    ctx.add(
        name,
        "depends_on",
        "cannot",
        f"{dep} is not in the task ({absent[1]}); nothing to wait for",
        node=depends,
        at=dep,
    )
    return True


def dependencies(  # noqa: PLR0917 - a handler plus the two tables it needs
    ctx: Context,
    name: str,
    svc: dict[str, Any],
    c: dict[str, Any],
    conditions: Mapping[str, str],
    has_healthcheck: Callable[[Any], bool],
) -> None:
    services = ctx.project.services
    depends = mapping(svc, "depends_on")
    out = []
    for dep, raw in depends.items():
        # an optional dependency (required: false) on a service that is not there, or runs no container
        if dep not in services or _absent_dependency(ctx, name, depends, dep):
            continue
        spec = raw if isinstance(raw, dict) else {}
        condition = str(spec.get("condition", "service_started"))
        ecs_condition = conditions.get(condition)
        if ecs_condition is None:
            raise UsageError(
                f"{at(loc_of(depends, dep))}services.{name}.depends_on.{dep}: unknown condition {condition!r}"
            )
        if ecs_condition == "HEALTHY" and not has_healthcheck(services[dep]):
            ctx.add(
                name,
                "depends_on",
                "cannot",
                f"{dep} has no healthcheck here (ECS cannot see an image's own "
                "HEALTHCHECK); waits for it to START instead",
                node=depends,
                at=dep,
            )
            ecs_condition = "START"
        if "restart" in spec:
            ctx.add(
                name,
                "depends_on",
                "cannot",
                f"ECS does not restart {name} when {dep} restarts",
                node=depends,
                at=dep,
            )
        if spec.get("required") is False:
            ctx.add(
                name,
                "depends_on",
                "changed",
                f"{dep} becomes a required dependency (ECS has no optional ones)",
                node=depends,
                at=dep,
            )
        out.append({"containerName": ecs_name(str(dep)), "condition": ecs_condition})
    if out:
        c["dependsOn"] = out
    links = [str(link) for link in svc.get("links") or []]
    links = [link for link in links if no_container(services.get(link.split(":")[0])) is None]
    if ctx.network_mode != "bridge":
        if links:
            ctx.add(
                name,
                "links",
                "cannot",
                f"{ctx.network_mode} mode has no links: containers of the task reach each other on localhost",
                node=svc,
            )
        return
    targets = {ecs_name(str(d)) for d in depends if d in services and no_container(services[d]) is None}
    entries = set()
    for link in links:
        target, _, alias = link.partition(":")
        entries.add(ecs_name(target) if not alias or alias == target else f"{ecs_name(target)}:{alias}")
        targets.add(ecs_name(target))
    for target in targets:
        entries.add(target)
        source: dict[str, Any] = next((s for n, s in services.items() if ecs_name(str(n)) == target), {})
        entries.update(f"{target}:{alias}" for alias in aliases_of(source) if alias != target)
    if entries:
        c["links"] = sorted(entries)


def network(ctx: Context, name: str, svc: dict[str, Any], c: dict[str, Any]) -> None:  # noqa: PLR0912, PLR0915 - one branch per key
    mode = svc.get("network_mode")
    if mode is not None and str(mode).startswith(("service:", "container:")):
        if ctx.awsvpc:
            ctx.add(
                name,
                "network_mode",
                "changed",
                f"{mode}: every container of an awsvpc task shares one network namespace",
                node=svc,
            )
        else:
            ctx.add(
                name,
                "network_mode",
                "cannot",
                f"{mode}: ECS shares a network namespace only in awsvpc mode",
                node=svc,
            )
    elif ctx.fargate and str(mode) == "host":
        ctx.fargate_refuses(name, "network_mode", "host networking", svc)
    elif mode is not None and str(mode) != ctx.network_mode:
        ctx.add(
            name,
            "network_mode",
            "cannot",
            f"{mode}: the task's network mode is {ctx.network_mode} (one per task)",
            node=svc,
        )
    networks = svc.get("networks")
    if isinstance(networks, dict):
        for net, spec in networks.items():
            if not isinstance(spec, dict):
                continue
            for key in spec:
                if key == "aliases":
                    how = (
                        "become link aliases of the containers that depend on it"
                        if ctx.network_mode == "bridge"
                        else "are not needed: containers reach each other on localhost"
                    )
                    ctx.add(name, "networks", "changed", f"aliases on {net} {how}", node=networks, at=net)
                elif not str(key).startswith("x-"):
                    ctx.add(
                        name,
                        "networks",
                        "cannot",
                        f"{key} on network {net}: ECS assigns addresses itself",
                        node=networks,
                        at=net,
                    )
    if svc.get("container_name"):
        if ctx.network_mode == "bridge":
            ctx.add(
                name,
                "container_name",
                "changed",
                f"{svc['container_name']} becomes a link alias for the containers that depend on it",
                node=svc,
                warn=False,
            )
        else:
            ctx.add(name, "container_name", "cannot", "ECS names its containers itself", node=svc)
    awsvpc_refuses = ctx.network_mode in ("awsvpc",)
    for key, ecs_key in (("dns", "dnsServers"), ("dns_search", "dnsSearchDomains")):
        values = svc.get(key)
        if not values:
            continue
        if awsvpc_refuses:
            ctx.add(name, key, "cannot", "awsvpc mode takes DNS settings from the VPC; left out", node=svc)
        else:
            c[ecs_key] = [str(v) for v in values]
    if svc.get("dns_opt"):
        ctx.add(name, "dns_opt", "cannot", "ECS has no resolver options; left out", node=svc)
    hosts = svc.get("extra_hosts")
    if isinstance(hosts, dict) and hosts:
        if awsvpc_refuses:
            ctx.add(name, "extra_hosts", "cannot", "awsvpc mode has no extra hosts; left out", node=svc)
        else:
            out = []
            for host, address in hosts.items():
                for ip in str(address or "").split(","):
                    if ip.strip() == "host-gateway" or not ip.strip():
                        ctx.add(
                            name,
                            "extra_hosts",
                            "cannot",
                            f"{host}: {ip or 'no address'} is not an IP address ECS can write",
                            node=hosts,
                            at=host,
                        )
                        continue
                    out.append({"hostname": str(host), "ipAddress": ip.strip().strip("[]")})
            if out:
                c["extraHosts"] = out
    if svc.get("hostname"):
        if awsvpc_refuses:
            ctx.add(name, "hostname", "cannot", "awsvpc mode does not set container hostnames", node=svc)
        else:
            c["hostname"] = str(svc["hostname"])
