"""Provider parsers: cloud JSON (CLI output or API documents) → :class:`~stackrig.fleet.Host`.

Selection precedence: ``provider=`` (``--provider``) when given, else the one
parser whose ``detect`` accepts the document's shape; none or several is a USAGE
error that names the keys found and lists the shapes we understand. Every error
names the source and the position in the provider's own terms (:class:`Place`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from types import ModuleType
from typing import Any

from stackrig.fleet._model import PROVIDERS, Host, ProviderParseError
from stackrig.fleet.providers import aws, azure, gcp, openstack
from stackrig.fleet.providers._common import Place, as_dict, as_list

__all__ = ["SHAPES", "Place", "detect_provider", "parse_documents", "parse_placed"]

_PARSERS: dict[str, ModuleType] = {"aws": aws, "azure": azure, "gcp": gcp, "openstack": openstack}

#: What each provider's input looks like (for error messages and --help).
SHAPES: dict[str, str] = {
    "aws": "aws ec2 describe-instances --output json or a boto3 describe_instances response "
    '({"Reservations": [...]}), run-instances output, or a list of instances',
    "azure": "az vm list -d -o json, az vm list-ip-addresses -o json, or an Azure Resource Manager "
    'list of virtual machines ({"value": [...]}) or one of them',
    "gcp": "gcloud compute instances list --format=json, or GCE instances.list "
    '({"items": [...]}) or aggregatedList ({"items": {"zones/...": {"instances": [...]}}})',
    "openstack": "openstack server list --long -f json, openstack server show -f json, or Nova "
    'GET /servers/detail ({"servers": [...]}) or /servers/{id} ({"server": {...}})',
}
_GCE_LISTS = ("compute#instanceList", "compute#instanceAggregatedList")


def _understood() -> str:
    return "; ".join(f"{name}: {shape}" for name, shape in SHAPES.items())


def _empty(doc: Any) -> bool:
    """A document that lists no instance at all, of any provider (an empty page)."""
    if isinstance(doc, list):
        return not doc
    if not isinstance(doc, dict):
        return False
    if not doc or any(doc.get(key) == [] for key in ("Reservations", "Instances", "value", "servers")):
        return True
    items = doc.get("items")
    if isinstance(items, dict):  # aggregatedList: zones with a warning instead of instances
        return not any(as_list(as_dict(scope).get("instances")) for scope in items.values())
    return items == [] or (doc.get("kind") in _GCE_LISTS and "items" not in doc)


def _described(doc: Any) -> str:
    """What a document is, for the error that says we do not understand it."""

    def keys(obj: dict[Any, Any]) -> str:
        shown = [str(k) for k in list(obj)[:8]]
        more = f" and {len(obj) - 8} more" if len(obj) > 8 else ""
        return ", ".join(shown) + more

    if isinstance(doc, dict):
        return f"an object with the keys {keys(doc)}"
    if isinstance(doc, list):
        first = doc[0]
        if isinstance(first, dict):
            return f"a list of objects, the first with the keys {keys(first) or '(none)'}"
        return f"a list of {type(first).__name__} values"
    return f"a JSON {type(doc).__name__}"


def detect_provider(doc: Any, index: int | Place = 0) -> str | None:
    """The provider whose output ``doc`` is, or None for an empty document (no instances)."""
    place = index if isinstance(index, Place) else Place(document=index)
    if _empty(doc):
        return None
    matches = [name for name, module in _PARSERS.items() if module.detect(doc)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise ProviderParseError(
            f"{place.at()} is JSON of no shape stackrig understands: {_described(doc)}",
            hint=f"give one of: {_understood()}",
        )
    raise ProviderParseError(
        f"{place.at()} looks like output of several providers ({', '.join(matches)})",
        hint="choose one with --provider",
    )


def parse_placed(items: Iterable[tuple[Any, Place]], provider: str | None = None) -> list[Host]:
    """Every instance of every (document, place) pair, in input order (provider detected per document)."""
    if provider is not None and provider not in _PARSERS:
        raise ProviderParseError(
            f"unknown provider {provider!r}", hint=f"choose one of {', '.join(PROVIDERS)}"
        )
    hosts: list[Host] = []
    listed = ""  # the provider of the top-level list read one element at a time, from its first
    for doc, place in items:
        if place.first_item and listed:  # the list's later elements: parsed as if read whole
            hosts.extend(_PARSERS[listed].parse(doc, place))
            continue
        name = provider
        if name is None:
            name = detect_provider(doc, place)
            if name is None:
                continue
        elif _empty(doc):
            continue
        elif not _PARSERS[name].detect(doc):
            raise ProviderParseError(
                f"{place.at()} is not {name} output: {_described(doc)}",
                hint=f"{name} input is {SHAPES[name]}; or leave out --provider to detect it",
            )
        parse: Callable[[Any, Place], Iterator[Host]] = _PARSERS[name].parse
        hosts.extend(parse(doc, place))
        listed = name if place.first_item == 0 else ""
    return _merge_azure(hosts)


def parse_documents(
    docs: Iterable[Any], provider: str | None = None, *, source: str = "<input>"
) -> list[Host]:
    """Every instance of every document of one source, in input order."""
    return parse_placed(((doc, Place(source, n)) for n, doc in enumerate(docs)), provider)


def _merge_azure(hosts: list[Host]) -> list[Host]:
    """``az vm list -d`` and ``az vm list-ip-addresses`` given together describe the same VMs once."""
    listing = [h for h in hosts if h.provider == "azure" and h.state == "unknown" and not h.region]
    if not listing or len(listing) == len(hosts):
        return hosts
    by_key: dict[tuple[str, str], int] = {}
    for i, host in enumerate(hosts):
        if host.provider == "azure" and host.region:
            group = str(host.extra.get("resource_group", "")).lower()
            by_key[(group, (host.name or "").lower())] = i
    merged: list[Host | None] = list(hosts)
    for i, host in enumerate(hosts):
        if host not in listing:
            continue
        key = (str(host.extra.get("resource_group", "")).lower(), (host.name or "").lower())
        target = by_key.get(key)
        if target is None:
            continue
        base = hosts[target]
        merged[target] = dataclasses.replace(
            base,
            private_address=base.private_address or host.private_address,
            public_address=base.public_address or host.public_address,
        )
        merged[i] = None
    return [h for h in merged if h is not None]
