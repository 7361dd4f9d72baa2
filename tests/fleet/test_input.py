"""The streaming reader: describe-instances one reservation at a time, any chunk size, exact errors."""

from __future__ import annotations

import io
import json

import pytest

from stackrig.fleet import ProviderParseError, parse_documents
from stackrig.fleet._input import iter_documents
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
