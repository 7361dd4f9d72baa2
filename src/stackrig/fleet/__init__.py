"""fleet: cloud CLI JSON → Ansible inventory → rendered config → ansible-playbook.

The public names other families and the CLI use. Data flow::

    load_hosts / parse_documents  →  [Host]  →  build_inventory(hosts, InventoryOptions)
        →  InventoryResult  →  render_inventory / write_inventory (ini | yaml | json)
    inventory_from_hosts(hosts, options, output=...)  (the two steps above; fleet discover / up use it)
    read_inventory(path) → Inventory   (the reader for the three formats)
"""

from __future__ import annotations

from stackrig.fleet._commands import InventoryOutcome, InventorySettings, inventory_from_hosts, make_inventory
from stackrig.fleet._filters import Filter, parse_filter
from stackrig.fleet._input import load_documents, load_hosts, read_documents
from stackrig.fleet._inventory import (
    InventoryHost,
    InventoryOptions,
    InventoryResult,
    Skipped,
    build_inventory,
    safe_group_name,
    safe_host_name,
)
from stackrig.fleet._model import PROVIDERS, Host, NoHostsError, ProviderParseError
from stackrig.fleet._reader import Inventory, InventoryEntry, is_script_layout, read_inventory
from stackrig.fleet._writers import InventoryFiles, json_document, render_inventory, write_inventory
from stackrig.fleet.providers import SHAPES, detect_provider, parse_documents

__all__ = [
    "PROVIDERS",
    "SHAPES",
    "Filter",
    "Host",
    "Inventory",
    "InventoryEntry",
    "InventoryFiles",
    "InventoryHost",
    "InventoryOptions",
    "InventoryOutcome",
    "InventoryResult",
    "InventorySettings",
    "NoHostsError",
    "ProviderParseError",
    "Skipped",
    "build_inventory",
    "detect_provider",
    "inventory_from_hosts",
    "is_script_layout",
    "json_document",
    "load_documents",
    "load_hosts",
    "make_inventory",
    "parse_documents",
    "parse_filter",
    "read_documents",
    "read_inventory",
    "render_inventory",
    "safe_group_name",
    "safe_host_name",
    "write_inventory",
]
