"""``stackrig fleet render``: the seed's agent.yml, masking, 0600, and every way a template can be wrong."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from stackrig.errors import ExitCode
from stackrig.fleet import Inventory, read_inventory
from stackrig.fleet.render import Rendered, TemplateError, render_template
from tests.fleet.conftest import CLOUD, EXAMPLES

AGENT = EXAMPLES / "templates" / "agent.yml.j2"
SECRETS = {
    "AWS_ACCESS_KEY_ID": "AKIAEXAMPLEKEY",
    "AWS_SECRET_ACCESS_KEY": 'wJalr/XUtnFEMI+K7MDENG"<bPxRfiCY',
    "MY_AWS_DEFAULT_REGION": "us-east-1",
    "MY_AWS_ZONE": "a",
}


@pytest.fixture
def inventory(tmp_path: Path, cli: Any) -> Path:
    target = tmp_path / "hosts.yml"
    done = cli(
        "fleet",
        "inventory",
        str(CLOUD / "aws-describe-instances.json"),
        "--format",
        "yaml",
        "-o",
        str(target),
    )
    assert done.returncode == 0, done.stderr
    return target


def test_agent_yml_reproduces_the_seed(tmp_path: Path, inventory: Path, cli: Any) -> None:
    out = tmp_path / "agent.yml"
    out.write_text("old world-readable copy\n")
    out.chmod(0o644)
    done = cli("fleet", "render", str(AGENT), "-i", str(inventory), "-o", str(out), env=SECRETS)
    assert done.returncode == 0, done.stderr
    assert out.stat().st_mode & 0o777 == 0o600
    doc = yaml.safe_load(out.read_text())
    # the seed: hostname = instances[0] public IP, port 4524, backend aws, keys from env, zone = region + zone
    assert doc == {
        "version": 1,
        "control-service": {"hostname": "54.1.2.3", "port": 4524},
        "dataset": {
            "backend": "aws",
            "access_key_id": "AKIAEXAMPLEKEY",
            "secret_access_key": SECRETS["AWS_SECRET_ACCESS_KEY"],
            "region": "us-east-1",
            "zone": "us-east-1a",
        },
    }


def test_dry_run_masks_every_env_value_and_writes_nothing(tmp_path: Path, inventory: Path, cli: Any) -> None:
    out = tmp_path / "agent.yml"
    done = cli("fleet", "render", str(AGENT), "-i", str(inventory), "-o", str(out), "--dry-run", env=SECRETS)
    assert done.returncode == 0, done.stderr
    assert not out.exists()
    for value in SECRETS.values():
        if len(value) > 1:
            assert value not in done.stdout
    doc = yaml.safe_load(done.stdout)
    assert doc["dataset"]["secret_access_key"] == "***"
    assert doc["dataset"]["zone"] == "******"
    assert doc["control-service"]["hostname"] == "54.1.2.3"
    assert doc["dataset"]["backend"] == "aws"  # 'a' is an env value, but only env values are masked


def test_json_mode_puts_the_masked_text_in_the_envelope(inventory: Path, cli: Any) -> None:
    done = cli("fleet", "render", str(AGENT), "-i", str(inventory), "--dry-run", "--json", env=SECRETS)
    assert done.returncode == 0, done.stderr
    data = done.json()["data"]
    assert "AKIAEXAMPLEKEY" not in done.stdout
    assert data["env_used"] == list(SECRETS)
    assert data["written"] is False
    assert 'secret_access_key: "***"' in data["content"]


def test_unset_env_var_names_it_and_writes_nothing(tmp_path: Path, inventory: Path, cli: Any) -> None:
    out = tmp_path / "agent.yml"
    out.write_text("keep me\n")
    env = {k: v for k, v in SECRETS.items() if k != "AWS_SECRET_ACCESS_KEY"}
    done = cli("fleet", "render", str(AGENT), "-i", str(inventory), "-o", str(out), env=env)
    assert done.returncode == 2
    assert f"{AGENT}:13: environment variable AWS_SECRET_ACCESS_KEY is not set" in done.stderr
    assert out.read_text() == "keep me\n"


def test_template_syntax_error_names_file_and_line(tmp_path: Path, inventory: Path, cli: Any) -> None:
    template = tmp_path / "bad.j2"
    template.write_text("line one\n{% for h in hosts %}\n{{ h.name }\n{% endfor %}\n")
    done = cli("fleet", "render", str(template), "-i", str(inventory))
    assert done.returncode == 2
    assert f"{template}:3: template syntax error" in done.stderr


def test_undefined_host_variable_and_vars(tmp_path: Path, inventory: Path, cli: Any) -> None:
    template = tmp_path / "t.j2"
    template.write_text("{{ vars.cluster }}\n{{ first.nope }}\n")
    done = cli("fleet", "render", str(template), "-i", str(inventory), "--var", "cluster=blue")
    assert done.returncode == 2
    assert f"{template}:2:" in done.stderr
    assert "nope" in done.stderr
    template.write_text(
        "{{ vars.cluster }} {{ groups.keys() | list }} {% for h in hosts %}{{ h.name }},{% endfor %}\n"
    )
    done = cli("fleet", "render", str(template), "-i", str(inventory), "--var", "cluster=blue")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "blue [] 54.1.2.3,10.0.2.11,54.1.2.5,\n"
    done = cli("fleet", "render", str(template), "-i", str(inventory), "--var", "novalue")
    assert done.returncode == 2
    assert "--var 'novalue' is not KEY=VALUE" in done.stderr


def test_sandbox_refuses_python_internals(tmp_path: Path, inventory: Path, cli: Any) -> None:
    template = tmp_path / "evil.j2"
    template.write_text("{{ ''.__class__.__mro__[1].__subclasses__() }}\n")
    done = cli("fleet", "render", str(template), "-i", str(inventory))
    assert done.returncode == 2
    assert f"{template}:1:" in done.stderr


def test_inventory_values_are_data_not_templates(tmp_path: Path, cli: Any) -> None:
    doc = json.loads((CLOUD / "aws-describe-instances.json").read_text())
    evil = "{{ lookup('pipe', 'touch " + str(tmp_path / "PWNED") + "') }}{% raw %}"
    doc["Reservations"][0]["Instances"][0]["Tags"].append({"Key": "Evil", "Value": evil})
    source = tmp_path / "in.json"
    source.write_text(json.dumps(doc))
    for fmt in ("yaml", "json"):
        inv = tmp_path / f"hosts.{fmt}"
        done = cli("fleet", "inventory", str(source), "--format", fmt, "-o", str(inv))
        assert done.returncode == 0, done.stderr
        template = tmp_path / "t.j2"
        template.write_text("{{ first.ec2_tags.Evil }}\n")
        done = cli("fleet", "render", str(template), "-i", str(inv))
        assert done.returncode == 0, done.stderr
        assert done.stdout == evil + "\n"
    assert not (tmp_path / "PWNED").exists()


def test_output_equal_to_template_is_a_conflict_and_missing_files(
    tmp_path: Path, inventory: Path, cli: Any
) -> None:
    template = tmp_path / "t.j2"
    template.write_text("x\n")
    done = cli("fleet", "render", str(template), "-i", str(inventory), "-o", str(template))
    assert done.returncode == 4
    assert template.read_text() == "x\n"
    done = cli("fleet", "render", str(tmp_path / "missing.j2"), "-i", str(inventory))
    assert done.returncode == 2
    assert "template" in done.stderr
    assert "does not exist" in done.stderr
    done = cli("fleet", "render", str(template), "-i", str(tmp_path / "none.ini"))
    assert done.returncode == 2
    assert "inventory" in done.stderr
    done = cli("fleet", "render", str(template), "-i", str(inventory), "-o", str(tmp_path / "no" / "x"))
    assert done.returncode == 2
    assert "does not exist" in done.stderr


# ------------------------------------------------------------------ library level (fast)


@pytest.fixture
def small_inventory(tmp_path: Path) -> Inventory:
    path = tmp_path / "hosts"
    path.write_text("web1 ansible_host=10.0.0.1 role=web\n[web]\nweb1\n")
    return read_inventory(path)


def _render(
    tmp_path: Path, inventory: Inventory, text: str, environ: dict[str, str] | None = None
) -> Rendered:
    template = tmp_path / "t.j2"
    template.write_text(text)
    return render_template(template, inventory, variables={"v": "1"}, environ=environ or {})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{{ hosts.append(1) }}", "not allowed in a stackrig template"),
        ("{{ 1 / 0 }}", "ZeroDivisionError"),
        ("{% include 'other.j2' %}", "no loader"),
        ("{{ env | tojson }}", "cannot be written as JSON"),
        ("{{ first.nope | tojson }}", "has no attribute 'nope'"),
        ("\n{{ env['MISSING'] }}", "t.j2:2: environment variable MISSING is not set"),
    ],
)
def test_template_failures_are_usage_errors(
    tmp_path: Path, small_inventory: Inventory, text: str, message: str
) -> None:
    with pytest.raises(TemplateError) as info:
        _render(tmp_path, small_inventory, text)
    assert info.value.exit_code == ExitCode.USAGE
    assert message in info.value.message


def test_context_names(tmp_path: Path, small_inventory: Inventory) -> None:
    text = "{{ first | tojson }} {{ groups.web[0].role }} {{ vars.v }} {{ env | length }} {{ env.A }}"
    done = _render(tmp_path, small_inventory, text, {"A": "x", "B": "y"})
    assert done.content == '{"ansible_host": "10.0.0.1", "name": "web1", "role": "web"} web 1 2 x'
    assert done.env_used == ("A",)
    assert done.masked.endswith(" 2 ***")


def test_masking_falls_back_to_values_when_tokens_cannot_be_computed(
    tmp_path: Path, small_inventory: Inventory
) -> None:
    done = _render(tmp_path, small_inventory, "{{ 100 // (env.N | int) }} n={{ env.N }}", {"N": "4"})
    assert done.content == "25 n=4"
    assert done.masked == "25 n=***"
