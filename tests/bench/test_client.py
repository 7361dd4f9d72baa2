"""Client/server mode with two real fio servers on 127.0.0.2 and 127.0.0.3."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from stackrig.bench import load_results
from tests.bench.conftest import DATA, needs_fio, stackrig
from tests.services import Service, free_port

pytestmark = needs_fio


def test_fleet_run_stores_every_host(
    fio_servers: list[Service], home_args: list[str], tmp_path: Path
) -> None:
    hosts = ",".join(f"{s.host}:{s.port}" for s in fio_servers)
    done = stackrig(
        *home_args,
        "bench",
        "run",
        str(DATA / "client.fio"),
        "--hosts",
        hosts,
        "--logs",
        "--log-avg-msec",
        "250",
        "--label",
        "fleet=lab",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    folder = Path(doc["data"]["run"]["folder"])
    assert doc["data"]["run"]["hosts"] == [f"{s.host}:{s.port}" for s in fio_servers]
    hosts_in_rows = {r["host"] for r in doc["data"]["results"]}
    assert hosts_in_rows == {f"{s.host}:{s.port}" for s in fio_servers} | {"all"}
    names = {p.name for p in folder.iterdir()}
    for service in fio_servers:
        assert any(n.startswith("randread_bw.") and n.endswith(f".log.{service.host}") for n in names), names
    results = load_results(folder)
    assert results.client_mode
    assert set(results.hosts) == {s.host for s in fio_servers}
    assert results.preamble
    assert all(line.startswith("<") for line in results.preamble)
    aggregate = [j for j in results.client_stats if j.aggregate]
    assert aggregate
    assert aggregate[0].directions[0].clat is not None
    assert aggregate[0].directions[0].clat.percentiles == ()  # fio writes none for the aggregate
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["command"][1:3] == [
        "--output-format=json+",
        f"--client={fio_servers[0].host},{fio_servers[0].port}",
    ]
    listed = json.loads(stackrig(*home_args, "bench", "list", "--host", fio_servers[1].host, "--json").stdout)
    assert [r["id"] for r in listed["data"]["runs"]] == [doc["data"]["run"]["id"]]
    # imported elsewhere (without its meta.json), every per-host log goes with the result
    source = tmp_path / "copied"
    shutil.copytree(folder, source)
    (source / "meta.json").unlink()
    other = ["--data-dir", str(tmp_path / "elsewhere")]
    imported = stackrig(*other, "bench", "import", str(source), "--json")
    assert imported.returncode == 0, imported.stderr
    data = json.loads(imported.stdout)["data"]
    logs = {p.name for p in source.iterdir() if ".log." in p.name}
    assert logs
    assert {Path(t["path"]).name for t in data["taken"] if t["role"] == "log"} == logs
    (run,) = data["runs"]
    assert sorted(run["hosts"]) == sorted(s.host for s in fio_servers)
    shown = json.loads(stackrig(*other, "bench", "show", run["id"], "--json").stdout)["data"]["results"]
    assert {r["host"] for r in shown} == hosts_in_rows


def test_unreachable_server_is_named(
    fio_servers: list[Service], home_args: list[str], data_dir: Path
) -> None:
    dead = f"127.0.0.4:{free_port('127.0.0.4')}"
    good = f"{fio_servers[0].host}:{fio_servers[0].port}"
    done = stackrig(*home_args, "bench", "run", str(DATA / "client.fio"), "--hosts", f"{good},{dead}")
    assert done.returncode == 3
    assert f"fio server unreachable: {dead}" in done.stderr
    assert good not in done.stderr.split("hint")[0]
    assert not (data_dir / "runs").exists() or not list((data_dir / "runs").iterdir())


def test_inventory_group(fio_servers: list[Service], home_args: list[str], tmp_path: Path) -> None:
    inv = tmp_path / "hosts.ini"
    lines = ["[storage]"]
    lines += [f"node{i} ansible_host={s.host} fio_port={s.port}" for i, s in enumerate(fio_servers)]
    lines += ["[web]", "web1 ansible_host=127.0.0.9"]
    inv.write_text("\n".join(lines) + "\n")
    done = stackrig(
        *home_args,
        "bench",
        "run",
        str(DATA / "client.fio"),
        "--inventory",
        str(inv),
        "--limit",
        "storage",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)["data"]["run"]["hosts"]) == 2
    done = stackrig(
        *home_args, "bench", "run", str(DATA / "client.fio"), "--inventory", str(inv), "--limit", "nosuch"
    )
    assert done.returncode == 2
    assert "nosuch" in done.stderr
