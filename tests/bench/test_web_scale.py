"""The dashboard at a team's years of runs (10,000, written by benchmarks/history_data.py, not by
fio): the run list pages through them in Chromium; the group compare page draws error bars."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from benchmarks.history_data import make_history
from playwright.sync_api import expect

from tests.bench.test_web import Console, browser  # noqa: F401 - the shared Chromium fixture
from tests.conftest import STACKRIG
from tests.services import Service, free_port, start_service

RUNS = 10_000


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Service, list[str]]]:
    home = tmp_path_factory.mktemp("big")
    refs = make_history(home / "stackrig.db", home / "runs", RUNS)
    port = free_port()
    argv = [str(STACKRIG), "--data-dir", str(home), "bench", "serve", "--port", str(port)]
    service = start_service("dashboard", argv, workdir=tmp_path_factory.mktemp("dash"), port=port)
    try:
        yield service, refs
    finally:
        service.stop()


def _get(service: Service, path: str) -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{service.port}{path}", timeout=30) as res:
        return json.loads(res.read())


def test_api_pages_the_run_list(big: tuple[Service, list[str]]) -> None:
    service, _ = big
    first = _get(service, "/api/runs?limit=50")
    assert first["total"] == RUNS
    assert len(first["runs"]) == 50
    assert first["runs"][0]["id"] == f"{RUNS - 1:012x}"  # newest first
    second = _get(service, "/api/runs?limit=50&offset=50")
    assert second["runs"][0]["id"] == f"{RUNS - 51:012x}"
    found = _get(service, "/api/runs?q=team%3Dt3+host-5&limit=10")
    assert found["total"] > 0
    assert all(r["labels"]["team"] == "t3" and r["machine"].startswith("host-5") for r in found["runs"])
    capped = _get(service, "/api/runs?limit=100000")
    assert capped["limit"] == 500


def test_run_list_and_group_compare_in_chromium(
    browser: Any,  # noqa: F811 - the shared Chromium fixture imported above
    big: tuple[Service, list[str]],
    tmp_path: Path,
) -> None:
    service, refs = big
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    console = Console(page)
    page.goto(f"http://127.0.0.1:{service.port}/")
    page.wait_for_selector("body[data-ready='1']", timeout=30000)
    expect(page.locator("tr.run")).to_have_count(50)
    expect(page.locator("#count")).to_have_text(f"1-50 of {RUNS} runs")
    page.click("#older")
    expect(page.locator("#count")).to_have_text(f"51-100 of {RUNS} runs")
    expect(page.locator("tr.run").first).to_have_attribute("data-id", f"{RUNS - 51:012x}")
    page.click("#newer")
    expect(page.locator("#count")).to_have_text(f"1-50 of {RUNS} runs")
    page.fill("#filter", "team=t3 volume=io2")
    expect(page.locator("#count")).not_to_have_text(f"1-50 of {RUNS} runs")
    page.fill("#filter", "")
    page.screenshot(path=str(tmp_path / "runs.png"))
    # two groups picked on the list page: the compare page with intervals as error bars
    page.wait_for_selector("#compare-groups")
    page.select_option("#base", refs[0])
    page.select_option("#cand", refs[1])
    page.click("#compare-groups")
    page.wait_for_selector("body[data-ready='1']", timeout=30000)
    iops = page.locator("#changes tbody tr", has_text="iops").first
    expect(iops).to_contain_text("slower")
    assert page.locator("svg.errorbars").count() >= 2
    assert page.locator("svg.errorbars line.whisker").count() >= 4
    page.screenshot(path=str(tmp_path / "compare.png"), full_page=True)
    # a group's own page: its statistics table
    page.goto(f"http://127.0.0.1:{service.port}/group/{refs[0].removeprefix('g:')}")
    page.wait_for_selector("body[data-ready='1']", timeout=30000)
    expect(page.locator("#group-table tbody tr", has_text="iops").first).to_contain_text("..")
    assert console.errors == []
    context.close()
