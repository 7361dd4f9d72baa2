"""``stackrig landscape``: the container and microservices ecosystem catalog."""

from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from stackrig import landscape as ls
from stackrig.cli._common import finish
from stackrig.cli.options import JsonOpt
from stackrig.errors import ExitCode
from stackrig.output import Renderer, Report

app = typer.Typer(
    help="The container and microservices ecosystem in ten layers: query it, render it, extend it.\n\n"
    "Uses the bundled catalog unless --catalog names your own landscape.yml (CNCF layout).",
    no_args_is_help=True,
)

CatalogOpt = Annotated[
    Path | None,
    typer.Option(
        "--catalog",
        "-c",
        help="Your landscape.yml (CNCF layout) to use instead of the bundled catalog.",
        dir_okay=False,
    ),
]
TargetCatalogOpt = Annotated[
    Path | None,
    typer.Option(
        "--catalog",
        "-c",
        help="Your catalog file to add to (CNCF layout; created with the ten layers if absent).",
        dir_okay=False,
    ),
]
OutputOpt = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Write to this file (atomically) instead of stdout.", dir_okay=False),
]


def _t(text: str) -> Text:
    """Catalog strings are data: never rich markup, never a terminal control sequence."""
    return Text(
        "".join(repr(ch)[1:-1] if ch != "\n" and unicodedata.category(ch) == "Cc" else ch for ch in text)
    )


def _tools_table(tools: Sequence[ls.Tool], title: str) -> Renderer:
    def draw(console: Console) -> None:
        table = Table(title=_t(title), title_justify="left")
        for column in ("tool", "layers", "status", "description"):
            table.add_column(column)
        for tool in tools:
            layers = tool.layer + (f" (+{len(tool.layers) - 1} overlap)" if tool.overlaps else "")
            table.add_row(_t(tool.name), _t(layers), _t(tool.status.value), _t(tool.description))
        console.print(table)

    return draw


def _lines(lines: Sequence[str]) -> Renderer:
    def draw(console: Console) -> None:
        for line in lines:
            console.print(_t(line))

    return draw


@app.command(epilog="Example: stackrig landscape layers --json")
def layers(ctx: typer.Context, *, catalog: CatalogOpt = None, json_: JsonOpt = False) -> None:
    """List the layers with their subcategories and how many tools each holds (overlaps included)."""
    cat = ls.load_catalog(catalog)

    lines = [f"{len(cat.layers)} layers, {len(cat.tools)} tools ({cat.source})", ""]
    for layer in cat.layers:
        lines.append(f"{layer.name}  [{layer.slug}]  {layer.tools} tools, {layer.overlap_tools} overlap")
        lines.append("    " + "; ".join(layer.subcategories))
    draw = _lines(lines)

    finish(ctx, Report({"source": cat.source, "layers": cat.layers}, render=draw), json_mode=json_)


@app.command(
    name="list", epilog='Example: stackrig landscape list --layer orchestration --search "kubernetes"'
)
def list_(
    ctx: typer.Context,
    *,
    layer: Annotated[
        str | None,
        typer.Option(
            "--layer", "-l", help="Only this layer: its name, its id (see 'layers') or a word of it."
        ),
    ] = None,
    search: Annotated[
        str | None,
        typer.Option("--search", "-s", help="Only tools whose name, description or layers hold every word."),
    ] = None,
    status: Annotated[ls.Status | None, typer.Option("--status", help="Only tools with this status.")] = None,
    catalog: CatalogOpt = None,
    json_: JsonOpt = False,
) -> None:
    """List tools, filtered by layer (overlaps included), search words and status."""
    cat = ls.load_catalog(catalog)
    tools = ls.list_tools(cat, layer=layer, search=search, status=status)
    title = f"{len(tools)} of {len(cat.tools)} tools"
    finish(
        ctx, Report({"count": len(tools), "tools": tools}, render=_tools_table(tools, title)), json_mode=json_
    )


