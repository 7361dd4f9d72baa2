"""The dashboard over real HTTP and in real headless Chromium; the report offline in Chromium."""

from __future__ import annotations

import http.client
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.bench.conftest import RunsEnv
from tests.conftest import STACKRIG
from tests.services import Service, free_port, start_service

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def dashboard(runs_env: RunsEnv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """``stackrig bench serve`` as a real process on 127.0.0.1, with escape symlinks planted."""
    outside = tmp_path_factory.mktemp("outside")
    (outside / "secret.txt").write_text("root:x:0:0:SECRET\n")
    escape_dir = runs_env.runs / "escape"
    escape_file = runs_env.folder / "secret-link"
    escape_dir.symlink_to(outside, target_is_directory=True)
    escape_file.symlink_to(outside / "secret.txt")
    port = free_port()
    argv = [str(STACKRIG), "--data-dir", str(runs_env.home), "bench", "serve", "--port", str(port)]
    service = start_service("dashboard", argv, workdir=tmp_path_factory.mktemp("dash"), port=port)
    try:
        yield service
    finally:
        service.stop()
        escape_dir.unlink()
        escape_file.unlink()


def fetch(service: Service, path: str, method: str = "GET") -> tuple[int, bytes, dict[str, str]]:
    """Send ``path`` exactly as written (no client-side normalisation)."""
    assert service.port is not None
    conn = http.client.HTTPConnection("127.0.0.1", service.port, timeout=10)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        conn.endheaders()
        res = conn.getresponse()
        return res.status, res.read(), {k.lower(): v for k, v in res.getheaders()}
    finally:
        conn.close()


def url(service: Service, path: str = "/") -> str:
    return f"http://127.0.0.1:{service.port}{path}"


def test_binds_loopback_and_lists_runs(dashboard: Service, runs_env: RunsEnv) -> None:
    status, body, headers = fetch(dashboard, "/api/runs")
    assert status == 200
    doc = json.loads(body)
    assert {r["id"] for r in doc["runs"]} == {r.id for r in runs_env.records}
    assert "default-src 'self'" in headers["content-security-policy"]
    status, body, _ = fetch(dashboard, "/api/runs?q=bs%3D16k")
    assert [r["name"] for r in json.loads(body)["runs"]] == ["big"]
    log_text = dashboard.log_path.read_text()
    assert f"http://127.0.0.1:{dashboard.port}/" in log_text


def test_raw_files_inside_the_runs_folder(dashboard: Service, runs_env: RunsEnv) -> None:
    folder = runs_env.folder.name
    status, body, headers = fetch(dashboard, f"/files/{folder}/fio.json")
    assert status == 200
    assert b'"jobs"' in body
    assert "sandbox" in headers["content-security-policy"]
    status, body, _ = fetch(dashboard, f"/files/{folder}/randread_bw.1.log")
    assert status == 200
    assert body.count(b"\n") > 3


@pytest.mark.parametrize(
    "path",
    [
        "/files/../../../../etc/passwd",
        "/files/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/files/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/files/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
        "/files//etc/passwd",
        "/files/%2fetc%2fpasswd",
        "/files/escape/secret.txt",
        "/files/{run}/secret-link",
        "/files/{run}/..%2f..%2f..%2fetc%2fpasswd",
        "/files/%252e%252e%252fetc%252fpasswd",
        "/static/..%2f__init__.py",
        "/static/../__init__.py",
        "/run/..%2f..%2fetc",
        "/api/runs/..%2f..%2fetc/series?kind=bw",
        "/files/{run}/%00",
    ],
)
def test_traversal_is_refused(dashboard: Service, runs_env: RunsEnv, path: str) -> None:
    status, body, _ = fetch(dashboard, path.replace("{run}", runs_env.folder.name))
    assert status in (403, 404)
    assert b"root:" not in body
    assert b"SECRET" not in body


def test_read_only(dashboard: Service) -> None:
    for method in ("POST", "PUT", "DELETE"):
        status, _, _ = fetch(dashboard, "/api/runs", method=method)
        assert status == 405
    status, body, _ = fetch(dashboard, "/api/runs", method="HEAD")
    assert status == 200
    assert body == b""


def test_api_errors(dashboard: Service, runs_env: RunsEnv) -> None:
    rid = runs_env.records[0].id
    assert fetch(dashboard, f"/api/runs/{rid}/series?kind=nope")[0] == 404
    assert fetch(dashboard, "/api/compare?runs=" + rid)[0] == 404
    assert fetch(dashboard, "/run/nosuch")[0] == 404
    assert fetch(dashboard, "/nowhere")[0] == 404
    status, body, _ = fetch(dashboard, f"/api/runs/{rid}/series?kind=bw")
    doc = json.loads(body)
    assert status == 200
    assert doc["unit"] in ("KiB/s", "MiB/s", "GiB/s")
    assert doc["total"] is True
    assert doc["labels"][-1] in ("total of all jobs", "read + write")
    assert all(len(v) == len(doc["t"]) for v in doc["values"])


# ------------------------------------------------------------------ Chromium


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is missing: scripts/apt-install.sh deps/apt/test-benchviz.txt")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


class Console:
    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        page.on("console", lambda msg: self.errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("response", lambda r: self.errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)


def test_dashboard_in_chromium(browser: Any, dashboard: Service, runs_env: RunsEnv, tmp_path: Path) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    console = Console(page)
    # run list
    page.goto(url(dashboard))
    page.wait_for_selector("tr.run")
    assert page.locator("tr.run").count() == 2
    page.screenshot(path=str(tmp_path / "runs.png"), full_page=True)
    page.fill("#filter", "bs=16k")
    expect(page.locator("tr.run")).to_have_count(1)
    page.fill("#filter", "")
    expect(page.locator("tr.run")).to_have_count(2)
    # a run page: summary, one chart per log kind, links to raw files
    page.click(f"tr.run[data-id='{runs_env.records[0].id}'] a")
    page.wait_for_selector("body[data-ready='1']", timeout=30000)
    charts = page.locator(".uplot")
    assert charts.count() >= 4  # bw, iops, clat, lat (slat is all zeros with psync)
    assert page.locator(".uplot canvas").count() >= 4
    box = page.locator(".uplot canvas").first.bounding_box()
    assert box is not None
    assert box["width"] > 300
    links = page.locator("#files a")
    names = [links.nth(i).inner_text() for i in range(links.count())]
    assert "fio.json" in names
    assert "meta.json" in names
    # zoom by dragging over the first chart, then hover shows values in the legend
    over = page.locator(".uplot .u-over").first
    ob = over.bounding_box()
    assert ob is not None
    page.mouse.move(ob["x"] + ob["width"] * 0.2, ob["y"] + ob["height"] / 2)
    page.mouse.down()
    page.mouse.move(ob["x"] + ob["width"] * 0.6, ob["y"] + ob["height"] / 2)
    page.mouse.up()
    page.mouse.move(ob["x"] + ob["width"] * 0.4, ob["y"] + ob["height"] / 2)
    legend = page.locator(".uplot").first.locator(".u-legend").inner_text()
    assert "/s" in legend
    # per-job toggle: a legend click hides the series
    entry = page.locator(".uplot").first.locator(".u-legend .u-series").nth(1)
    entry.click()
    assert "u-off" in (entry.get_attribute("class") or "")
    page.screenshot(path=str(tmp_path / "run.png"), full_page=True)
    # compare view, picked from the list
    page.goto(url(dashboard))
    page.wait_for_selector("tr.run")
    for record in runs_env.records:
        page.check(f"tr.run[data-id='{record.id}'] input[type=checkbox]")
    page.click("#compare")
    page.wait_for_selector("body[data-ready='1']", timeout=30000)
    assert page.locator("#changes tbody tr").count() > 0
    assert page.locator(".uplot canvas").count() >= 1
    page.screenshot(path=str(tmp_path / "compare.png"), full_page=True)
    assert console.errors == []
    context.close()
    assert (tmp_path / "run.png").stat().st_size > 10_000


def test_report_offline_in_chromium(browser: Any, cli: Any, runs_env: RunsEnv, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    a, b = (r.id for r in runs_env.records)
    done = cli("--data-dir", str(runs_env.home), "bench", "report", a, b, "-o", str(out))
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert "http://" not in text.replace("http://www.w3.org", "")
    assert "https://" not in text
    context = browser.new_context(offline=True)
    page = context.new_page()
    console = Console(page)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(out.as_uri())
    images = page.locator("img.graph")
    assert images.count() >= 8
    loaded = page.evaluate("Array.from(document.images).every(i => i.complete && i.naturalWidth > 300)")
    assert loaded
    assert page.locator("#compare table tr").count() > 1
    assert page.locator("text=randread").count() > 0
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert all(u.startswith(("file:", "data:")) for u in requests)
    assert console.errors == []
    context.close()


def _get(port: int, path: str) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        res = conn.getresponse()
        return res.status, json.loads(res.read())
    finally:
        conn.close()


def test_runs_folder_without_history(runs_env: RunsEnv, tmp_path: Path) -> None:
    """A runs folder copied elsewhere (no stackrig.db): runs come from their meta.json."""
    from stackrig.bench.web import DashboardSettings, start

    runs = tmp_path / "runs"
    runs.mkdir()
    shutil.copytree(runs_env.folder, runs / runs_env.folder.name)
    (runs / "not-a-run").mkdir()
    dash = start(DashboardSettings(runs_dir=runs, db=tmp_path / "none.db", port=0))
    port = dash.port
    try:
        status, doc = _get(port, "/api/runs")
        assert status == 200
        assert [r["id"] for r in doc["runs"]] == [runs_env.records[0].id]
        assert doc["runs"][0]["iops"] > 0
        rid = doc["runs"][0]["id"]
        status, detail = _get(port, f"/api/runs/{rid}")
        assert {r["job"] for r in detail["rows"]} == {"randread", "randwrite"}
        assert "bw" in detail["kinds"]
        status, _ = _get(port, f"/api/compare?runs={rid},{rid}")
        assert status == 404
    finally:
        dash.stop()
    assert not (tmp_path / "none.db").exists()  # read-only: no database made
