"""The Ansible collection ``stackrig.fleet`` shipped inside this package: where it is, and installing it.

Ansible finds collections under ``<path>/ansible_collections/<namespace>/<name>`` for every
``<path>`` of its ``collections_path``. This package holds ``ansible_collections/stackrig/
fleet``, so its own folder can be put on ``ANSIBLE_COLLECTIONS_PATH`` as it is; or
:func:`install_collection` copies the collection where ``ansible-galaxy`` would put it (the
first ``ANSIBLE_COLLECTIONS_PATH`` entry, else ``~/.ansible/collections``), replacing an
earlier copy of it and nothing else.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from stackrig.errors import ConflictError, OutputPathError

__all__ = ["CollectionInfo", "collection_info", "install_collection"]

NAMESPACE, NAME = "stackrig", "fleet"
PACKAGE_ROOT = Path(__file__).resolve().parent.parent  # the stackrig package folder


@dataclass(frozen=True, slots=True)
class CollectionInfo:
    name: str
    version: str
    source: Path
    collections_path: Path
    """The folder to put on ANSIBLE_COLLECTIONS_PATH (it holds ansible_collections/stackrig/fleet)."""
    installed: Path | None = None


def _source() -> Path:
    return PACKAGE_ROOT / "ansible_collections" / NAMESPACE / NAME


def _version(folder: Path) -> str:
    doc = yaml.safe_load((folder / "galaxy.yml").read_text(encoding="utf-8"))
    return str(doc.get("version", "")) if isinstance(doc, dict) else ""


def _ours(folder: Path) -> bool:
    try:
        doc = yaml.safe_load((folder / "galaxy.yml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return False
    return isinstance(doc, dict) and (doc.get("namespace"), doc.get("name")) == (NAMESPACE, NAME)


def collection_info() -> CollectionInfo:
    source = _source()
    return CollectionInfo(f"{NAMESPACE}.{NAME}", _version(source), source, PACKAGE_ROOT)


def default_install_root(environ: Mapping[str, str]) -> Path:
    """ansible-galaxy's target: the first ANSIBLE_COLLECTIONS_PATH entry, else ~/.ansible/collections."""
    given = environ.get("ANSIBLE_COLLECTIONS_PATH") or environ.get("ANSIBLE_COLLECTIONS_PATHS")
    if given:
        return Path(given.split(os.pathsep)[0]).expanduser()
    return Path(environ.get("HOME", "~")).expanduser() / ".ansible" / "collections"


def install_collection(root: Path | None, environ: Mapping[str, str]) -> CollectionInfo:
    """Copy the collection to ``root/ansible_collections/stackrig/fleet`` (replacing our own copy only)."""
    info = collection_info()
    base = root or default_install_root(environ)
    target = base / "ansible_collections" / NAMESPACE / NAME
    if target.exists() and not _ours(target):
        raise ConflictError(
            f"{target} exists and is not the stackrig.fleet collection; nothing was changed",
            hint="move it away, or give another folder with --path",
        )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".stackrig-fleet-", dir=target.parent))
        copy = staging / NAME
        shutil.copytree(info.source, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        if target.exists():
            old = staging / "old"
            target.rename(old)
        copy.rename(target)  # the new copy appears whole
        shutil.rmtree(staging, ignore_errors=True)
    except OSError as exc:
        raise OutputPathError(f"cannot install the collection in {base}: {exc}") from exc
    return CollectionInfo(info.name, info.version, info.source, base, installed=target)
