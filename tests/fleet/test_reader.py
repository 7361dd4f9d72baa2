"""The inventory reader other families use (bench --inventory), and the public API of stackrig.fleet."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stackrig import fleet
from stackrig.errors import UsageError
from stackrig.fleet import read_inventory
from stackrig.fleet._writers import _INI_SAFE, ini_safe


def test_public_api_is_complete() -> None:
    public = {n for n in vars(fleet) if not n.startswith("_")} - {"annotations"}
    modules = {n for n in public if type(getattr(fleet, n)).__name__ == "module"}
    assert public - modules == set(fleet.__all__)


def test_general_ini(tmp_path: Path) -> None:
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "web.yml").write_text("http_port: !unsafe '8080'\n")
    (tmp_path / "host_vars").mkdir()
    (tmp_path / "host_vars" / "h2.yml").write_text("ansible_port: 2202\n")
    inventory = tmp_path / "hosts"
    inventory.write_text(
        "; comment\n"
        "h0 ansible_host=10.0.0.9\n"
        "[web]\n"
        "h1 ansible_host=10.0.0.1 ansible_user=ubuntu ansible_port=2222 label='two words'\n"
        "h2 ansible_host=10.0.0.2   # trailing comment\n"
        "[db]\n"
        "h3\n"
        "[prod:children]\n"
        "web\n"
        "db\n"
        "[prod:vars]\n"
        "env = production\n"
        "[all:vars]\n"
        "ansible_user=admin\n"
    )
    inv = read_inventory(inventory)
    assert [e.name for e in inv.hosts] == ["h0", "h1", "h2", "h3"]
    assert inv.groups["prod"] == ("h1", "h2", "h3")
    h1 = inv.host("h1")
    assert (h1.address, h1.user, h1.port) == ("10.0.0.1", "ubuntu", 2222)
    assert h1.vars["label"] == "two words"
    assert h1.vars["env"] == "production"
    assert h1.vars["http_port"] == "8080"
    h2 = inv.host("h2")
    assert (h2.user, h2.port) == ("admin", 2202)
    h3 = inv.host("h3")
    assert (h3.address, h3.port) == ("h3", None)
    with pytest.raises(KeyError):
        inv.host("nope")


def test_yaml_with_children_and_vars(tmp_path: Path) -> None:
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        "all:\n"
        "  vars: {ansible_user: root}\n"
        "  hosts:\n"
        "    a: {ansible_host: !unsafe '1.1.1.1', ansible_port: bad}\n"
        "  children:\n"
        "    web:\n"
        "      hosts:\n"
        "        b:\n"
        "      children:\n"
        "        canary:\n"
        "          hosts: {c: {x: !unsafe [1, '{{ y }}']}}\n"
    )
    inv = read_inventory(inventory)
    assert [e.name for e in inv.hosts] == ["a", "b", "c"]
    assert inv.groups["web"] == ("b", "c")
    assert inv.host("a").address == "1.1.1.1"
    assert inv.host("a").port is None
    assert inv.host("c").vars == {"ansible_user": "root", "x": [1, "{{ y }}"]}


def test_json_layouts(tmp_path: Path) -> None:
    script = tmp_path / "a.json"
    script.write_text(
        json.dumps(
            {
                "_meta": {"hostvars": {"h": {"ansible_host": {"__ansible_unsafe": "1.2.3.4"}}}},
                "all": {"children": ["g"]},
                "g": {"hosts": ["h"], "vars": {"v": 1}, "children": ["sub"]},
                "sub": {"hosts": ["k"]},
            }
        )
    )
    inv = read_inventory(script)
    assert inv.host("h").vars == {"ansible_host": "1.2.3.4", "v": 1}
    assert inv.groups["g"] == ("h", "k")
    plain = tmp_path / "b"
    plain.write_text(json.dumps({"all": {"hosts": {"x": {"ansible_host": "9.9.9.9"}}}}))
    assert read_inventory(plain).host("x").address == "9.9.9.9"


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("hosts", "web[01:10].example.com\n", "is a range"),
        ("hosts", "[web:weird]\nx\n", "unknown section kind"),
        ("hosts", "h1 novalue\n", "expected key=value"),
        ("hosts", "h1 a='unclosed\n", "No closing quotation"),
        ("hosts.yml", "all: [\n", "not valid YAML"),
        ("hosts.yml", "- a\n", "not an inventory"),
        ("hosts.yml", "all:\n  children:\n    web: [x]\n", "group 'web' is not a mapping"),
        ("hosts.json", "{nope", "not valid JSON"),
    ],
)
def test_reader_errors(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(UsageError, match=message):
        read_inventory(path)


def test_missing_inventory(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"inventory .* does not exist"):
        read_inventory(tmp_path / "none")


@settings(max_examples=400, deadline=None, derandomize=True, database=None)
@given(
    st.from_regex(_INI_SAFE, fullmatch=True)
    | st.sampled_from(["1", "1e5", "0x1F", "1_000", "2+3j", "True", "1."])
)
def test_ini_safe_values_never_change_type_in_ansibles_ini_parser(value: str) -> None:
    """What ini_safe lets through, ast.literal_eval (Ansible's INI value parser) keeps as the same string."""
    if ini_safe(value):
        try:
            parsed = ast.literal_eval(value)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return
        assert parsed == value
