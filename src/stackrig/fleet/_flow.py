"""``fleet run``: the whole flow in one call (inventory → render → play), files kept in a work dir."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

from stackrig._io import ensure_dir
from stackrig.errors import UsageError
from stackrig.fleet._commands import InventoryOutcome, InventorySettings, make_inventory
from stackrig.fleet.ansible import PlayResult, PlaySettings, play
from stackrig.fleet.render import RenderSettings, render

__all__ = ["RunResult", "RunSettings", "parse_render_specs", "run_flow"]

_INVENTORY_NAME = {"ini": "inventory.ini", "yaml": "inventory.yml", "json": "inventory.json"}


@dataclass(frozen=True, slots=True)
class RunSettings:
    inventory: InventorySettings
    play: PlaySettings
    renders: tuple[tuple[Path, Path], ...] = ()
    render_vars: Mapping[str, str] = field(default_factory=dict)
    workdir: Path | None = None


@dataclass(frozen=True, slots=True)
class RunResult:
    workdir: Path | None
    inventory: InventoryOutcome
    rendered: tuple[Path, ...]
    play: PlayResult

    def to_dict(self) -> dict[str, Any]:
        return {
            "workdir": str(self.workdir) if self.workdir else None,
            "inventory": self.inventory.to_dict(),
            "rendered": [str(p) for p in self.rendered],
            "play": self.play,
        }


def parse_render_specs(specs: Sequence[str]) -> tuple[tuple[Path, Path], ...]:
    """``TEMPLATE:OUTPUT`` pairs; OUTPUT relative to the work dir."""
    out: list[tuple[Path, Path]] = []
    for spec in specs:
        template, sep, output = spec.rpartition(":")
        if not sep or not template or not output:
            raise UsageError(
                f"--render {spec!r} is not TEMPLATE:OUTPUT", hint="e.g. --render agent.yml.j2:agent.yml"
            )
        out.append((Path(template), Path(output)))
    return tuple(out)


def run_flow(settings: RunSettings, *, out: IO[str], environ: Mapping[str, str]) -> RunResult:
    """Inventory, rendered files, then the play; intermediates stay in ``workdir`` (else a temp dir)."""
    if not settings.play.playbook.is_file():
        raise UsageError(f"playbook {settings.play.playbook} does not exist")
    if settings.inventory.options.format not in _INVENTORY_NAME:
        raise UsageError(
            "--format script writes a dynamic-inventory script's output, which ansible-playbook "
            "cannot read as a file",
            hint="fleet run takes --format ini, yaml or json",
        )
    for template, _ in settings.renders:
        if not template.is_file():
            raise UsageError(f"template {template} does not exist")
    keep = settings.workdir is not None
    workdir = (
        ensure_dir(settings.workdir) if settings.workdir else Path(tempfile.mkdtemp(prefix="stackrig-run-"))
    )
    try:
        fmt = settings.inventory.options.format
        inventory_path = workdir / _INVENTORY_NAME[fmt]
        outcome = make_inventory(
            replace(
                settings.inventory,
                output=inventory_path,
                host_vars_dir=workdir / "host_vars" if fmt == "ini" else None,
            )
        )
        rendered: list[Path] = []
        for template, output in settings.renders:
            target = output if output.is_absolute() else workdir / output
            render(RenderSettings(template, inventory_path, target, settings.render_vars), environ)
            rendered.append(target)
        extra = (*settings.play.extra_vars, f"stackrig_workdir={workdir}")
        result = play(
            replace(settings.play, inventory=inventory_path, extra_vars=extra), out=out, environ=environ
        )
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return RunResult(workdir if keep else None, outcome, tuple(rendered), result)
