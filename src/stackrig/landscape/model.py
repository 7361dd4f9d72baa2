"""The values the landscape family hands around: tools, layers, a catalog, problems."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

from stackrig.errors import UsageError

__all__ = [
    "Catalog",
    "CatalogError",
    "Layer",
    "Placement",
    "Problem",
    "Status",
    "Tool",
    "slug",
]


class Status(enum.StrEnum):
    """Where a tool stands.

    ``archived``: its repository is read-only or development has stopped, but it
    still works where it is deployed. ``retired``: end of life, replaced, users are
    told to move on (docker-machine, Swarm classic, ecs-cli, rkt).
    """

    ACTIVE = "active"
    ARCHIVED = "archived"
    RETIRED = "retired"


class CatalogError(UsageError):
    """A catalog file that cannot be used (missing, not YAML, invalid)."""


@dataclass(frozen=True, slots=True)
class Placement:
    """A place in the catalog: a layer and (optionally) one of its subcategories."""

    layer: str
    subcategory: str | None = None

    def __str__(self) -> str:
        return f"{self.layer} / {self.subcategory}" if self.subcategory else self.layer


@dataclass(frozen=True, slots=True)
class Tool:
    """One tool of the catalog and every layer it belongs to (``layers[0]`` is its home)."""

    name: str
    layer: str
    subcategory: str
    homepage_url: str
    repo_url: str | None
    description: str
    status: Status
    second_path: tuple[Placement, ...] = ()
    layers: tuple[str, ...] = ()
    line: int | None = None

    @property
    def overlaps(self) -> bool:
        return len(self.layers) > 1


@dataclass(frozen=True, slots=True)
class Layer:
    """A category of the catalog (one of the ten layers in the bundled one)."""

    name: str
    subcategories: tuple[str, ...]
    slug: str
    tools: int = 0
    overlap_tools: int = 0
    line: int | None = None


@dataclass(frozen=True, slots=True)
class Catalog:
    """A whole catalog: where it came from, its layers in file order, its tools."""

    source: str
    layers: tuple[Layer, ...]
    tools: tuple[Tool, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding of ``landscape validate``: a stable kebab id, the line, what is wrong."""

    code: str
    message: str
    line: int | None = None

    def format(self, source: str) -> str:
        where = f"{source}:{self.line}" if self.line is not None else source
        return f"{where}: [{self.code}] {self.message}"


def slug(text: str) -> str:
    """``Scheduling and Scaling`` → ``scheduling-and-scaling``."""
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")