@app.command(epilog="Example: stackrig landscape show Kubernetes")
def show(
    ctx: typer.Context,
    *,
    tool: Annotated[str, typer.Argument(help="Tool name (case-insensitive).")],
    catalog: CatalogOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Show one tool with every layer it belongs to."""
    found = ls.find_tool(ls.load_catalog(catalog), tool)
    lines = [
        found.name,
        f"  layer:       {found.layer} / {found.subcategory}",
        *(f"  also in:     {place}" for place in found.second_path),
        f"  status:      {found.status.value}",
        f"  homepage:    {found.homepage_url}",
        f"  repository:  {found.repo_url or '-'}",
        f"  description: {found.description or '-'}",
    ]
    finish(ctx, Report(found, render=_lines(lines)), json_mode=json_)


@app.command(epilog="Example: stackrig landscape overlap --json")
def overlap(ctx: typer.Context, *, catalog: CatalogOpt = None, json_: JsonOpt = False) -> None:
    """List the tools that belong to more than one layer (marked "overlap" in the catalog)."""
    tools = ls.overlaps(ls.load_catalog(catalog))

    def draw(console: Console) -> None:
        table = Table(title=_t(f"{len(tools)} tools in more than one layer"), title_justify="left")
        table.add_column("tool")
        table.add_column("layers")
        for tool in tools:
            table.add_row(_t(tool.name), _t("\n".join(tool.layers)))
        console.print(table)

    data = {"count": len(tools), "tools": [{"name": t.name, "layers": t.layers} for t in tools]}
    finish(ctx, Report(data, render=draw), json_mode=json_)


@app.command(epilog="Example: stackrig landscape render --format html -o landscape.html")
def render(
    ctx: typer.Context,
    *,
    fmt: Annotated[
        ls.Format,
        typer.Option(
            "--format", "-f", help="md: a table per layer; html: one offline page with search; json."
        ),
    ] = ls.Format.MD,
    output: OutputOpt = None,
    catalog: CatalogOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Render the catalog as Markdown, a self-contained HTML page (grid, search, overlap badges) or JSON."""
    result = ls.render_catalog(catalog, fmt, output)
    if output is not None:
        draw = _lines([f"wrote {output} ({fmt.value}, {result.bytes} bytes, {result.tools} tools)"])
    else:
        draw = _raw(result.content or "")
    data = result if json_ and output is None else dataclasses.replace(result, content=None)
    finish(ctx, Report(data, render=draw), json_mode=json_)


def _raw(content: str) -> Renderer:
    def draw(console: Console) -> None:
        console.file.write(content)

    return draw


@app.command(epilog="Example: stackrig landscape validate my-landscape.yml")
def validate(
    ctx: typer.Context,
    *,
    file: Annotated[
        Path | None,
        typer.Argument(
            help="landscape.yml to check (default: --catalog or the bundled one).", dir_okay=False
        ),
    ] = None,
    catalog: CatalogOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Check a landscape.yml and list every problem with its line; exit 2 if there is any.

    Finds YAML errors, missing fields, duplicate names, second_path entries that name
    no layer, malformed URLs and unknown statuses.
    """
    report = ls.validate_file(file or catalog)
    lines = [p.format(report.source) for p in report.problems]
    count = len(report.problems)
    lines.append(
        f"{report.source}: {count} problem{'s' if count != 1 else ''}"
        if count
        else f"{report.source}: valid ({report.layers} layers, {report.tools} tools)"
    )
    code = ExitCode.USAGE if count else ExitCode.OK
    finish(ctx, Report(report, render=_lines(lines), exit_code=code), json_mode=json_)


@app.command(
    epilog="Example: stackrig landscape add Nomad --layer scheduling --also orchestration "
    '--homepage https://www.nomadproject.io --description "HashiCorp scheduler." --catalog mine.yml'
)
def add(
    ctx: typer.Context,
    *,
    name: Annotated[str, typer.Argument(help="Name of the tool to add.")],
    layer: Annotated[str, typer.Option("--layer", "-l", help="Its home layer (name, id or a word of it).")],
    homepage: Annotated[str, typer.Option("--homepage", help="Homepage URL (http or https).")],
    catalog: TargetCatalogOpt = None,
    also: Annotated[
        list[str] | None,
        typer.Option(
            "--also", help="Another layer it fits (overlap), as 'layer' or 'layer / subcategory'; repeatable."
        ),
    ] = None,
    subcategory: Annotated[
        str | None, typer.Option("--subcategory", help="Subcategory in the home layer (created if new).")
    ] = None,
    repo: Annotated[str | None, typer.Option("--repo", help="Source repository URL.")] = None,
    description: Annotated[
        str | None, typer.Option("--description", "-d", help="One sentence on what it does.")
    ] = None,
    status: Annotated[
        ls.Status, typer.Option("--status", help="active, archived or retired.")
    ] = ls.Status.ACTIVE,
    replace: Annotated[
        bool, typer.Option("--replace", help="Overwrite the entry if the tool is already there.")
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Add a tool to your catalog file (--catalog; created with the ten layers if absent).

    The file is checked before and after, and replaced atomically: on any error it is left as it was.
    """
    if catalog is None:
        raise ls.CatalogError(
            "add writes to your own catalog file", hint="pass --catalog FILE (created if absent)"
        )
    new = ls.NewTool(name, layer, homepage, tuple(also or ()), subcategory, repo, description, status)
    result = ls.add_tool(catalog, new, replace=replace)
    verb = "replaced" if result.replaced else "added"
    line = f"{verb} {result.tool.name} in {', '.join(result.tool.layers)} → {result.catalog_file}"
    line += f" ({'created, ' if result.created else ''}{result.tools} tools)"
    finish(ctx, Report(result, render=_lines([line]), warnings=result.warnings), json_mode=json_)


@app.command(epilog="Example: stackrig landscape merge bundled mine.yml -o merged.yml")
def merge(
    ctx: typer.Context,
    *,
    base: Annotated[str, typer.Argument(help="Base catalog file, or 'bundled' for the bundled catalog.")],
    extra: Annotated[
        Path, typer.Argument(help="Catalog whose layers and tools are added to BASE.", dir_okay=False)
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Merged catalog to write (not an input).", dir_okay=False)
    ],
    prefer: Annotated[
        str, typer.Option("--prefer", help="Whose entry to keep when a tool differs: base or extra.")
    ] = "base",
    json_: JsonOpt = False,
) -> None:
    """Merge two catalogs into a new file, reporting tools that are in both but differ."""
    if prefer not in ("base", "extra"):
        raise ls.CatalogError(f"--prefer must be base or extra, not {prefer!r}")
    side: Literal["base", "extra"] = "extra" if prefer == "extra" else "base"
    result = ls.merge_catalogs(base, extra, output, prefer=side)
    warnings = tuple(
        f"conflict: {c.name} differs in {', '.join(c.fields)}; kept the {c.kept} entry"
        for c in result.conflicts
    )
    line = f"wrote {result.output}: {result.tools} tools in {result.layers} layers, {len(result.added)} added"
    line += f", {len(result.conflicts)} conflicts"
    finish(ctx, Report(result, render=_lines([line]), warnings=warnings), json_mode=json_)


@app.command(
    name="import",
    epilog="Example: stackrig landscape import cncf-landscape.yml --map mapping.yml -o mine.yml",
)
def import_(
    ctx: typer.Context,
    *,
    source: Annotated[Path, typer.Argument(help="A landscape.yml in the CNCF format.", dir_okay=False)],
    mapping: Annotated[
        Path | None,
        typer.Option(
            "--map",
            "-m",
            help="Mapping of CNCF categories onto layers (default: the example that ships).",
            dir_okay=False,
        ),
    ] = None,
    output: OutputOpt = None,
    catalog: Annotated[
        Path | None,
        typer.Option(
            "--catalog",
            "-c",
            help="Catalog whose layers the mapping must target (default: the bundled one); "
            "a target it lacks is warned about and becomes a new layer.",
            dir_okay=False,
        ),
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Import a CNCF landscape.yml, sorting its items into the ten layers with a mapping file.

    Without -o the imported catalog is printed; merge it with yours through 'landscape merge'.
    """
    result = ls.import_cncf(source, mapping, output, catalog=catalog)
    warnings = result.warnings + tuple(
        f"skipped {s.path}: no mapping rule ({s.items} items)" for s in result.skipped
    )
    if output is not None or json_:
        draw = _lines([f"imported {result.tools} tools into {result.layers} layers → {output}"])
    else:
        draw = _raw(result.content or "")
    finish(ctx, Report(result, render=draw, warnings=warnings), json_mode=json_)
