"""add and merge (library level): round trips, conflicts, and files left untouched on error."""

from __future__ import annotations

from pathlib import Path

import pytest

from stackrig import landscape as ls
from stackrig.errors import ConflictError, OutputPathError
from stackrig.landscape.catalog import bundled_text


def _nomad(**over: object) -> ls.NewTool:
    fields: dict[str, object] = {
        "name": "Nomad Two",
        "layer": "scheduling",
        "homepage_url": "https://nomad.example.org",
        "also": ("orchestration / Container Orchestrators", "cluster"),
        "repo_url": "https://github.com/example/nomad",
        "description": "  A   scheduler.  ",
        "status": ls.Status.ACTIVE,
    }
    fields.update(over)
    return ls.NewTool(**fields)  # type: ignore[arg-type]


def test_add_creates_a_file_with_the_ten_layers(tmp_path: Path) -> None:
    mine = tmp_path / "mine.yml"
    result = ls.add_tool(mine, _nomad())
    assert result.created
    assert not result.replaced
    catalog = ls.load_catalog(mine)
    assert len(catalog.layers) == 10
    tool = ls.find_tool(catalog, "nomad two")
    assert tool.layers == (
        "Scheduling and Scaling",
        "Management Orchestration",
        "Cluster Management and Distributed Systems State",
    )
    assert tool.subcategory == "Other"
    assert tool.description == "A scheduler."
    assert tool.repo_url == "https://github.com/example/nomad"
    assert ls.validate_file(mine).valid


def test_add_twice_is_a_conflict_and_replace_overwrites(tmp_path: Path) -> None:
    mine = tmp_path / "mine.yml"
    ls.add_tool(mine, _nomad())
    before = mine.read_bytes()
    with pytest.raises(ConflictError, match="already in"):
        ls.add_tool(mine, _nomad(name="NOMAD TWO"))
    assert mine.read_bytes() == before
    result = ls.add_tool(
        mine, _nomad(status=ls.Status.ARCHIVED, subcategory="Schedulers", also=()), replace=True
    )
    assert result.replaced
    catalog = ls.load_catalog(mine)
    assert len(catalog.tools) == 1
    tool = ls.find_tool(catalog, "Nomad Two")
    assert tool.status is ls.Status.ARCHIVED
    assert tool.subcategory == "Schedulers"
    assert not tool.overlaps


@pytest.mark.parametrize(
    ("over", "error"),
    [
        ({"layer": "quantum computing"}, "no layer"),
        ({"homepage_url": "javascript:alert(1)"}, "--homepage"),
        ({"repo_url": "github.com/x"}, "--repo"),
        ({"also": ("networking / Nope",)}, "no subcategory"),
        ({"also": ("nope",)}, "no layer"),
    ],
)
def test_add_refuses_bad_input_and_leaves_the_file(
    tmp_path: Path, over: dict[str, object], error: str
) -> None:
    mine = tmp_path / "mine.yml"
    ls.add_tool(mine, _nomad(name="First"))
    before = mine.read_bytes()
    with pytest.raises(ls.CatalogError, match=error):
        ls.add_tool(mine, _nomad(**over))
    assert mine.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.yml"]


def test_add_refuses_an_invalid_file_untouched(tmp_path: Path, fixtures: Path) -> None:
    mine = tmp_path / "defects.yml"
    mine.write_bytes((fixtures / "defects.yml").read_bytes())
    with pytest.raises(ls.CatalogError, match="13 problems"):
        ls.add_tool(mine, _nomad(layer="Layer One"))
    assert mine.read_bytes() == (fixtures / "defects.yml").read_bytes()


def test_add_to_bad_yaml_names_the_line(tmp_path: Path) -> None:
    mine = tmp_path / "bad.yml"
    mine.write_text("landscape:\n  - name: [oops\n")
    with pytest.raises(ls.CatalogError, match=r"bad\.yml:2: not valid YAML"):
        ls.add_tool(mine, _nomad())
    assert mine.read_text() == "landscape:\n  - name: [oops\n"


def test_add_to_a_copy_of_the_bundled_catalog_keeps_cncf_fields(tmp_path: Path) -> None:
    mine = tmp_path / "mine.yml"
    text = bundled_text().replace(
        "name: Kubernetes\n",
        "name: Kubernetes\n            logo: kubernetes.svg\n            extra: {a: 1}\n",
    )
    mine.write_text(text)
    result = ls.add_tool(mine, _nomad())
    assert result.tools == len(ls.load_catalog().tools) + 1
    assert result.warnings == ()
    written = mine.read_text()
    assert "logo: kubernetes.svg" in written
    assert written.startswith(bundled_text()[: bundled_text().index("landscape:")])
    bundled = {t.name: t for t in ls.load_catalog().tools}
    for tool in ls.load_catalog(mine).tools:
        if tool.name in bundled:
            original = bundled[tool.name]
            assert (tool.layers, tool.description, tool.status, tool.homepage_url) == (
                original.layers,
                original.description,
                original.status,
                original.homepage_url,
            )


