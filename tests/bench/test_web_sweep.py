"""A sweep on the dashboard: its table of points (issue 21: "a table in the report and on the
dashboard"), from a real ``bench sweep`` with fio, over the API and in headless Chromium."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.bench.conftest import needs_fio, stackrig
from tests.bench.test_web import Console, browser  # noqa: F401 - the shared Chromium fixture
from tests.conftest import STACKRIG
from tests.services import Service, free_port, start_service

pytestmark = needs_fio

JOB = "[nul]\nioengine=null\nsize=64m\nrw=randread\nbs=4k\ntime_based\nruntime=1\n"


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Service, dict[str, Any]]]:
    """A 2 x 2 sweep (iodepth x numjobs) in a history, and ``bench serve`` over it."""
    home = tmp_path_factory.mktemp("sweep-home")
    job = home / "nul.fio"
    job.write_text(JOB)
    done = stackrig("--data-dir", str(home), "bench", "sweep", str(job), "--iodepth", "1,4",
                    "--numjobs", "1,2", "--json", timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)["data"]
    port = free_port()
    argv = [str(STACKRIG), "--data-dir", str(home), "bench", "serve", "--port", str(port)]
    service = start_service("dashboard", argv, workdir=tmp_path_factory.mktemp("dash"), port=port)
    try:
        yield service, data
    finally:
        service.stop()


def test_api_gives_the_sweep_s_points(swept: tuple[Service, dict[str, Any]]) -> None:
    service, data = swept
    gid = data["group"]["id"]
    with urllib.request.urlopen(f"http://127.0.0.1:{service.port}/api/groups/{gid}", timeout=30) as res:
        doc = json.loads(res.read())
    assert doc["kind"] == "sweep"
    assert len(doc["runs"]) == 4
    points = {(p["numjobs"], p["iodepth"]): p for p in doc["points"]}
    assert set(points) == {(1, 1), (1, 4), (2, 1), (2, 4)}
    assert all(p["iops"] and p["iops"] > 0 for p in points.values())
    # the same figures bench sweep printed
    printed = {(p["numjobs"], p["iodepth"]): p["iops"] for p in data["points"]}
    assert {k: p["iops"] for k, p in points.items()} == pytest.approx(printed)


def test_group_page_shows_the_table_of_points_in_chromium(
    browser: Any,  # noqa: F811 - the shared Chromium fixture imported above
    swept: tuple[Service, dict[str, Any]],
    tmp_path: Path,
) -> None:
    service, data = swept
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    console = Console(page)
    page.goto(f"http://127.0.0.1:{service.port}/group/{data['group']['id']}")
    page.wait_for_selector("body[data-ready='1']", timeout=30000)
    table = page.locator("#group-table")
    expect(table.locator("th", has_text="iodepth")).to_have_count(1)
    expect(table.locator("th", has_text="numjobs")).to_have_count(1)
    expect(table.locator("tbody tr")).to_have_count(4)
    expect(page.locator("h1")).to_contain_text("(sweep)")
    expect(page.locator("#main li a")).to_have_count(4)  # each point's run, linked
    page.screenshot(path=str(tmp_path / "sweep.png"), full_page=True)
    assert console.errors == []
    context.close()
