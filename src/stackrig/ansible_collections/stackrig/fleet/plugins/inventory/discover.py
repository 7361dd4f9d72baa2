# stackrig.fleet.discover: the inventory of stackrig fleet discover, inside Ansible.
# MIT licence (the stackrig package's). The work is done by stackrig.fleet.ansible_plugin.
from __future__ import annotations

import os
import sys
from typing import Any

from ansible.errors import AnsibleError, AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin
from ansible.utils.unsafe_proxy import wrap_var

DOCUMENTATION = r"""
name: discover
short_description: Hosts from stackrig fleet discover (AWS regions and accounts in parallel, cached)
description:
  - Lists instances the way C(stackrig fleet discover) does, from the same cache, and builds the
    same inventory. The options are the command's flags, with underscores for dashes.
  - Needs the stackrig Python package (C(pip install 'stackrig[fleet]')) importable by the Python
    that runs Ansible.
  - The inventory file's name must end in C(stackrig.yml) or C(stackrig.yaml).
options:
  plugin:
    description: This plugin.
    required: true
    choices: [stackrig.fleet.discover]
  provider:
    description: aws (boto3), azure (az), gcp (gcloud) or openstack (openstack).
    type: str
    default: aws
  region:
    description: AWS regions (default the configured one).
    type: list
    elements: str
    default: []
  all_regions:
    description: Every region enabled for the account.
    type: bool
    default: false
  account:
    description: Accounts to read, each a profile name or a role ARN assumed through STS.
    type: list
    elements: str
    default: []
  external_id:
    description: ExternalId for every role of O(account).
    type: str
  role_session_name:
    description: RoleSessionName of the assumed roles.
    type: str
    default: stackrig-fleet
  via:
    description: Hub role ARN assumed first, from which every role of O(account) is assumed.
    type: str
  profile:
    description: Named profile for the base credentials (default the boto3 chain).
    type: str
  endpoint_url:
    description: An EC2-compatible endpoint instead of AWS (else AWS_ENDPOINT_URL).
    type: str
  max_attempts:
    description: Attempts per API call, throttled retries included.
    type: int
    default: 5
  retry_mode:
    description: botocore retry mode, standard or adaptive.
    type: str
    default: standard
  filter:
    description: Filters as for C(--filter) (C(tag:Role=web), C(Name=instance-type,Values=t3.*)).
    type: list
    elements: str
    default: []
  state:
    description: Keep hosts in these states (default running, unless a filter names the state; any keeps all).
    type: str
  address:
    description: ansible_host from the public, private or auto (public, else private) address.
    type: str
    default: auto
  hostname:
    description: Host names from the address, the name (tag Name) or the instance id.
    type: str
    default: address
  group:
    description: Groups every host is put in.
    type: list
    elements: str
    default: []
  group_by:
    description: Keyed groups (tag:KEY, region, zone, type, provider, state, key-name, image, account).
    type: list
    elements: str
    default: []
  user:
    description: ansible_user for every host.
    type: str
  port:
    description: ansible_port for every host.
    type: int
  ssh_proxy:
    description: USER@BASTION, ProxyJump for the hosts reached on their private address.
    type: str
  cache_ttl:
    description:
      - Reuse discover results younger than this (0 turns the cache off).
      - A duration as on the command line (V(500ms), V(60s), V(5m), V(2h), V(1d)); a bare number is seconds.
    type: raw
    default: 5m
  refresh:
    description: Ignore the cache (and renew it).
    type: bool
    default: false
  allow_partial:
    description: Accept an inventory where a region or account failed (else the source fails).
    type: bool
    default: false
"""

EXAMPLES = r"""
# fleet.stackrig.yml
plugin: stackrig.fleet.discover
region: [us-east-1, eu-west-1]
account: [prod, arn:aws:iam::123456789012:role/inventory]
filter: [tag:Role=web]
group_by: [region, account]
hostname: name
"""

_OPTIONS = (
    "provider", "region", "all_regions", "account", "external_id", "role_session_name", "via", "profile",
    "endpoint_url", "max_attempts", "retry_mode", "filter", "state", "address", "hostname", "group",
    "group_by", "user", "port", "ssh_proxy", "cache_ttl", "refresh", "allow_partial",
)  # fmt: skip


class InventoryModule(BaseInventoryPlugin):  # type: ignore[misc] # ansible is untyped
    NAME = "stackrig.fleet.discover"

    def verify_file(self, path: str) -> bool:
        return bool(super().verify_file(path)) and path.endswith(("stackrig.yml", "stackrig.yaml"))

    def parse(self, inventory: Any, loader: Any, path: str, cache: bool = True) -> None:
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        try:
            from stackrig.errors import StackrigError
            from stackrig.fleet.ansible_plugin import plugin_inventory
        except ImportError as exc:
            raise AnsibleError(
                f"stackrig.fleet.discover needs the stackrig package, which {sys.executable} cannot import "
                f"({exc}): pip install 'stackrig[fleet]' into the environment that runs Ansible"
            ) from None
        options = {name: self.get_option(name) for name in _OPTIONS}
        allow_partial = options.pop("allow_partial")
        try:
            found = plugin_inventory(options, os.environ)
        except StackrigError as exc:
            hint = f" ({exc.hint})" if exc.hint else ""
            raise AnsibleParserError(f"stackrig.fleet.discover: {exc.message}{hint}") from None
        if found.failed and not allow_partial:
            raise AnsibleError(
                "stackrig.fleet.discover: only part of the inventory could be read ("
                + "; ".join(found.failed)
                + "); set allow_partial: true to accept it"
            )
        for part in found.failed:
            self.display.warning(f"stackrig.fleet.discover: failed: {part}")
        for note in found.warnings:
            self.display.warning(f"stackrig.fleet.discover: {note}")
        for name, variables in found.hosts:
            self.inventory.add_host(name)
            for key, value in variables.items():
                self.inventory.set_variable(name, key, value if key in found.trusted else wrap_var(value))
        for group, members in found.groups.items():
            self.inventory.add_group(group)
            for name in members:
                self.inventory.add_child(group, name)
