"""render: Markdown tables, JSON, and HTML that escapes every catalog string."""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


_any_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=60)


class _Cards(HTMLParser):
    """Tag/attribute census plus the text of each card title."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[str] = []
        self.titles: list[str] = []
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += [key for key, _ in attrs]
        if tag == "h3":
            self._in_title = True
            self.titles.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "h3":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.titles[-1] += data


@settings(max_examples=150, deadline=None)
@given(name=_any_text, description=_any_text, layer=_any_text)
def test_html_escaping_holds_for_any_text(name: str, description: str, layer: str) -> None:
    tool = Tool(
        name=name,
        layer=layer,
        subcategory=description,
        homepage_url="https://x.example.org",
        repo_url=None,
        description=description,
        status=Status.ACTIVE,
        layers=(layer,),
    )
    catalog = Catalog(source="gen", layers=(Layer(layer, (description,), "gen"),), tools=(tool,))
    page = ls.render(catalog, ls.Format.HTML)
    parsed = _Cards()
    parsed.feed(page)
    parsed.close()
    assert parsed.tags.count("script") == 1
    assert set(parsed.tags) <= {
        "html",
        "head",
        "meta",
        "title",
        "style",
        "body",
        "header",
        "h1",
        "input",
        "span",
        "main",
        "section",
        "h2",
        "div",
        "article",
        "h3",
        "a",
        "p",
        "script",
    }
    assert not [a for a in parsed.attrs if a.startswith("on")]
    assert parsed.titles == [name]


@settings(max_examples=150, deadline=None)
@given(name=_any_text, description=_any_text)
def test_markdown_rows_keep_their_columns_for_any_text(name: str, description: str) -> None:
    tool = Tool(
        name=name,
        layer="L",
        subcategory="S",
        homepage_url="https://x.example.org",
        repo_url=None,
        description=description,
        status=Status.ACTIVE,
        layers=("L",),
    )
    text = ls.render(Catalog(source="gen", layers=(Layer("L", ("S",), "l"),), tools=(tool,)), ls.Format.MD)
    rows = [line for line in text.splitlines() if line.startswith("| [")]
    assert len(rows) == 1
    assert len(re.findall(r"(?<!\\)\|", rows[0])) == 7
    assert "<" not in rows[0].replace("(<https://x.example.org>)", "")
