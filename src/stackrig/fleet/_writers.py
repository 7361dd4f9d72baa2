"""Inventory writers (INI, YAML, JSON, script JSON) with every cloud string marked unsafe for Ansible.

Every format loads as a plain file with ``ansible-inventory -i FILE`` except ``script``:
``json`` is the YAML inventory plugin's structure (``{"all": {"hosts": ..., "children":
...}}``) written as JSON, which that plugin reads; ``script`` is the ``--list`` output of
a dynamic-inventory script (``_meta.hostvars``), for wrappers that print it.

Ansible evaluates ``{{ }}`` in inventory values. YAML values get the
``!unsafe`` tag and JSON values the ``{"__ansible_unsafe": ...}`` wrapper, as the
aws_ec2 plugin does. INI has no way to mark a value, so the INI writer writes
only values proven safe by a strict pattern (letters, digits and ``._:@/+-``,
that Ansible's INI parser keeps as the same string) and, with a host_vars
folder, writes the rest there as YAML with ``!unsafe``; without one they are
left out (and counted).

PyYAML is imported by the first YAML text written (``--format yaml``, host_vars files), and the
file-set writer by the first host_vars folder: an INI or JSON inventory needs neither.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stackrig._io import atomic_write, ensure_dir, safe_join
from stackrig.errors import OutputPathError
from stackrig.fleet._inventory import TRUSTED_VARS, Format, InventoryResult

if TYPE_CHECKING:
    import yaml

__all__ = [
    "InventoryFiles",
    "json_document",
    "plugin_document",
    "render_inventory",
    "write_host_vars",
    "write_inventory",
]

_INI_SAFE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._:@/+-]{0,254}$")
_TRUSTED_SAFE = re.compile(r"^[A-Za-z0-9 ._:@/=\[\]+-]{1,300}$")


class _Unsafe(str):
    """A string YAML writes with the ``!unsafe`` tag."""

    __slots__ = ()


_STR_TAG = "tag:yaml.org,2002:str"


@functools.cache
def _dumper() -> type[yaml.SafeDumper]:
    """A fast YAML dumper that knows :class:`_Unsafe` and never writes aliases."""
    import yaml

    class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
        def ignore_aliases(self, data: Any) -> bool:
            return True

    resolver = yaml.resolver.Resolver()

    def represent_unsafe(dumper: yaml.SafeDumper, data: _Unsafe) -> yaml.ScalarNode:
        text = str(data)
        # Ansible resolves the value under ``!unsafe`` as if it were plain, even when quoted:
        # ``!unsafe "0"`` reads back as the integer 0, ``!unsafe ''`` as null. Strings YAML would
        # resolve to another type (numbers, booleans, null, dates) cannot hold a template (no
        # ``{``), so they are written as ordinary quoted strings instead.
        resolved = resolver.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
        if not text or ("{" not in text and resolved != _STR_TAG):
            return dumper.represent_str(text)
        return dumper.represent_scalar("!unsafe", text, style='"')

    _Dumper.add_representer(_Unsafe, represent_unsafe)
    dumper: type[yaml.SafeDumper] = _Dumper
    return dumper


def _mark(value: Any, wrap: Any) -> Any:
    """Every string inside ``value`` passed through ``wrap`` (dict keys stay plain)."""
    if isinstance(value, str):
        return wrap(value)
    if isinstance(value, Mapping):
        return {str(k): _mark(v, wrap) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mark(v, wrap) for v in value]
    return value


def _json_unsafe(value: str) -> dict[str, str]:
    return {"__ansible_unsafe": value}


def _marked(vars_: Mapping[str, Any], wrap: Any) -> dict[str, Any]:
    return {k: (v if k in TRUSTED_VARS else _mark(v, wrap)) for k, v in vars_.items()}


_NUM = r"(?:\d[\d_]*(?:\.[\d_]*)?(?:[eE][+-]?\d[\d_]*)?|0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+)[jJ]?"
# Safe characters only, and not what Ansible's INI parser (ast.literal_eval) would turn into a
# number or a constant. The number pattern is wider than Python's grammar on purpose: a string it
# matches is kept out of INI, never mis-typed.
_INI_SAFE_STR = re.compile(
    rf"^(?!(?:True|False|None)$)(?!{_NUM}(?:[+-]{_NUM})?$)[A-Za-z0-9_][A-Za-z0-9._:@/+-]{{0,254}}$"
)


def ini_safe(value: Any) -> bool:
    """True when Ansible's INI parser reads ``value`` back unchanged and it cannot hold a template.

    Strings must match a strict pattern (no space, quote, ``=``, ``#``, ``[``, ``{``) and must
    not read as a Python literal (``1``, ``1e5``, ``True``) since the INI parser evaluates those.
    """
    if isinstance(value, str):
        return _INI_SAFE_STR.match(value) is not None
    return isinstance(value, int) and not isinstance(value, bool)


def _ini_value(key: str, value: Any) -> str | None:
    if key in TRUSTED_VARS:
        text = str(value)
        if isinstance(value, int) or ini_safe(text):
            return text
        if _TRUSTED_SAFE.match(text):
            return f'"{text}"'
        return None
    if ini_safe(value):
        return str(value)
    return None


@dataclass(frozen=True, slots=True)
class InventoryFiles:
    """The text of an inventory and of its host_vars files (INI only), and how many values were left out."""

    content: str
    host_vars: Mapping[str, str]
    left_out: int = 0


def _yaml(data: Any) -> str:
    import yaml

    text: str = yaml.dump(
        data, Dumper=_dumper(), sort_keys=False, allow_unicode=True, default_flow_style=False, width=2**31 - 1
    )
    return text


class _Ini:
    """The INI text of an inventory, a few thousand lines at a time; as it goes, the host_vars
    files of the values INI cannot hold (``with_host_vars``), or the count of those left out."""

    BLOCK = 4096  # lines

    def __init__(self, result: InventoryResult, with_host_vars: bool) -> None:
        self.result = result
        self.with_host_vars = with_host_vars
        self.host_vars: dict[str, str] = {}
        self.left_out = 0

    def blocks(self) -> Iterator[str]:
        """The text in blocks of whole lines (each ending in a newline)."""
        lines: list[str] = ["# written by stackrig fleet inventory; cloud values that are not provably safe"]
        lines.append("# for INI are in host_vars/ (--host-vars-dir) or left out")
        for ih in self.result.hosts:
            parts = [ih.name]
            rest: dict[str, Any] = {}
            for key, value in ih.vars.items():
                written = _ini_value(key, value)
                if written is None:
                    rest[key] = value
                else:
                    parts.append(f"{key}={written}")
            if rest:
                if self.with_host_vars:
                    self.host_vars[ih.name] = _yaml(_marked(rest, _Unsafe))
                else:
                    self.left_out += len(rest)
            lines.append(" ".join(parts))
            if len(lines) >= self.BLOCK:
                yield "\n".join(lines) + "\n"
                lines = []
        for group, members in self.result.groups.items():
            lines.append("")
            lines.append(f"[{group}]")
            lines.extend(members)
        if lines:
            yield "\n".join(lines) + "\n"


def _render_ini(result: InventoryResult, with_host_vars: bool) -> InventoryFiles:
    ini = _Ini(result, with_host_vars)
    # Joined from blocks, not from a string per line: at the end the text sits beside the blocks
    # only (at 1,000,000 hosts, some 50 MB less at the peak).
    content = "".join(list(ini.blocks()))
    return InventoryFiles(content, ini.host_vars, ini.left_out)


def plugin_document(result: InventoryResult, wrap: Any = _json_unsafe) -> dict[str, Any]:
    """The YAML inventory plugin's structure: ``all.hosts`` with their variables, groups as children."""
    doc: dict[str, Any] = {
        "all": {"hosts": {ih.name: _marked(ih.vars, wrap) for ih in result.hosts}},
    }
    if result.groups:
        doc["all"]["children"] = {
            group: {"hosts": dict.fromkeys(members)} for group, members in result.groups.items()
        }
    return doc


def json_document(result: InventoryResult) -> dict[str, Any]:
    """The ``--list`` document of a dynamic inventory script (``_meta.hostvars`` included)."""
    doc: dict[str, Any] = {
        "_meta": {"hostvars": {ih.name: _marked(ih.vars, _json_unsafe) for ih in result.hosts}},
        "all": {"children": ["ungrouped", *result.groups]},
    }
    grouped = {name for members in result.groups.values() for name in members}
    doc["ungrouped"] = {"hosts": [ih.name for ih in result.hosts if ih.name not in grouped]}
    for group, members in result.groups.items():
        doc[group] = {"hosts": list(members)}
    return doc


def render_inventory(result: InventoryResult, fmt: Format, *, host_vars: bool = False) -> InventoryFiles:
    """The inventory as text in ``fmt`` (``host_vars`` only matters for INI)."""
    if fmt == "ini":
        return _render_ini(result, host_vars)
    if fmt == "yaml":
        return InventoryFiles(_yaml(plugin_document(result, _Unsafe)), {})
    doc = json_document(result) if fmt == "script" else plugin_document(result)
    return InventoryFiles(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", {})


def _host_var_files(folder: Path, files: Mapping[str, str]) -> Iterator[tuple[Path, str]]:
    for name, text in files.items():
        yield safe_join(folder, f"{name}.yml"), text


def write_host_vars(folder: str | Path, files: InventoryFiles) -> None:
    """Write ``host_vars/<host>.yml`` files (INI's untrusted values, tagged ``!unsafe``), all at once."""
    if not files.host_vars:
        return
    _write_set(None, files, Path(folder))


def _write_set(inventory: Path | None, files: InventoryFiles, host_vars_dir: Path) -> None:
    """The inventory and its host_vars as one set: a reader finds both old or both new, and a
    full disk half-way leaves both as they were. The folder's other files stay."""
    from stackrig._fileset import write_set

    base = host_vars_dir.resolve()  # a host_vars that is a symlink: its target is swapped
    if not base.parent.is_dir():
        ensure_dir(base.parent)
    with write_set(files=[inventory] if inventory else [], folders=[base]) as stage:
        for var_file, text in _host_var_files(base, files.host_vars):
            stage.write(var_file, text)
        if inventory is not None:
            stage.write(inventory, files.content)


def write_inventory(
    result: InventoryResult,
    path: str | Path,
    fmt: Format = "ini",
    *,
    host_vars_dir: str | Path | None = None,
    keep_text: bool = True,
) -> InventoryFiles:
    """Write the inventory to ``path`` atomically (and host_vars files for INI); return what was written.

    ``keep_text=False``: an INI inventory without host_vars is written as it is made, a few
    thousand lines at a time, and its text is not returned (``content`` is empty): the whole
    text never sits in memory, which matters for a fleet of a million hosts.
    """
    target = Path(path)
    parent = target.parent if str(target.parent) else Path()
    if not parent.is_dir():
        raise OutputPathError(
            f"cannot write {target}: folder {parent} does not exist",
            hint="create the folder first or choose another path",
        )
    if fmt == "ini" and host_vars_dir is None and not keep_text:
        ini = _Ini(result, with_host_vars=False)
        atomic_write(target, ini.blocks())
        return InventoryFiles("", {}, ini.left_out)
    files = render_inventory(result, fmt, host_vars=host_vars_dir is not None)
    if host_vars_dir is not None and files.host_vars:
        _write_set(target, files, Path(host_vars_dir))
    else:
        atomic_write(target, files.content)
    return files
