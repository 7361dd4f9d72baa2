"""render: Markdown tables, JSON, and HTML that escapes every catalog string."""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser

import pytest

from stackrig import landscape as ls
from stackrig.landscape.model import Catalog, Layer, Placement, Status, Tool

HOSTILE_NAME = "<script>window.__pwned=1</script>"
HOSTILE_DESC = '"><img src=x onerror="window.__pwned=2"> | [x](javascript:alert(1)) `code`'


def hostile_catalog() -> Catalog:
    layers = (
        Layer(name="<b>Layer</b> & co", subcategories=("<i>sub</i>",), slug="b-layer-b-co"),
        Layer(name="Plain", subcategories=("S",), slug="plain"),
    )
    tools = (
        Tool(
            name=HOSTILE_NAME,
            layer=layers[0].name,
            subcategory="<i>sub</i>",
            homepage_url="javascript:window.__pwned=3",
            repo_url='https://example.org/"><script>window.__pwned=4</script>',
            description=HOSTILE_DESC,
            status=Status.RETIRED,
            second_path=(Placement("Plain", "S"),),
            layers=(layers[0].name, "Plain"),
        ),
        Tool(
            name="Normal",
            layer="Plain",
            subcategory="S",
            homepage_url="https://normal.example.org",
            repo_url=None,
            description="Just a tool.",
            status=Status.ACTIVE,
            layers=("Plain",),
        ),
    )
    return Catalog(source="hostile", layers=layers, tools=tools)


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts = 0
        self.hrefs: list[str] = []
        self.handlers: list[str] = []
        self.imgs = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.scripts += 1
        if tag == "img":
            self.imgs += 1
        for key, value in attrs:
            if key == "href" and value is not None:
                self.hrefs.append(value)
            if key.startswith("on"):
                self.handlers.append(key)


def test_html_escapes_every_catalog_string() -> None:
    page = ls.render(hostile_catalog(), ls.Format.HTML)
    parsed = _Collect()
    parsed.feed(page)
    assert parsed.scripts == 1  # only the page's own script
    assert parsed.imgs == 0
    assert parsed.handlers == []
    assert all(h.startswith("https://") for h in parsed.hrefs)
    assert "javascript:" not in " ".join(parsed.hrefs)
    assert html.escape(HOSTILE_NAME) in page
    assert "<b>Layer</b>" not in page


def test_html_is_self_contained_with_a_strict_csp() -> None:
    page = ls.render(ls.load_catalog(), ls.Format.HTML)
    assert "default-src &#x27;none&#x27;" in page
    assert not re.search(r"""(src|href)=["'](?!https?://)""", page.replace('href="https', ""))
    assert "<link" not in page
    assert "@import" not in page
    assert "url(" not in page
    assert page.count("<article") >= 130  # overlap tools appear in each of their layers


def test_markdown_has_a_table_per_layer_and_escapes() -> None:
    text = ls.render(ls.load_catalog(), ls.Format.MD)
    assert text.count("\n## ") == 10
    assert "[Kubernetes](<https://kubernetes.io>)" in text
    row = next(line for line in text.splitlines() if line.startswith("| [Kubernetes]"))
    assert "overlap:" in row
    hostile = ls.render(hostile_catalog(), ls.Format.MD)
    assert "<script>" not in hostile
    assert "<img" not in hostile
    assert "](javascript:" not in hostile
    assert "(<javascript:" not in hostile
    for line in hostile.splitlines():
        if line.startswith("| "):
            assert len(re.findall(r"(?<!\\)\|", line)) == 7, line


def test_markdown_for_an_empty_layer() -> None:
    catalog = Catalog(source="x", layers=(Layer("Empty", (), "empty"),), tools=())
    assert "No tools yet." in ls.render(catalog, ls.Format.MD)


def test_json_lists_layers_and_tools() -> None:
    document = json.loads(ls.render(ls.load_catalog(), ls.Format.JSON))
    assert len(document["layers"]) == 10
    kubernetes = next(t for t in document["tools"] if t["name"] == "Kubernetes")
    assert kubernetes["second_path"] == [
        "Cluster Management and Distributed Systems State / Cluster Managers",
        "Scheduling and Scaling / Schedulers",
    ]
    scheduling = next(layer for layer in document["layers"] if layer["slug"] == "scheduling-and-scaling")
    assert "Kubernetes" in scheduling["tools"]


@pytest.mark.parametrize("fmt", list(ls.Format))
def test_render_is_deterministic(fmt: ls.Format) -> None:
    catalog = ls.load_catalog()
    assert ls.render(catalog, fmt) == ls.render(catalog, fmt)
