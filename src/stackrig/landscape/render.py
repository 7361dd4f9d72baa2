"""Render a catalog as Markdown, a self-contained HTML page, or JSON.

Every catalog string is escaped for its target: the HTML page escapes text and
attributes and links only http(s) URLs; its Content-Security-Policy allows no
network access and runs only the page's own inline script and style (by hash),
so even a missed escape could not run a script from the catalog.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import html
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from stackrig._io import atomic_write, ensure_not_input
from stackrig.landscape.catalog import load_catalog
from stackrig.landscape.model import Catalog, Status, Tool
from stackrig.landscape.validate import url_problem
from stackrig.output import to_jsonable

__all__ = [
    "Format",
    "RenderResult",
    "render",
    "render_catalog",
    "render_html",
    "render_json",
    "render_markdown",
]


class Format(enum.StrEnum):
    MD = "md"
    HTML = "html"
    JSON = "json"


@dataclass(frozen=True, slots=True)
class RenderResult:
    format: Format
    output: Path | None
    bytes: int
    tools: int
    content: str | None = None


def render_catalog(
    catalog: str | os.PathLike[str] | None, fmt: Format, output: str | os.PathLike[str] | None = None
) -> RenderResult:
    """Render a catalog file (None: the bundled one); write it atomically to ``output`` if given."""
    if output is not None and catalog is not None:
        ensure_not_input(output, [catalog])
    loaded = load_catalog(catalog)
    content = render(loaded, fmt)
    size = len(content.encode("utf-8"))
    if output is None:
        return RenderResult(fmt, None, size, len(loaded.tools), content)
    atomic_write(output, content)
    return RenderResult(fmt, Path(output), size, len(loaded.tools))


def render(catalog: Catalog, fmt: Format) -> str:
    if fmt is Format.HTML:
        return render_html(catalog)
    if fmt is Format.JSON:
        return render_json(catalog)
    return render_markdown(catalog)


# ---------------------------------------------------------------------------- JSON


def render_json(catalog: Catalog) -> str:
    document = {
        "source": catalog.source,
        "layers": [
            {
                "name": layer.name,
                "slug": layer.slug,
                "subcategories": list(layer.subcategories),
                "tools": [t.name for t in catalog.tools if layer.name in t.layers],
            }
            for layer in catalog.layers
        ],
        "tools": [_tool_json(t) for t in catalog.tools],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _tool_json(tool: Tool) -> dict[str, object]:
    data = to_jsonable(tool)
    data["second_path"] = [str(p) for p in tool.second_path]
    data.pop("line", None)
    return dict(data)


# ---------------------------------------------------------------------------- Markdown

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~])")


def _md(text: str) -> str:
    text = " ".join(text.split())
    text = html.escape(text, quote=False)
    return _MD_SPECIAL.sub(r"\\\1", text)


def _md_url(url: str) -> str:
    return quote(url, safe=":/?#@!$&'*+,;=%-._~")


def _md_link(text: str, url: str | None) -> str:
    if not url or url_problem(url):
        return _md(text)
    return f"[{_md(text)}](<{_md_url(url)}>)"


def render_markdown(catalog: Catalog) -> str:
    total = len(catalog.tools)
    lines = [
        "# Container and microservices landscape",
        "",
        f"{total} tools in {len(catalog.layers)} layers. "
        "Tools marked *overlap* belong to more than one layer.",
        "",
    ]
    for layer in catalog.layers:
        members = [t for t in catalog.tools if layer.name in t.layers]
        lines += [f"## {_md(layer.name)}", ""]
        if not members:
            lines += ["No tools yet.", ""]
            continue
        lines += [
            "| Tool | Subcategory | Status | Description | Repository | Overlap |",
            "|---|---|---|---|---|---|",
        ]
        for tool in members:
            others = [name for name in tool.layers if name != layer.name]
            overlap = "overlap: " + "; ".join(_md(o) for o in others) if others else ""
            repo = _md_link("repo", tool.repo_url) if tool.repo_url else ""
            sub = _subcategory_in(tool, layer.name)
            lines.append(
                f"| {_md_link(tool.name, tool.homepage_url)} | {_md(sub)} | {tool.status.value} "
                f"| {_md(tool.description)} | {repo} | {overlap} |"
            )
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _subcategory_in(tool: Tool, layer: str) -> str:
    if tool.layer == layer:
        return tool.subcategory
    for place in tool.second_path:
        if place.layer == layer:
            return place.subcategory or ""
    return ""


# ---------------------------------------------------------------------------- HTML

_CSS = """
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2330;
background:#f4f6fa}
header{position:sticky;top:0;z-index:2;background:#1d2b4f;color:#fff;padding:12px 20px;display:flex;
flex-wrap:wrap;gap:12px;align-items:center}
header h1{font-size:19px;margin:0 16px 0 0}
#search{flex:1 1 260px;max-width:520px;padding:8px 10px;font-size:15px;border-radius:6px;border:0}
#count{font-size:14px;opacity:.85}
main{padding:8px 20px 40px}
section.layer h2{font-size:18px;margin:22px 0 10px;border-bottom:2px solid #cdd5e3;padding-bottom:4px}
section.layer h2 .n{font-size:13px;font-weight:normal;color:#5a6478;margin-left:6px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(250px,1fr));gap:12px}
.tool{background:#fff;border:1px solid #dde3ee;border-radius:8px;padding:10px 12px;display:flex;
flex-direction:column;gap:4px;overflow-wrap:anywhere}
.tool h3{font-size:16px;margin:0}
.tool a{color:#1f4fbf;text-decoration:none}
.tool a:hover{text-decoration:underline}
.tool .sub{font-size:12px;color:#5a6478;margin:0}
.tool .desc{font-size:14px;margin:0;flex:1}
.tool .meta{margin:0;display:flex;flex-wrap:wrap;gap:6px;align-items:center;font-size:12px}
.badge{display:inline-block;padding:1px 7px;border-radius:10px;font-size:12px;background:#e8ecf4;
color:#31405e}
.badge.overlap{background:#fff1d6;color:#7a4b00}
.badge.status-archived{background:#eceff3;color:#5a6478}
.badge.status-retired{background:#fde2e1;color:#8f1d18}
.tool.status-retired,.tool.status-archived{opacity:.8}
[hidden]{display:none!important}
#none{margin:30px 0;font-size:16px}
"""

_JS = """
(function () {
  "use strict";
  var input = document.getElementById("search");
  var count = document.getElementById("count");
  var none = document.getElementById("none");
  var cards = Array.prototype.slice.call(document.querySelectorAll("article.tool"));
  var sections = Array.prototype.slice.call(document.querySelectorAll("section.layer"));
  var total = Number(document.body.getAttribute("data-total"));
  function apply() {
    var words = input.value.toLowerCase().split(/\\s+/).filter(function (w) { return w.length > 0; });
    var shown = new Set();
    cards.forEach(function (card) {
      var text = card.getAttribute("data-search");
      var ok = words.every(function (w) { return text.indexOf(w) !== -1; });
      card.hidden = !ok;
      if (ok) { shown.add(card.getAttribute("data-name")); }
    });
    sections.forEach(function (section) {
      var visible = section.querySelectorAll("article.tool:not([hidden])").length;
      section.hidden = visible === 0;
      section.querySelector(".n").textContent = visible + (visible === 1 ? " tool" : " tools");
    });
    count.textContent = words.length ? shown.size + " of " + total + " tools" : total + " tools";
    none.hidden = shown.size !== 0;
  }
  function fromHash() {
    var hash = window.location.hash;
    if (hash.indexOf("#q=") !== 0) { return; }
    try { input.value = decodeURIComponent(hash.slice(3)); } catch (e) { input.value = ""; }
  }
  input.addEventListener("input", function () {
    apply();
    var hash = input.value ? "#q=" + encodeURIComponent(input.value) : " ";
    try { history.replaceState(null, "", hash === " " ? window.location.pathname : hash); } catch (e) { }
  });
  window.addEventListener("hashchange", function () { fromHash(); apply(); });
  document.addEventListener("keydown", function (event) {
    if (event.key === "/" && document.activeElement !== input) { event.preventDefault(); input.focus(); }
  });
  fromHash();
  apply();
})();
"""


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _href(url: str | None) -> str | None:
    """An escaped href for an http(s) URL; None for anything else (javascript:, data:, ...)."""
    if not url or url_problem(url):
        return None
    return _e(url)


def _card(tool: Tool, layer: str) -> str:
    others = [name for name in tool.layers if name != layer]
    search = " ".join((tool.name, tool.description, tool.subcategory, tool.status.value, *tool.layers))
    home = _href(tool.homepage_url)
    title = f'<a href="{home}" rel="noopener noreferrer">{_e(tool.name)}</a>' if home else _e(tool.name)
    meta = []
    if tool.status is not Status.ACTIVE:
        meta.append(f'<span class="badge status-{tool.status.value}">{tool.status.value}</span>')
    if others:
        also = "; ".join(others)
        meta.append(f'<span class="badge overlap" title="also in: {_e(also)}">overlap: {_e(also)}</span>')
    repo = _href(tool.repo_url)
    if repo:
        meta.append(f'<a class="repo" href="{repo}" rel="noopener noreferrer">repository</a>')
    return (
        f'<article class="tool status-{tool.status.value}" data-name="{_e(tool.name)}" '
        f'data-search="{_e(search.casefold())}">'
        f"<h3>{title}</h3>"
        f'<p class="sub">{_e(_subcategory_in(tool, layer))}</p>'
        f'<p class="desc">{_e(tool.description)}</p>'
        f'<p class="meta">{"".join(meta)}</p>'
        "</article>"
    )


def render_html(catalog: Catalog) -> str:
    """One HTML file that needs nothing else: inline style and script, no fonts, no images."""
    csp = (
        f"default-src 'none'; style-src '{_sha256(_CSS)}'; script-src '{_sha256(_JS)}'; "
        "img-src 'none'; base-uri 'none'; form-action 'none'"
    )
    sections = []
    for layer in catalog.layers:
        members = [t for t in catalog.tools if layer.name in t.layers]
        cards = "\n".join(_card(t, layer.name) for t in members)
        sections.append(
            f'<section class="layer" id="layer-{_e(layer.slug)}" data-layer="{_e(layer.name)}">'
            f'<h2>{_e(layer.name)}<span class="n">{len(members)} tools</span></h2>\n'
            f'<div class="grid">\n{cards}\n</div></section>'
        )
    total = len(catalog.tools)
    body = "\n".join(sections)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_e(csp)}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        "<title>Container and microservices landscape</title>\n"
        f"<style>{_CSS}</style>\n</head>\n"
        f'<body data-total="{total}">\n<header><h1>Container and microservices landscape</h1>'
        '<input id="search" type="search" placeholder="Filter: name, layer, description, status" '
        'aria-label="Filter tools (press / to focus)" autocomplete="off">'
        f'<span id="count">{total} tools</span></header>\n<main>\n{body}\n'
        '<p id="none" hidden>No tool matches.</p>\n</main>\n'
        f"<script>{_JS}</script>\n</body>\n</html>\n"
    )
