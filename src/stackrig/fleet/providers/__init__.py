"""Provider parsers: cloud CLI JSON → :class:`~stackrig.fleet.Host`, the shape detected automatically.

Selection precedence: ``provider=`` (``--provider``) when given, else the one
parser whose ``detect`` accepts the document; none or several is a USAGE
error that lists the shapes we understand.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from types import ModuleType
from typing import Any

from stackrig.fleet._model import PROVIDERS, Host, ProviderParseError
from stackrig.fleet.providers import aws, azure, gcp, openstack
from stackrig.fleet.providers._common import where

__all__ = ["SHAPES", "detect_provider", "parse_documents"]

_PARSERS: dict[str, ModuleType] = {"aws": aws, "azure": azure, "gcp": gcp, "openstack": openstack}

#: What each provider's input looks like (for error messages and --help).
SHAPES: dict[str, str] = {
    "aws": "aws ec2 describe-instances --output json (or a boto3 describe_instances response)",
    "azure": "az vm list -d -o json, or az vm list-ip-addresses -o json",
    "gcp": "gcloud compute instances list --format=json",
    "openstack": "openstack server list --long -f json",
}


def _understood() -> str:
    return "; ".join(f"{name}: {shape}" for name, shape in SHAPES.items())


def _empty(doc: Any) -> bool:
    if isinstance(doc, list):
        return not doc
    return isinstance(doc, dict) and (doc.get("Reservations") == [] or not doc)


def detect_provider(doc: Any, index: int = 0) -> str | None:
    """The provider whose output ``doc`` is, or None for an empty document (no instances)."""
    if _empty(doc):
        return None
    matches = [name for name, module in _PARSERS.items() if module.detect(doc)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise ProviderParseError(
            f"{where(index)} is JSON of no shape stackrig understands",
            hint=f"give the output of one of: {_understood()}",
        )
    raise ProviderParseError(
        f"{where(index)} looks like output of several providers ({', '.join(matches)})",
        hint="choose one with --provider",
    )


def parse_documents(docs: Iterable[Any], provider: str | None = None) -> list[Host]:
    """Every instance of every document, in input order (provider auto-detected per document)."""
    if provider is not None and provider not in _PARSERS:
        raise ProviderParseError(
            f"unknown provider {provider!r}", hint=f"choose one of {', '.join(PROVIDERS)}"
        )
    hosts: list[Host] = []
    for index, doc in enumerate(docs):
        name = provider
        if name is None:
            name = detect_provider(doc, index)
            if name is None:
                continue
        elif not _empty(doc) and not _PARSERS[name].detect(doc):
            raise ProviderParseError(
                f"{where(index)} is not {name} output",
                hint=f"{name} input is {SHAPES[name]}; or leave out --provider to detect it",
            )
        parse: Callable[[Any, int], Iterator[Host]] = _PARSERS[name].parse
        hosts.extend(parse(doc, index))
    return _merge_azure(hosts)


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
