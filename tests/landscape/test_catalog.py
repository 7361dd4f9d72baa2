"""The bundled catalog: valid, every layer filled, the seed's overlaps and statuses, queries."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from stackrig import landscape as ls
from stackrig.landscape.catalog import bundled_text
from stackrig.landscape.model import slug

SEED_LAYERS = (
    "Applications, Frameworks and App Manifests",
    "Scheduling and Scaling",
    "Management Orchestration",
    "Monitoring, Health, Logging and Auditing",
    "Runtime Build and Creation",
    "Networking and Load Balancing",
    "Service Discovery and Registration",
    "Cluster Management and Distributed Systems State",
    "Container OSes",
    "Data Services, Data Intelligence and Storage Pools",
)


@pytest.fixture(scope="module")
def catalog() -> ls.Catalog:
    return ls.load_catalog()


def test_bundled_catalog_passes_validate() -> None:
    report = ls.validate_file()
    assert report.valid, [p.format(report.source) for p in report.problems]
    assert report.layers == 10


def test_the_ten_layers_of_the_seed_in_order(catalog: ls.Catalog) -> None:
    assert tuple(layer.name for layer in catalog.layers) == SEED_LAYERS


def test_every_layer_has_at_least_eight_home_tools_and_100_in_all(catalog: ls.Catalog) -> None:
    assert len(catalog.tools) >= 100
    for layer in catalog.layers:
        home = [t for t in catalog.tools if t.layer == layer.name]
        assert len(home) >= 8, f"{layer.name} has only {len(home)} tools"
        assert len(layer.subcategories) >= 2
        assert layer.tools >= len(home)


def test_every_tool_is_complete(catalog: ls.Catalog) -> None:
    for tool in catalog.tools:
        assert tool.homepage_url.startswith("https://"), tool.name
        assert tool.description.endswith("."), tool.name
        # One sentence: no full stop followed by a capital letter inside it.
        assert not re.search(r"\.\s+[A-Z]", tool.description[:-1]), tool.name
        assert len(tool.description) <= 160, tool.name
        if tool.repo_url is not None:
            assert tool.repo_url.startswith("https://"), tool.name


def test_every_tool_in_the_file_has_status_and_description_written_out() -> None:
    lines = bundled_text().splitlines()

    def count(prefix: str) -> int:
        return sum(1 for line in lines if line.strip().startswith(prefix))

    assert count("- item:") == count("status: ") == count("description: ") == len(ls.load_catalog().tools)


def test_kubernetes_overlaps_as_in_the_seed(catalog: ls.Catalog) -> None:
    kubernetes = ls.find_tool(catalog, "Kubernetes")
    assert kubernetes.layer == "Management Orchestration"
    assert set(kubernetes.layers) == {
        "Management Orchestration",
        "Cluster Management and Distributed Systems State",
        "Scheduling and Scaling",
    }
    assert kubernetes in ls.overlaps(catalog)
    for layer in ("scheduling", "cluster", "orchestration"):
        assert kubernetes in ls.list_tools(catalog, layer=layer)


@pytest.mark.parametrize("name", ["Docker Machine", "Docker Swarm (classic)", "Amazon ECS CLI", "rkt"])
def test_the_retired_tools_of_the_brief(catalog: ls.Catalog, name: str) -> None:
    assert ls.find_tool(catalog, name).status is ls.Status.RETIRED


def test_all_three_statuses_are_used(catalog: ls.Catalog) -> None:
    assert {t.status for t in catalog.tools} == set(ls.Status)


def test_overlap_lists_only_multi_layer_tools(catalog: ls.Catalog) -> None:
    found = ls.overlaps(catalog)
    assert len(found) >= 10
    assert all(len(t.layers) > 1 for t in found)
    assert {t.name for t in catalog.tools if len(t.layers) > 1} == {t.name for t in found}


def test_resolve_layer_by_name_slug_and_word(catalog: ls.Catalog) -> None:
    assert ls.resolve_layer(catalog, "Container OSes").name == "Container OSes"
    assert ls.resolve_layer(catalog, "container-oses").name == "Container OSes"
    assert ls.resolve_layer(catalog, "STORAGE").name.startswith("Data Services")
    assert ls.resolve_layer(catalog, "service discovery").name == "Service Discovery and Registration"


@pytest.mark.parametrize(("text", "message"), [("s", "ambiguous"), ("quantum", "no layer"), ("  ", "empty")])
def test_resolve_layer_refuses(catalog: ls.Catalog, text: str, message: str) -> None:
    with pytest.raises(ls.CatalogError, match=message) as info:
        ls.resolve_layer(catalog, text)
    assert info.value.exit_code == 2


def test_list_filters_combine(catalog: ls.Catalog) -> None:
    retired = ls.list_tools(catalog, status=ls.Status.RETIRED)
    assert retired
    assert all(t.status is ls.Status.RETIRED for t in retired)
    found = ls.list_tools(catalog, layer="runtime", search="CONTAINER runtime")
    assert {"containerd", "CRI-O"} <= {t.name for t in found}
    assert all("Runtime Build and Creation" in t.layers for t in found)
    assert ls.list_tools(catalog, search="no-such-word-anywhere") == ()


def test_find_tool_is_case_insensitive_and_suggests(catalog: ls.Catalog) -> None:
    assert ls.find_tool(catalog, "  kubernetes ").name == "Kubernetes"
    with pytest.raises(ls.CatalogError) as info:
        ls.find_tool(catalog, "Kubernets")
    assert "Kubernetes" in (info.value.hint or "")
    with pytest.raises(ls.CatalogError) as info:
        ls.find_tool(catalog, "zzzz")
    assert "landscape list" in (info.value.hint or "")


def test_slug() -> None:
    assert slug("Data Services, Data Intelligence and Storage Pools") == (
        "data-services-data-intelligence-and-storage-pools"
    )


def test_public_names_are_sorted_and_complete() -> None:
    assert ls.__all__ == sorted(ls.__all__)
    public = {n for n in vars(ls) if not n.startswith("_")} - {"annotations"}
    modules = {n for n in public if type(getattr(ls, n)).__name__ == "module"}
    assert public - modules == set(ls.__all__)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "is a folder"),
        (b"\xff\xfe landscape", "not UTF-8"),
        (b"", "not-a-catalog"),
        (b"# only a comment\n", "not-a-catalog"),
    ],
)
def test_unusable_catalog_files(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "c.yml"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    with pytest.raises(ls.CatalogError, match=message) as info:
        ls.load_catalog(path)
    assert info.value.exit_code == 2
    if content is not None:
        assert path.read_bytes() == content


def test_validate_report_of_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.yml"
    path.write_text("")
    report = ls.validate_file(path)
    assert not report.valid
    assert [(p.code, p.line) for p in report.problems] == [("not-a-catalog", 1)]
