"""import: a small CNCF-format file mapped onto the ten layers."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackrig import landscape as ls
from stackrig.errors import ConflictError
from stackrig.landscape.importer import example_mapping_text


def test_import_small_cncf_fixture(tmp_path: Path, fixtures: Path) -> None:
    out = tmp_path / "imported.yml"
    result = ls.import_cncf(fixtures / "cncf-small.yml", fixtures / "mapping-small.yml", out)
    assert result.output == out
    assert result.content is None
    catalog = ls.load_catalog(out)
    names = {t.name for t in catalog.tools}
    assert names == {"Kubernetes", "Nomad", "Linkerd", "Envoy", "rkt"}
    assert result.tools == 5
    kubernetes = ls.find_tool(catalog, "Kubernetes")
    assert (kubernetes.layer, kubernetes.subcategory) == (
        "Management Orchestration",
        "Container Orchestrators",
    )
    assert kubernetes.repo_url == "https://github.com/kubernetes/kubernetes"
    linkerd = ls.find_tool(catalog, "Linkerd")
    assert (linkerd.layer, linkerd.subcategory) == ("Service Discovery and Registration", "Service Mesh")
    assert linkerd.layers == ("Service Discovery and Registration", "Networking and Load Balancing")
    assert ls.find_tool(catalog, "rkt").status is ls.Status.ARCHIVED
    assert ls.find_tool(catalog, "Nomad").description == "Workload orchestrator."
    assert [s.path for s in result.skipped] == ["Serverless / Framework"]
    assert result.skipped[0].items == 1
    assert any("Broken Link" in w for w in result.warnings)
    assert ls.validate_file(out).valid


def test_import_without_output_returns_the_text(fixtures: Path) -> None:
    result = ls.import_cncf(fixtures / "cncf-small.yml", fixtures / "mapping-small.yml")
    assert result.output is None
    assert result.content is not None
    assert result.content.startswith("# A stackrig landscape catalog")


def test_import_with_the_example_mapping(fixtures: Path, tmp_path: Path) -> None:
    result = ls.import_cncf(fixtures / "cncf-small.yml", None, tmp_path / "x.yml")
    catalog = ls.load_catalog(tmp_path / "x.yml")
    bundled_layers = {layer.name for layer in ls.load_catalog().layers}
    assert {layer.name for layer in catalog.layers} <= bundled_layers
    assert ls.find_tool(catalog, "Envoy").layer == "Networking and Load Balancing"
    assert result.mapping == "<bundled cncf-mapping.yml>"
    assert "map:" in example_mapping_text()


def test_example_mapping_targets_only_bundled_layers() -> None:
    from stackrig.landscape._yaml import load

    layers = {layer.name: layer for layer in ls.load_catalog().layers}
    for target in load(example_mapping_text())["map"].values():
        layer, _, _sub = (p.strip() for p in target.partition("/"))
        assert layer in layers, target


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ("map: [1, 2]\n", "no 'map:'"),
        ("other: {}\n", "no 'map:'"),
        ("map:\n  Runtime: 3\n", "mapping-bad.yml:2"),
        ("map:\n  Runtime: [unclosed\n", "mapping-bad.yml:2: not valid YAML"),
        ("map:\n  Nothing Matches: Container OSes\n", "no item"),
    ],
)
def test_bad_mapping_files(tmp_path: Path, fixtures: Path, mapping: str, message: str) -> None:
    path = tmp_path / "mapping-bad.yml"
    path.write_text(mapping)
    with pytest.raises(ls.CatalogError if message == "no item" else ls.MappingError, match=message):
        ls.import_cncf(fixtures / "cncf-small.yml", path, tmp_path / "out.yml")
    assert not (tmp_path / "out.yml").exists()


def test_import_of_something_else(tmp_path: Path, fixtures: Path) -> None:
    source = tmp_path / "x.yml"
    source.write_text("just: text\n")
    with pytest.raises(ls.CatalogError, match="not a CNCF landscape file"):
        ls.import_cncf(source, fixtures / "mapping-small.yml")


def test_import_refuses_to_overwrite_its_inputs(tmp_path: Path, fixtures: Path) -> None:
    source = tmp_path / "cncf.yml"
    source.write_bytes((fixtures / "cncf-small.yml").read_bytes())
    with pytest.raises(ConflictError):
        ls.import_cncf(source, fixtures / "mapping-small.yml", source)
    assert source.read_bytes() == (fixtures / "cncf-small.yml").read_bytes()


def test_mapping_targets_are_checked_against_a_catalog(tmp_path: Path, fixtures: Path) -> None:
    mapping = tmp_path / "mapping.yml"
    mapping.write_text(
        "map:\n  Runtime: runtime build and creation / Container Runtimes\n"
        "  Orchestration & Management: Orchestration Things\n"
    )
    result = ls.import_cncf(fixtures / "cncf-small.yml", mapping, tmp_path / "out.yml")
    catalog = ls.load_catalog(tmp_path / "out.yml")
    assert ls.find_tool(catalog, "rkt").layer == "Runtime Build and Creation"  # spelled as in the catalog
    assert ls.find_tool(catalog, "Envoy").layer == "Orchestration Things"
    assert any(
        "'Orchestration Things' is not a layer of <bundled landscape.yml>" in w for w in result.warnings
    )
    assert not any("runtime build" in w for w in result.warnings)
    # against the imported file itself, the new layer is known
    again = ls.import_cncf(fixtures / "cncf-small.yml", mapping, catalog=tmp_path / "out.yml")
    assert not any("is not a layer" in w for w in again.warnings)
