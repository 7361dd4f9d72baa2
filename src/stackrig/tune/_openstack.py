"""``tune capacity --from-cloud``: read placement (or the hypervisor list), aggregates and flavors live.

The ``openstack`` CLI does the part that differs from cloud to cloud, authentication
(clouds.yaml, OS_* variables, any auth plugin): ``openstack token issue`` and
``openstack catalog list``. The documents themselves are then fetched over HTTP with that
token, the same responses a user would save by hand: one request per provider and
document, eight at a time, instead of one CLI process per provider.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from stackrig import _proc
from stackrig.errors import FailedError, UsageError
from stackrig.tune._cloud import Aggregate, Cloud, parse_aggregates, parse_cloud
from stackrig.tune.flavors import Flavor, parse_properties

__all__ = ["CloudRead", "read_cloud"]

log = logging.getLogger("stackrig.tune")

TIMEOUT = 60.0
WORKERS = 8
PLACEMENT_VERSION = "placement 1.19"  # root/parent uuids, aggregates with generation
COMPUTE_VERSION = "compute 2.61"  # flavors with their extra specs, aggregates with uuids


@dataclass(frozen=True, slots=True)
class CloudRead:
    cloud: Cloud
    aggregates: tuple[Aggregate, ...]
    flavors: tuple[Flavor, ...]
    properties: dict[str, dict[str, str]]
    export: dict[str, Any]


def _osc(args: list[str], environ: Mapping[str, str] | None) -> Any:
    done = _proc.run(
        "openstack",
        [*args, "-f", "json"],
        env=environ,
        timeout=TIMEOUT,
        needed_for="tune capacity --from-cloud",
    )
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError as exc:
        raise FailedError(f"openstack {' '.join(args)} printed no JSON: {_proc.tail(done.stdout)}") from exc


def _endpoints(entry: Mapping[str, Any]) -> list[dict[str, str]]:
    raw = entry.get("Endpoints") or entry.get("endpoints") or []
    if isinstance(raw, list):
        return [dict(e) for e in raw if isinstance(e, Mapping)]
    found = []  # older clients print "RegionOne\n  public: https://..." lines
    region = ""
    for line in str(raw).splitlines():
        if line and not line.startswith(" "):
            region = line.strip()
        elif ":" in line:
            interface, _, url = line.strip().partition(": ")
            found.append({"interface": interface, "url": url.strip(), "region": region})
    return found


def _endpoint(catalog: Any, kind: str, interface: str, region: str | None) -> str | None:
    for entry in catalog if isinstance(catalog, list) else []:
        if not isinstance(entry, Mapping) or str(entry.get("Type") or entry.get("type")) != kind:
            continue
        for ep in _endpoints(entry):
            here = ep.get("region_id") or ep.get("region")
            if ep.get("interface") == interface and (region is None or here == region):
                return str(ep["url"]).rstrip("/")
    return None


class _Http:
    def __init__(self, token: str) -> None:
        self.token = token

    def get(self, url: str, version: str) -> Any:
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise FailedError(f"the service catalog gives {url!r}, which is not an http(s) address")
        request = urllib.request.Request(  # noqa: S310 - scheme checked above
            url,
            headers={
                "X-Auth-Token": self.token,
                "Accept": "application/json",
                "OpenStack-API-Version": version,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
                return json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            raise FailedError(f"GET {url} answered {exc.code} {exc.reason}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise FailedError(f"GET {url} failed: {getattr(exc, 'reason', exc)}") from exc
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise FailedError(f"GET {url} did not answer JSON") from exc


def _placement_export(http: _Http, base: str) -> dict[str, Any]:
    listing = http.get(f"{base}/resource_providers", PLACEMENT_VERSION)
    providers = listing.get("resource_providers") if isinstance(listing, Mapping) else None
    if not isinstance(providers, list):
        raise FailedError(f"GET {base}/resource_providers did not list resource providers")
    uuids = [str(p.get("uuid")) for p in providers if isinstance(p, Mapping)]
    jobs = [(kind, uuid) for uuid in uuids for kind in ("inventories", "usages", "aggregates", "traits")]
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        answers = list(
            pool.map(
                lambda job: http.get(f"{base}/resource_providers/{job[1]}/{job[0]}", PLACEMENT_VERSION), jobs
            )
        )
    doc: dict[str, Any] = {"resource_providers": providers}
    for (kind, uuid), answer in zip(jobs, answers, strict=True):
        doc.setdefault(kind, {})[uuid] = answer
    return doc


def _pages(http: _Http, url: str, key: str) -> list[Any]:
    rows: list[Any] = []
    while url:
        page = http.get(url, COMPUTE_VERSION)
        if not isinstance(page, Mapping) or not isinstance(page.get(key), list):
            raise FailedError(f"GET {url} did not list {key}")
        rows.extend(page[key])
        links = page.get(f"{key}_links") or []
        url = next((str(link["href"]) for link in links if link.get("rel") == "next"), "")
    return rows


def _flavor(row: Mapping[str, Any]) -> Flavor:
    swap = row.get("swap") or 0
    disk = int(row.get("disk") or 0) + int(row.get("OS-FLV-EXT-DATA:ephemeral") or 0)
    return Flavor(str(row["name"]), int(row["vcpus"]), int(row["ram"]), disk + -(-int(swap) // 1024))


def read_cloud(
    *, environ: Mapping[str, str] | None = None, need_flavors: bool = True, need_aggregates: bool = True
) -> CloudRead:
    """Providers (or hypervisors), aggregates and flavors of the cloud the openstack CLI is set up for."""
    env = os.environ if environ is None else environ
    token = _osc(["token", "issue"], environ)
    catalog = _osc(["catalog", "list"], environ)
    if not isinstance(token, Mapping) or not token.get("id"):
        raise FailedError("openstack token issue gave no token")
    interface = str(env.get("OS_INTERFACE") or env.get("OS_ENDPOINT_TYPE") or "public").removesuffix("URL")
    region = env.get("OS_REGION_NAME") or None
    http = _Http(str(token["id"]))
    placement = _endpoint(catalog, "placement", interface, region)
    compute = _endpoint(catalog, "compute", interface, region)
    if placement is None and compute is None:
        raise UsageError(
            f"the service catalog has no {interface} placement or compute endpoint",
            hint="check OS_INTERFACE / OS_REGION_NAME, or save the documents and use --hypervisors",
        )
    if placement is not None:
        export = _placement_export(http, placement)
    else:
        log.warning("no placement endpoint: reading the hypervisor list (older clouds)")
        export = {"hypervisors": _pages(http, f"{compute}/os-hypervisors/detail", "hypervisors")}
    cloud = parse_cloud(export, "--from-cloud")
    aggregates: tuple[Aggregate, ...] = ()
    flavors: list[Flavor] = []
    properties: dict[str, dict[str, str]] = {}
    if compute is not None and need_aggregates:
        aggregates = parse_aggregates(http.get(f"{compute}/os-aggregates", COMPUTE_VERSION), "--from-cloud")
    if compute is not None and need_flavors:
        for row in _pages(http, f"{compute}/flavors/detail?is_public=None", "flavors"):
            flavors.append(_flavor(row))
            properties[str(row["name"])] = parse_properties(row.get("extra_specs"))
    return CloudRead(cloud, aggregates, tuple(flavors), properties, export)
