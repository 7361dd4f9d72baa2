"""The values every fleet step passes along: a cloud instance as :class:`Host`, and the fleet errors."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from stackrig.errors import FailedError, UsageError

__all__ = [
    "PROVIDERS",
    "PROVIDER_PREFIX",
    "STATE_CODES",
    "Host",
    "NoHostsError",
    "ProviderParseError",
]

#: The providers we parse, and the prefix of their host variables (as Ansible's own plugins name them).
PROVIDER_PREFIX: dict[str, str] = {"aws": "ec2", "azure": "azure", "gcp": "gce", "openstack": "os"}
PROVIDERS: tuple[str, ...] = tuple(PROVIDER_PREFIX)

#: Normalised states and their EC2 state codes (``instance-state-code`` filters work for every provider).
STATE_CODES: dict[str, int] = {
    "pending": 0,
    "running": 16,
    "shutting-down": 32,
    "terminated": 48,
    "stopping": 64,
    "stopped": 80,
}


class ProviderParseError(UsageError):
    """The input is not JSON, or JSON of no shape we understand."""


class NoHostsError(FailedError):
    """No host is left after filtering (or none has a usable address)."""


_SHARED_FIELDS = ("state", "raw_state", "region", "zone", "instance_type", "key_name", "image")
_SHARED_LONGEST = 64


def _shared(value: Any) -> Any:
    return sys.intern(value) if type(value) is str and len(value) <= _SHARED_LONGEST else value


_SHARED_MAPS: dict[tuple[tuple[str, Any], ...], dict[str, Any]] = {}
_SHARED_MAPS_MAX = 4096  # distinct small dicts kept; past that, new ones are kept per host


def _shared_map(items: Mapping[str, Any]) -> dict[str, Any]:
    """One shared dict for each small dict of shared values that many hosts repeat
    (``{"state_code": 16}``, the fields the addresses came from); hosts never change them."""
    mapping = {_shared(k): _shared(v) for k, v in items.items()}
    if len(mapping) > 8 or not all(type(v) in (str, int, bool) or v is None for v in mapping.values()):
        return mapping
    key = tuple(mapping.items())
    found = _SHARED_MAPS.get(key)
    if found is not None:
        return found
    if len(_SHARED_MAPS) < _SHARED_MAPS_MAX:
        _SHARED_MAPS[key] = mapping
    return mapping


@dataclass(frozen=True, slots=True)
class Host:
    """One cloud instance, as every provider parser returns it.

    ``state`` is normalised (pending, running, stopping, stopped, shutting-down,
    terminated, error, unknown); ``raw_state`` is what the provider printed.
    ``tags`` holds AWS tags, Azure tags, GCE labels or OpenStack properties.
    ``extra`` holds provider facts without a common field (``vpc_id``,
    ``resource_group``, ``network_tags``, ...); they become host variables with
    the provider prefix. Every string here came from the cloud: untrusted.

    The addresses are kept as the document gave them (a malformed one is reported,
    never used); ``address_fields`` names the provider field each came from
    (``private`` → ``PrivateIpAddress``) for those reports, and ``address_note`` says
    why a document cannot hold addresses at all (an ARM list of VMs, say).
    """

    provider: str
    instance_id: str
    name: str | None = None
    state: str = "unknown"
    raw_state: str | None = None
    private_address: str | None = None
    public_address: str | None = None
    ipv6_address: str | None = None
    region: str | None = None
    zone: str | None = None
    instance_type: str | None = None
    key_name: str | None = None
    image: str | None = None
    launch_time: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)
    address_fields: Mapping[str, str] = field(default_factory=dict)
    address_note: str | None = None

    def __post_init__(self) -> None:
        # A fleet repeats a few states, regions, zones, types, images and tag keys over and over;
        # JSON decoding makes a new string for each occurrence. One shared copy of each keeps
        # 1,000,000 hosts in far less memory than the parsed document would take (issue 25).
        for name in _SHARED_FIELDS:
            value = getattr(self, name)
            if type(value) is str and len(value) <= _SHARED_LONGEST:
                object.__setattr__(self, name, sys.intern(value))
        if self.tags:
            object.__setattr__(self, "tags", {_shared(k): v for k, v in self.tags.items()})
        if self.extra:
            object.__setattr__(self, "extra", _shared_map(self.extra))
        if self.address_fields:
            object.__setattr__(self, "address_fields", _shared_map(self.address_fields))

    @property
    def address(self) -> str | None:
        """The address Ansible would use by default: public, else private, else IPv6."""
        return self.public_address or self.private_address or self.ipv6_address

    @property
    def state_code(self) -> int | None:
        return STATE_CODES.get(self.state)

    @property
    def prefix(self) -> str:
        return PROVIDER_PREFIX[self.provider]
