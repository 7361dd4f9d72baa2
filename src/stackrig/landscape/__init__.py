"""The container and microservices ecosystem catalog: ten layers, queryable and extendable.

The bundled catalog (``data/landscape.yml``, CNCF landscape.yml layout) and any
user's file load into a frozen :class:`Catalog`; ``validate_file`` lists every
problem with its line; ``render`` writes Markdown, HTML or JSON; ``add_tool``,
``merge_catalogs`` and ``import_cncf`` write catalog files atomically.
"""

from __future__ import annotations

from stackrig.landscape.catalog import (
    ValidationReport,
    find_tool,
    list_tools,
    load_catalog,
    overlaps,
    resolve_layer,
    validate_file,
)
from stackrig.landscape.edit import AddResult, Conflict, MergeResult, NewTool, add_tool, merge_catalogs
from stackrig.landscape.importer import ImportResult, MappingError, example_mapping_path, import_cncf
from stackrig.landscape.model import Catalog, CatalogError, Layer, Placement, Problem, Status, Tool
from stackrig.landscape.render import Format, RenderResult, render, render_catalog

__all__ = [
    "AddResult",
    "Catalog",
    "CatalogError",
    "Conflict",
    "Format",
    "ImportResult",
    "Layer",
    "MappingError",
    "MergeResult",
    "NewTool",
    "Placement",
    "Problem",
    "RenderResult",
    "Status",
    "Tool",
    "ValidationReport",
    "add_tool",
    "example_mapping_path",
    "find_tool",
    "import_cncf",
    "list_tools",
    "load_catalog",
    "merge_catalogs",
    "overlaps",
    "render",
    "render_catalog",
    "resolve_layer",
    "validate_file",
]
