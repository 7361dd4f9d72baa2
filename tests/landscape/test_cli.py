"""The landscape commands through the real console script: output, envelopes, exit codes, bad inputs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from stackrig import landscape as ls


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_layers_text_and_json(cli: Any) -> None:
    done = cli("landscape", "layers")
    assert done.returncode == 0
    assert "10 layers" in done.stdout
    assert "Container OSes  [container-oses]" in done.stdout
    doc = cli("landscape", "layers", "--json").json()
    assert doc["command"] == "landscape layers"
    assert (
        next(layer["slug"] for layer in doc["data"]["layers"]) == "applications-frameworks-and-app-manifests"
    )


def test_list_filters(cli: Any) -> None:
    doc = cli("landscape", "list", "--layer", "container os", "--status", "retired", "--json").json()
    assert doc["ok"] is True
    names = {t["name"] for t in doc["data"]["tools"]}
    assert names == {"CoreOS Container Linux", "RancherOS", "Project Atomic"}
    done = cli("landscape", "list", "-s", "service mesh")
    assert done.returncode == 0
    assert "Istio" in done.stdout
    assert "Linkerd" in done.stdout


def test_list_bad_status_is_usage(cli: Any) -> None:
    done = cli("landscape", "list", "--status", "dead")
    assert done.returncode == 2
    assert "dead" in done.stderr


def test_show_kubernetes_lists_all_its_layers(cli: Any) -> None:
    done = cli("landscape", "show", "KUBERNETES")
    assert done.returncode == 0
    assert "Management Orchestration / Container Orchestrators" in done.stdout
    assert "also in:     Scheduling and Scaling / Schedulers" in done.stdout
    doc = cli("landscape", "show", "kubernetes", "--json").json()
    assert len(doc["data"]["layers"]) == 3


def test_show_unknown_tool_suggests(cli: Any) -> None:
    done = cli("landscape", "show", "Kubernets", "--json")
    assert done.returncode == 2
    doc = done.json()
    assert doc["ok"] is False
    assert doc["error"]["type"] == "CatalogError"
    assert "Kubernetes" in doc["error"]["hint"]


def test_overlap(cli: Any) -> None:
    doc = cli("landscape", "overlap", "--json").json()
    by_name = {t["name"]: t["layers"] for t in doc["data"]["tools"]}
    assert len(by_name["Kubernetes"]) == 3
    assert doc["data"]["count"] == len(ls.overlaps(ls.load_catalog()))
    assert "Kubernetes" in cli("landscape", "overlap").stdout


@pytest.mark.parametrize(
    ("fmt", "to_file", "json_mode"),
    [("md", False, False), ("md", True, False), ("html", True, True), ("json", False, True)],
)
def test_render_to_stdout_file_and_envelope(
    cli: Any, tmp_path: Path, fmt: str, to_file: bool, json_mode: bool
) -> None:
    expected = ls.render(ls.load_catalog(), ls.Format(fmt))
    out = tmp_path / f"out.{fmt}"
    done = cli(
        "landscape",
        "render",
        "-f",
        fmt,
        *(["-o", str(out)] if to_file else []),
        *(["--json"] if json_mode else []),
    )
    assert done.returncode == 0, done.stderr
    if to_file:
        assert out.read_text() == expected
    if json_mode:
        doc = done.json()
        assert doc["data"]["content"] == (None if to_file else expected)
        assert doc["data"]["output"] == (str(out) if to_file else None)
    elif to_file:
        assert f"wrote {out}" in done.stdout
    else:
        assert done.stdout == expected


def test_render_refuses_to_overwrite_the_catalog(cli: Any, tmp_path: Path) -> None:
    mine = tmp_path / "mine.yml"
    assert (
        cli(
            "landscape", "add", "X", "-l", "network", "--homepage", "https://x.io", "-c", str(mine)
        ).returncode
        == 0
    )
    before = _digest(tmp_path)
    done = cli("landscape", "render", "-c", str(mine), "-o", str(mine))
    assert done.returncode == 4
    assert "refusing to overwrite" in done.stderr
    assert _digest(tmp_path) == before


def test_render_into_a_missing_folder(cli: Any, tmp_path: Path) -> None:
    done = cli("landscape", "render", "-o", str(tmp_path / "nope" / "x.md"))
    assert done.returncode == 2
    assert "does not exist" in done.stderr


def test_validate_bundled_and_user_files(cli: Any, fixtures: Path) -> None:
    done = cli("landscape", "validate")
    assert done.returncode == 0
    assert "valid (10 layers" in done.stdout
    done = cli("landscape", "validate", str(fixtures / "defects.yml"))
    assert done.returncode == 2
    assert "defects.yml:29: [unknown-layer]" in done.stdout
    assert "13 problems" in done.stdout
    doc = cli("landscape", "validate", "--catalog", str(fixtures / "defects.yml"), "--json").json()
    assert doc["ok"] is False
    assert doc["exit_code"] == 2
    assert len(doc["data"]["problems"]) == 13
    assert {"code", "message", "line"} <= set(doc["data"]["problems"][0])


def test_validate_missing_file_and_bad_yaml(cli: Any, tmp_path: Path) -> None:
    done = cli("landscape", "validate", str(tmp_path / "missing.yml"))
    assert done.returncode == 2
    assert "does not exist" in done.stderr
    bad = tmp_path / "bad.yml"
    bad.write_text("landscape:\n  - name: x\n  bad\n")
    done = cli("landscape", "validate", str(bad))
    assert done.returncode == 2
    assert "bad.yml:3: [yaml-syntax]" in done.stdout
    assert bad.read_text() == "landscape:\n  - name: x\n  bad\n"


@pytest.mark.parametrize("command", ["layers", "list", "overlap", "render"])
def test_every_reading_command_takes_catalog(cli: Any, tmp_path: Path, command: str) -> None:
    mine = tmp_path / "mine.yml"
    new = ls.NewTool("Only Mine", "network", "https://mine.example.org", also=("orchestration",))
    ls.add_tool(mine, new)
    done = cli("landscape", command, "--catalog", str(mine), "--json")
    assert done.returncode == 0, done.stderr
    text = done.stdout
    if command == "layers":
        assert '"tools": 1' in text
    else:
        assert "Only Mine" in text
    assert "Kubernetes" not in text


@pytest.mark.parametrize(
    ("which", "message", "commands"),
    [
        ("missing", "does not exist", (["layers"], ["list"], ["show", "x"], ["overlap"], ["render"])),
        ("bad", "bad.yml:2: not valid YAML", (["list"], ["render"])),
        ("defects", "13 problems", (["show", "x"], ["overlap"])),
    ],
)
def test_reading_commands_with_bad_catalogs(  # noqa: PLR0917 - fixtures and parameters
    cli: Any, tmp_path: Path, fixtures: Path, which: str, message: str, commands: tuple[list[str], ...]
) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("landscape: [\n")
    paths = {"missing": tmp_path / "missing.yml", "bad": bad, "defects": fixtures / "defects.yml"}
    for command in commands:
        done = cli("landscape", *command, "--catalog", str(paths[which]), "--json")
        assert done.returncode == 2, command
        assert message in done.json()["error"]["message"]
        assert message in done.stderr
    assert bad.read_text() == "landscape: [\n"


def test_add_round_trip_and_bad_inputs(cli: Any, tmp_path: Path) -> None:
    mine = tmp_path / "mine.yml"
    done = cli(
        "landscape",
        "add",
        "Nomad Two",
        "--layer",
        "scheduling",
        "--also",
        "orchestration",
        "--also",
        "cluster / Cluster Managers",
        "--homepage",
        "https://nomad.example.org",
        "--repo",
        "https://github.com/example/nomad",
        "-d",
        "A scheduler.",
        "--status",
        "archived",
        "--catalog",
        str(mine),
        "--json",
    )
    assert done.returncode == 0, done.stderr
    doc = done.json()
    assert doc["data"]["created"] is True
    assert doc["data"]["tool"]["layers"] == [
        "Scheduling and Scaling",
        "Management Orchestration",
        "Cluster Management and Distributed Systems State",
    ]
    shown = cli("landscape", "show", "nomad two", "-c", str(mine), "--json").json()["data"]
    assert shown["status"] == "archived"
    before = _digest(tmp_path)

    unknown = cli(
        "landscape", "add", "Y", "--layer", "quantum", "--homepage", "https://y.io", "-c", str(mine)
    )
    assert unknown.returncode == 2
    assert "no layer 'quantum'" in unknown.stderr
    assert "container-oses" in unknown.stderr
    again = cli("landscape", "add", "nomad two", "-l", "sched", "--homepage", "https://y.io", "-c", str(mine))
    assert again.returncode == 4
    assert "--replace" in again.stderr
    bad_url = cli("landscape", "add", "Z", "-l", "sched", "--homepage", "nomad.io", "-c", str(mine), "--json")
    assert bad_url.returncode == 2
    assert bad_url.json()["error"]["message"].startswith("--homepage 'nomad.io'")
    no_catalog = cli("landscape", "add", "Z", "-l", "sched", "--homepage", "https://z.io")
    assert no_catalog.returncode == 2
    assert "--catalog" in no_catalog.stderr
    assert _digest(tmp_path) == before

    replaced = cli(
        "landscape",
        "add",
        "nomad two",
        "-l",
        "sched",
        "--homepage",
        "https://y.io",
        "-c",
        str(mine),
        "--replace",
    )
    assert replaced.returncode == 0
    assert "replaced nomad two" in replaced.stdout


def test_add_to_a_file_with_comments_warns(cli: Any, tmp_path: Path) -> None:
    mine = tmp_path / "mine.yml"
    cli("landscape", "add", "A", "-l", "network", "--homepage", "https://a.example.org", "-c", str(mine))
    text = mine.read_text().replace("landscape:\n", "# my notes\nlandscape:\n  # inside\n")
    mine.write_text("# my header\n" + text)
    done = cli(
        "landscape", "add", "B", "-l", "network", "--homepage", "https://b.example.org", "-c", str(mine)
    )
    assert done.returncode == 0
    assert "comments after its first lines were not kept" in done.stderr
    written = mine.read_text()
    assert written.startswith("# my header\n# A stackrig landscape catalog")
    assert "# my notes" in written
    assert "# inside" not in written


def test_merge_cli(cli: Any, tmp_path: Path) -> None:
    mine = tmp_path / "mine.yml"
    cli(
        "landscape",
        "add",
        "kubernetes",
        "-l",
        "orchestration",
        "--homepage",
        "https://k.example.org",
        "-c",
        str(mine),
    )
    cli(
        "landscape",
        "add",
        "Newcomer",
        "-l",
        "orchestration",
        "--homepage",
        "https://n.example.org",
        "-c",
        str(mine),
    )
    out = tmp_path / "merged.yml"
    done = cli("landscape", "merge", "bundled", str(mine), "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "1 added, 1 conflicts" in done.stdout
    assert "conflict: Kubernetes differs in name, homepage_url" in done.stderr
    doc = cli(
        "landscape", "merge", "bundled", str(mine), "-o", str(out), "--prefer", "extra", "--json"
    ).json()
    assert doc["data"]["conflicts"][0]["kept"] == "extra"
    assert doc["warnings"]
    assert cli("landscape", "show", "kubernetes", "-c", str(out), "--json").json()["data"][
        "homepage_url"
    ] == ("https://k.example.org")
    assert cli("landscape", "validate", str(out)).returncode == 0

    before = _digest(tmp_path)
    same = cli("landscape", "merge", "bundled", str(mine), "-o", str(mine))
    assert same.returncode == 4
    assert "refusing to overwrite" in same.stderr
    bad_prefer = cli(
        "landscape", "merge", "bundled", str(mine), "-o", str(tmp_path / "x.yml"), "--prefer", "mine"
    )
    assert bad_prefer.returncode == 2
    missing = cli("landscape", "merge", str(tmp_path / "nope.yml"), str(mine), "-o", str(tmp_path / "x.yml"))
    assert missing.returncode == 2
    assert "does not exist" in missing.stderr
    assert _digest(tmp_path) == before


def test_import_cli(cli: Any, tmp_path: Path, fixtures: Path) -> None:
    out = tmp_path / "imported.yml"
    done = cli(
        "landscape",
        "import",
        str(fixtures / "cncf-small.yml"),
        "--map",
        str(fixtures / "mapping-small.yml"),
        "-o",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    assert "imported 5 tools" in done.stdout
    assert "skipped Serverless / Framework: no mapping rule (1 items)" in done.stderr
    assert cli("landscape", "validate", str(out)).returncode == 0
    printed = cli(
        "landscape", "import", str(fixtures / "cncf-small.yml"), "-m", str(fixtures / "mapping-small.yml")
    )
    assert printed.stdout == out.read_text()
    doc = cli("landscape", "import", str(fixtures / "cncf-small.yml"), "--json").json()
    assert doc["data"]["content"].startswith("# A stackrig landscape catalog")
    assert json.dumps(doc)  # the envelope is plain JSON

    before = _digest(tmp_path)
    conflict = cli(
        "landscape", "import", str(out), "--map", str(fixtures / "mapping-small.yml"), "-o", str(out)
    )
    assert conflict.returncode == 4
    missing = cli("landscape", "import", str(tmp_path / "nope.yml"))
    assert missing.returncode == 2
    assert "does not exist" in missing.stderr
    bad_map = cli(
        "landscape", "import", str(fixtures / "cncf-small.yml"), "--map", str(tmp_path / "nomap.yml")
    )
    assert bad_map.returncode == 2
    assert "mapping file" in bad_map.stderr
    assert _digest(tmp_path) == before
