"""The HTML page in real headless Chromium (Debian's chromium, driven by Playwright)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from stackrig import landscape as ls
from tests.landscape.test_render import HOSTILE_NAME, hostile_catalog


def _open(browser: Any, path: Path, fragment: str = "") -> tuple[Any, list[str], list[str]]:
    """Open a local page with the network cut off; return page, console errors, outside requests."""
    page = browser.new_page()
    errors: list[str] = []
    outside: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type in ("error", "warning") else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def route(r: Any) -> None:
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.goto(path.as_uri() + fragment)
    page.wait_for_load_state("load")
    return page, errors, outside


def _visible_names(page: Any) -> set[str]:
    names = page.eval_on_selector_all(
        "article.tool", "els => els.filter(e => e.offsetParent !== null).map(e => e.dataset.name)"
    )
    return set(names)


def test_page_opens_and_search_filters_the_grid(browser: Any, cli: Any, tmp_path: Path) -> None:
    out = tmp_path / "landscape.html"
    done = cli("landscape", "render", "--format", "html", "-o", str(out))
    assert done.returncode == 0, done.stderr
    page, errors, outside = _open(browser, out)
    total = len(ls.load_catalog().tools)
    assert page.text_content("#count") == f"{total} tools"
    assert len(_visible_names(page)) == total
    assert page.locator("section.layer:visible").count() == 10
    home = "section#layer-management-orchestration article.tool[data-name='Kubernetes'] .badge.overlap"
    assert page.text_content(home) == (
        "overlap: Cluster Management and Distributed Systems State; Scheduling and Scaling"
    )
    assert page.locator("article.tool[data-name='Kubernetes']").count() == 3

    page.fill("#search", "")
    page.type("#search", "etcd")
    assert _visible_names(page) == {"etcd", "fleet", "SkyDNS"}
    assert page.text_content("#count") == f"3 of {total} tools"
    visible_layers = page.eval_on_selector_all(
        "section.layer", "els => els.filter(e => !e.hidden).map(e => e.dataset.layer)"
    )
    assert "Container OSes" not in visible_layers
    assert "Cluster Management and Distributed Systems State" in visible_layers

    page.fill("#search", "retired orchestration")
    retired = {
        t.name for t in ls.list_tools(ls.load_catalog(), search="orchestration", status=ls.Status.RETIRED)
    }
    assert _visible_names(page) == retired

    page.fill("#search", "no such tool at all")
    assert _visible_names(page) == set()
    assert page.is_visible("#none")
    page.fill("#search", "")
    assert len(_visible_names(page)) == total
    assert errors == []
    assert outside == []
    page.close()


def test_search_is_kept_in_the_address_and_slash_focuses(browser: Any, tmp_path: Path) -> None:
    out = tmp_path / "landscape.html"
    out.write_text(ls.render(ls.load_catalog(), ls.Format.HTML))
    page, errors, _ = _open(browser, out)
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "search"
    page.keyboard.type("etcd")
    assert page.evaluate("window.location.hash") == "#q=etcd"
    page.close()

    shared, shared_errors, _ = _open(browser, out, "#q=service%20mesh")
    assert shared.input_value("#search") == "service mesh"
    assert {"Istio", "Linkerd", "Kuma", "Envoy"} <= _visible_names(shared)
    shared.evaluate("window.location.hash = '#q=%E0%A4%A'")  # malformed escape: no error, no filter
    shared.wait_for_function("document.getElementById('search').value === ''")
    assert len(_visible_names(shared)) == len(ls.load_catalog().tools)
    shared.close()
    assert errors == []
    assert shared_errors == []


def test_hostile_catalog_strings_do_not_execute(browser: Any, tmp_path: Path) -> None:
    out = tmp_path / "hostile.html"
    out.write_text(ls.render(hostile_catalog(), ls.Format.HTML))
    page, errors, outside = _open(browser, out)
    assert page.evaluate("typeof window.__pwned") == "undefined"
    card = page.locator("article.tool").first
    assert HOSTILE_NAME in card.text_content()
    assert page.locator("a[href^='javascript']").count() == 0
    page.type("#search", "<script>")
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert HOSTILE_NAME in _visible_names(page)
    assert errors == []
    assert outside == []
    page.close()


@pytest.mark.parametrize(
    "name", ["<script>window.__pwned=1</script>", "<img src=x onerror=window.__pwned=1>"]
)
def test_hostile_name_in_a_user_catalog_via_the_cli(
    browser: Any, cli: Any, tmp_path: Path, name: str
) -> None:
    mine = tmp_path / "mine.yml"
    add = cli(
        "landscape",
        "add",
        name,
        "--layer",
        "networking",
        "--homepage",
        "https://evil.example.org",
        "--description",
        '"><svg onload=window.__pwned=2>',
        "--catalog",
        str(mine),
    )
    assert add.returncode == 0, add.stderr
    out = tmp_path / "mine.html"
    assert cli("landscape", "render", "-f", "html", "--catalog", str(mine), "-o", str(out)).returncode == 0
    page, errors, _ = _open(browser, out)
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator("article.tool").count() == 1
    assert page.locator("article.tool h3").text_content() == name
    assert errors == []
    page.close()
