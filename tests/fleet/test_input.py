"""The streaming reader: describe-instances one reservation at a time, any chunk size, exact errors."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from stackrig.fleet import ProviderParseError, load_hosts, parse_documents
from stackrig.fleet._input import iter_documents, iter_placed
from stackrig.fleet.providers import parse_placed
from tests.fleet.conftest import CLOUD

AWS_TEXT = (CLOUD / "aws-describe-instances.json").read_text()
EXPECTED = [h.instance_id for h in parse_documents([json.loads(AWS_TEXT)])]


@pytest.mark.parametrize("chunk", [1, 2, 7, 64, 1 << 22])
def test_any_chunk_size_gives_the_same_hosts(chunk: int) -> None:
    pages = AWS_TEXT + "\n" + AWS_TEXT.replace("]\n}", '], "NextToken": "abc=="}', 1)
    docs = list(iter_documents(io.StringIO(pages), "in", chunk=chunk))
    assert len(docs) == 4  # one document per reservation, two reservations per page
    assert [h.instance_id for h in parse_documents(docs)] == EXPECTED * 2


@pytest.mark.parametrize("chunk", [3, 1 << 22])
def test_other_shapes_and_empty_reservations(chunk: int) -> None:
    gcp = (CLOUD / "gcp-instances-list.json").read_text()
    text = '{"Reservations": []}' + gcp + '{"Reservations" : [ ] , "ResponseMetadata": {"x": [1, 2]}}'
    docs = list(iter_documents(io.StringIO(text), "in", chunk=chunk))
    assert [h.provider for h in parse_documents(docs)] == ["gcp"] * 3


@pytest.mark.parametrize("chunk", [5, 1 << 22])
def test_errors_carry_the_line_and_column_json_would_give(chunk: int) -> None:
    for bad in [
        AWS_TEXT.replace('"InstanceType": "t3.small",', '"InstanceType": "t3.small" oops', 1),
        AWS_TEXT[: len(AWS_TEXT) // 2],
        '{"Reservations": [{"Instances": []} {"Instances": []}]}',
        '{"Reservations": [{"Instances": []}], "NextToken" "x"}',
        '{"Reservations": [{"Instances": []}] x',
    ]:
        with pytest.raises(json.JSONDecodeError) as reference:
            json.loads(bad)
        with pytest.raises(ProviderParseError) as info:
            list(iter_documents(io.StringIO(bad), "in.json", chunk=chunk))
        assert f"line {reference.value.lineno}, column {reference.value.colno}" in info.value.message


def test_numbers_cut_by_a_chunk_are_read_whole() -> None:
    docs = list(iter_documents(io.StringIO("12345 678"), "in", chunk=2))
    assert docs == [12345, 678]


def test_whitespace_only_is_empty() -> None:
    with pytest.raises(ProviderParseError, match="in is empty"):
        list(iter_documents(io.StringIO(" \n\t"), "in"))


# ------------------------------------------------------------ top-level lists, one element at a time

LISTS = ["azure-vm-list-d.json", "gcp-instances-list.json", "openstack-server-list.json"]


@pytest.mark.parametrize("name", LISTS)
@pytest.mark.parametrize("chunk", [1, 7, 1 << 22])
def test_a_list_is_read_one_element_at_a_time_with_the_same_hosts(name: str, chunk: int) -> None:
    text = (CLOUD / name).read_text()
    whole = parse_documents([json.loads(text)])
    placed = list(iter_placed(io.StringIO(text + "\n" + text), name, chunk=chunk))
    count = len(json.loads(text))
    assert [doc for doc, _ in placed] == [[e] for e in json.loads(text)] * 2
    assert [(p.document, p.first_item) for _, p in placed] == [(d, n) for d in range(2) for n in range(count)]
    assert parse_placed(placed) == whole * 2


def test_aws_query_output_and_an_empty_list() -> None:
    instances = [i for r in json.loads(AWS_TEXT)["Reservations"] for i in r["Instances"]]
    text = "[]\n" + json.dumps(instances, indent=2)
    assert [h.instance_id for h in load_hosts([], stdin=io.StringIO(text))] == EXPECTED


def _listed(tmp_path: Path, name: str, items: list[Any]) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(items, indent=1))
    return path


def test_errors_name_the_item_of_the_list(tmp_path: Path) -> None:
    gcp = json.loads((CLOUD / "gcp-instances-list.json").read_text())
    bad = _listed(tmp_path, "gcp.json", [gcp[0], gcp[0], {"kind": "compute#instance"}])
    with pytest.raises(ProviderParseError) as info:
        load_hosts([bad])
    assert info.value.message == f"{bad}: item 3: instance without id or name"
    pages = tmp_path / "pages.json"  # a second document in the same file is named as such
    pages.write_text(json.dumps(gcp) + "\n" + bad.read_text())
    with pytest.raises(ProviderParseError, match=r"pages\.json: document 2, item 3: "):
        load_hosts([pages])
    aws = _listed(tmp_path, "aws.json", [{"InstanceId": "i-1"}, "oops"])
    with pytest.raises(ProviderParseError, match=r"aws\.json: instance 2: expected an object, found str$"):
        load_hosts([aws])


def test_the_first_element_decides_the_provider_as_for_a_list_read_whole(tmp_path: Path) -> None:
    openstack = json.loads((CLOUD / "openstack-server-list.json").read_text())
    mixed = _listed(tmp_path, "mixed.json", [openstack[0], {"ID": "x", "Name": "plain"}])
    whole = parse_documents([json.loads(mixed.read_text())])
    assert load_hosts([mixed]) == whole
    assert [h.provider for h in whole] == ["openstack", "openstack"]
    with pytest.raises(ProviderParseError, match=r"/gcp\.json is JSON of no shape"):
        load_hosts([_listed(tmp_path, "gcp.json", [{"nothing": 1}, openstack[0]])])
    with pytest.raises(ProviderParseError, match=r"/given\.json is not gcp output"):
        load_hosts([_listed(tmp_path, "given.json", openstack)], "gcp")


@pytest.mark.parametrize("chunk", [3, 1 << 22])
def test_errors_in_a_list_carry_the_line_and_column_json_would_give(chunk: int) -> None:
    for bad in ['[{"a": 1}, {"a": 2} {"a": 3}]', '[{"a": 1},]', "[", '[{"a": 1}', "[1 2]"]:
        with pytest.raises(json.JSONDecodeError) as reference:
            json.loads(bad)
        with pytest.raises(ProviderParseError) as info:
            list(iter_documents(io.StringIO(bad), "in.json", chunk=chunk))
        assert f"line {reference.value.lineno}, column {reference.value.colno}" in info.value.message


def test_a_value_larger_than_a_chunk_is_decoded_a_few_times_not_once_per_chunk() -> None:
    reads: list[int] = []

    class Counting(io.StringIO):
        def read(self, size: int | None = -1, /) -> str:
            reads.append(size or -1)
            return super().read(size)

    doc = {"items": [{"kind": "compute#instance", "id": str(n), "name": f"vm-{n}"} for n in range(5000)]}
    text = json.dumps(doc)
    (got,) = iter_documents(Counting(text), "in", chunk=1024)
    assert got == doc
    assert len(reads) < 20  # the buffer doubles: log2(len / chunk) reads, not len / chunk