def test_add_into_a_missing_folder_is_an_output_error(tmp_path: Path) -> None:
    with pytest.raises(OutputPathError):
        ls.add_tool(tmp_path / "no" / "mine.yml", _nomad())


def test_merge_bundled_with_additions_round_trip(tmp_path: Path) -> None:
    mine = tmp_path / "mine.yml"
    ls.add_tool(mine, _nomad())
    ls.add_tool(mine, _nomad(name="Brand New", layer="Container OSes", subcategory="Unikernels", also=()))
    out = tmp_path / "merged.yml"
    result = ls.merge_catalogs("bundled", mine, out)
    assert result.added == ("Nomad Two", "Brand New")
    assert result.conflicts == ()
    merged = ls.load_catalog(out)
    assert len(merged.tools) == len(ls.load_catalog().tools) + 2
    assert "Unikernels" in ls.resolve_layer(merged, "container os").subcategories
    # merging again adds nothing
    again = ls.merge_catalogs(out, mine, tmp_path / "again.yml")
    assert again.added == ()
    assert again.conflicts == ()
    assert ls.load_catalog(tmp_path / "again.yml").tools == ls.load_catalog(out).tools[: len(merged.tools)]


def test_merge_reports_conflicts_and_prefers_as_told(tmp_path: Path) -> None:
    mine = tmp_path / "mine.yml"
    ls.add_tool(
        mine,
        _nomad(
            name="kubernetes", layer="orchestration", also=(), description="Different words.", repo_url=None
        ),
    )
    kept_base = ls.merge_catalogs(None, mine, tmp_path / "a.yml")
    assert len(kept_base.conflicts) == 1
    conflict = kept_base.conflicts[0]
    assert conflict.name == "Kubernetes"
    assert {"description", "homepage_url", "second_path"} <= set(conflict.fields)
    assert (
        ls.find_tool(ls.load_catalog(tmp_path / "a.yml"), "kubernetes").homepage_url
        == "https://kubernetes.io"
    )
    kept_extra = ls.merge_catalogs(None, mine, tmp_path / "b.yml", prefer="extra")
    assert kept_extra.conflicts[0].kept == "extra"
    tool = ls.find_tool(ls.load_catalog(tmp_path / "b.yml"), "kubernetes")
    assert tool.description == "Different words."
    assert tool.layer == "Management Orchestration"


def test_merge_refuses_output_equal_to_an_input(tmp_path: Path) -> None:
    mine = tmp_path / "mine.yml"
    ls.add_tool(mine, _nomad())
    before = mine.read_bytes()
    with pytest.raises(ConflictError):
        ls.merge_catalogs("bundled", mine, mine)
    with pytest.raises(ConflictError):
        ls.merge_catalogs(mine, tmp_path / "other.yml", tmp_path / "." / "mine.yml")
    assert mine.read_bytes() == before


def test_merge_refuses_invalid_inputs(tmp_path: Path, fixtures: Path) -> None:
    with pytest.raises(ls.CatalogError, match="problems"):
        ls.merge_catalogs("bundled", fixtures / "defects.yml", tmp_path / "out.yml")
    with pytest.raises(ls.CatalogError, match="does not exist"):
        ls.merge_catalogs("bundled", tmp_path / "missing.yml", tmp_path / "out.yml")
    assert not (tmp_path / "out.yml").exists()


def test_add_matches_an_existing_subcategory_case_insensitively(tmp_path: Path) -> None:
    mine = tmp_path / "mine.yml"
    ls.add_tool(mine, _nomad(subcategory="autoscaling", also=()))
    catalog = ls.load_catalog(mine)
    assert ls.find_tool(catalog, "Nomad Two").subcategory == "Autoscaling"
    assert ls.resolve_layer(catalog, "scheduling").subcategories == ("Schedulers", "Autoscaling")


def test_add_also_naming_the_home_layer_adds_no_overlap(tmp_path: Path) -> None:
    mine = tmp_path / "mine.yml"
    result = ls.add_tool(mine, _nomad(also=("scheduling", "scheduling-and-scaling / Schedulers")))
    assert result.tool.layers == ("Scheduling and Scaling",)


def test_the_shipped_example_additions_validate_and_merge(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "landscape" / "additions.yml"
    assert ls.validate_file(example).valid
    result = ls.merge_catalogs("bundled", example, tmp_path / "merged.yml")
    assert result.added == ("Skaffold", "Tilt", "Thanos", "Vector")
    assert result.conflicts == ()
    merged = ls.load_catalog(tmp_path / "merged.yml")
    assert ls.find_tool(merged, "Thanos").layers == (
        "Monitoring, Health, Logging and Auditing",
        "Data Services, Data Intelligence and Storage Pools",
    )
    assert [layer.name for layer in merged.layers] == [layer.name for layer in ls.load_catalog().layers]
