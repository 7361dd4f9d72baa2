"""What the fleet commands do, one function each (the CLI only builds settings and renders)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from stackrig._io import ensure_not_input
from stackrig.fleet._input import load_hosts
from stackrig.fleet._inventory import InventoryOptions, InventoryResult, build_inventory
from stackrig.fleet._model import Host
from stackrig.fleet._writers import InventoryFiles, render_inventory, write_host_vars, write_inventory

__all__ = ["InventoryOutcome", "InventorySettings", "inventory_from_hosts", "make_inventory"]


@dataclass(frozen=True, slots=True)
class InventorySettings:
    """Everything ``fleet inventory`` was asked for."""

    sources: tuple[str, ...] = ()
    provider: str | None = None
    options: InventoryOptions = field(default_factory=InventoryOptions)
    output: Path | None = None
    host_vars_dir: Path | None = None


@dataclass(frozen=True, slots=True)
class InventoryOutcome:
    result: InventoryResult
    files: InventoryFiles
    output: Path | None

    def notes(self) -> tuple[str, ...]:
        """Warnings for stderr / the envelope: name clashes, skipped hosts, values left out of INI."""
        out = list(self.result.warnings)
        out.extend(
            f"skipped {s.instance_id}{f' ({s.name})' if s.name else ''}: {s.reason}"
            for s in self.result.skipped
        )
        if self.files.left_out:
            out.append(
                f"{self.files.left_out} host variables (tags, names, ...) are not provably safe in INI "
                "and were left out: add --host-vars-dir DIR (host_vars beside the inventory) "
                "or use --format yaml/json"
            )
        return tuple(out)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "summary": self.result.summary(),
            "read": self.result.read,
            "hosts": [
                {
                    "name": h.name,
                    "ansible_host": h.vars["ansible_host"],
                    "instance_id": h.host.instance_id,
                    "provider": h.host.provider,
                }
                for h in self.result.hosts
            ],
            "groups": {g: list(m) for g, m in self.result.groups.items()},
            "skipped": [
                {"instance_id": s.instance_id, "name": s.name, "reason": s.reason}
                for s in self.result.skipped
            ],
            "filtered": dict(self.result.filtered),
            "left_out": self.files.left_out,
            "output": str(self.output) if self.output else None,
        }
        if self.output is None:
            data["content"] = self.files.content
        return data


def inventory_from_hosts(
    hosts: Sequence[Host],
    options: InventoryOptions,
    *,
    output: Path | None = None,
    host_vars_dir: Path | None = None,
) -> InventoryOutcome:
    """Build the inventory of ``hosts``, write it to ``output`` (or return its text): ``fleet inventory``.

    With ``host_vars_dir`` the values INI cannot hold safely go to ``DIR/<host>.yml``.
    """
    result = build_inventory(hosts, options)
    if output is None:
        files = render_inventory(result, options.format, host_vars=host_vars_dir is not None)
        if host_vars_dir is not None:
            write_host_vars(host_vars_dir, files)
    else:
        # the text is not kept: nothing shows it when it went to a file
        files = write_inventory(result, output, options.format, host_vars_dir=host_vars_dir, keep_text=False)
    return InventoryOutcome(result, files, output)


def make_inventory(settings: InventorySettings, *, stdin: IO[str] | None = None) -> InventoryOutcome:
    """Read cloud JSON, build the inventory and write it to ``settings.output`` (or return its text)."""
    if settings.output is not None:
        ensure_not_input(settings.output, [s for s in settings.sources if s != "-"])
    hosts = load_hosts(settings.sources, settings.provider, stdin=stdin)
    return inventory_from_hosts(
        hosts, settings.options, output=settings.output, host_vars_dir=settings.host_vars_dir
    )
