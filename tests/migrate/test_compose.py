"""``migrate compose``: the seed's version-1 file upgraded; every output passes the Compose schema and
loads with real Compose parsers (Debian's docker-compose 1.29 ``config``, PyPI compose-spec)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from stackrig.errors import UsageError
from stackrig.migrate import (
    ComposeSettings,
    make_compose,
    parse_bytes,
    schema_errors,
    upgrade_compose,
    validate_compose,
)
from stackrig.migrate._schema import ComposeSchemaError
from tests.migrate.conftest import EXAMPLES, SEED_V1


def docker_compose_config(folder: Path, name: str = "docker-compose.yml") -> dict[str, Any]:
    """Parse with the real docker-compose (v1.29, Debian); it needs no Docker engine for ``config``."""
    program = shutil.which("docker-compose")
    if program is None:
        pytest.fail("docker-compose is not installed: run scripts/apt-install.sh deps/apt/test-migrate.txt")
    done = subprocess.run(
        [program, "-f", name, "config"], cwd=folder, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    doc: dict[str, Any] = yaml.safe_load(done.stdout)
    return doc


def compose_spec_parse(text: str) -> Any:
    """Parse with compose-spec (PyPI: bindings to the Rust compose_spec crate, which validates fully)."""
    from compose_spec import PyCompose

    return PyCompose.from_yaml(text)


def test_seed_v1_upgrade() -> None:
    result = upgrade_compose(SEED_V1)
    doc = result.document
    assert schema_errors(doc) == []
    assert "version" not in doc
    web, db = doc["services"]["app_web"], doc["services"]["app_mysql"]
    assert "links" not in web
    assert web["depends_on"] == {"app_mysql": {"condition": "service_healthy"}}
    assert web["environment"]["APPDB_PORT_3306_TCP_ADDR"] == "app_mysql"
    assert web["environment"]["APPDB_PORT_3306_TCP_PORT"] == "3306"
    assert web["ports"] == ["80:3000"]
    assert (web["cpu_shares"], web["mem_limit"]) == (100, 117964800)
    assert (db["cpu_shares"], db["mem_limit"]) == (100, 117964800)
    assert db["healthcheck"]["test"][:3] == ["CMD", "mysqladmin", "ping"]
    assert db["networks"] == {"default": {"aliases": ["appdb"]}}
    assert any("links: app_mysql:appdb" in n for n in result.notes)


def test_upgraded_seed_loads_with_real_compose_parsers(tmp_path: Path) -> None:
    content = upgrade_compose(SEED_V1).content
    (tmp_path / "docker-compose.yml").write_text(content)
    parsed = docker_compose_config(tmp_path)
    web = parsed["services"]["app_web"]
    assert web["depends_on"]["app_mysql"]["condition"] == "service_healthy"
    assert web["environment"]["APPDB_PORT_3306_TCP_ADDR"] == "app_mysql"
    spec = compose_spec_parse(content)
    assert sorted(spec.service_names()) == ["app_mysql", "app_web"]


def test_example_files_are_current(tmp_path: Path) -> None:
    """examples/migrate/compose.yaml is what `compose --upgrade` makes of the seed's file."""
    assert (EXAMPLES / "compose.yaml").read_text() == upgrade_compose(SEED_V1).content


def test_report_compose_validates_and_loads(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    report.write_text(
        '{"services": [{"name": "app", "role": "app", "base_image": "ruby:1.8", "port": 3000, "publish": 80,'
        ' "environment": {"RAILS_ENV": "production"}},'
        ' {"name": "db", "role": "db", "image": "mysql:5.5", "port": 3306, "database": "AppName_production",'
        ' "username": "root"}, {"name": "redis", "role": "cache", "image": "redis:7"}]}'
    )
    out = tmp_path / "compose.yaml"
    result = make_compose(ComposeSettings(report=report, output=out, cpu_shares=100, mem_limit="112M"))
    assert result.written == out
    doc = yaml.safe_load(out.read_text())
    assert schema_errors(doc) == []
    app, db = doc["services"]["app"], doc["services"]["db"]
    assert app["environment"]["DATABASE_HOST"] == "db"
    assert not any("_TCP_ADDR" in k for k in app["environment"])
    assert app["depends_on"]["db"] == {"condition": "service_healthy"}
    assert app["depends_on"]["redis"] == {"condition": "service_started"}
    assert app["env_file"] == ["secrets.env"]
    assert db["volumes"] == ["db-data:/var/lib/mysql"]
    assert db["mem_limit"] == 112 * 1024 * 1024
    assert doc["volumes"] == {"db-data": {}}
    (tmp_path / "secrets.env").write_text("MYSQL_ROOT_PASSWORD=x\nDATABASE_PASSWORD=x\n")
    parsed = docker_compose_config(tmp_path, "compose.yaml")
    assert parsed["services"]["app"]["environment"]["DATABASE_HOST"] == "db"
    compose_spec_parse(out.read_text())


@pytest.mark.parametrize(
    ("image", "test0"),
    [("postgres:16", "CMD-SHELL"), ("mariadb:11", "CMD-SHELL")],
)
def test_report_compose_other_databases(tmp_path: Path, image: str, test0: str) -> None:
    report = tmp_path / "r.json"
    report.write_text(
        json.dumps(
            {
                "stackrig": "1",
                "data": {
                    "services": [
                        {"name": "db", "role": "db", "image": image, "database": "shop", "username": "shop"}
                    ]
                },
            }
        )
    )
    result = make_compose(ComposeSettings(report=report))
    doc = result.document
    assert doc["services"]["db"]["healthcheck"]["test"][0] == test0
    assert schema_errors(doc) == []
    compose_spec_parse(result.content)


def test_cli_upgrade_to_stdout_and_json(cli: Any) -> None:
    done = cli("migrate", "compose", "--upgrade", str(SEED_V1))
    assert done.returncode == 0, done.stderr
    assert yaml.safe_load(done.stdout)["services"]["app_web"]["depends_on"]
    assert "warning: app_web: links: app_mysql:appdb" in done.stderr
    done = cli("migrate", "compose", "--upgrade", str(SEED_V1), "--json")
    assert done.returncode == 0
    data = done.json()["data"]
    assert yaml.safe_load(data["content"])["services"]["app_mysql"]["image"] == "mysql"


def test_output_equal_to_input_is_conflict(tmp_path: Path, cli: Any) -> None:
    old = tmp_path / "docker-compose.yml"
    shutil.copy(SEED_V1, old)
    before = old.read_bytes()
    done = cli("migrate", "compose", "--upgrade", str(old), "-o", str(old))
    assert done.returncode == 4
    assert "refusing to overwrite" in done.stderr
    assert old.read_bytes() == before
    done = cli("migrate", "compose", "--upgrade", str(old), "-o", str(tmp_path / "." / "docker-compose.yml"))
    assert done.returncode == 4
    assert old.read_bytes() == before


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("web: [unclosed", "not valid YAML"),
        ("- a\n- b\n", "is not a mapping"),
        ("web:\n  image: x\n  links: [nosuch]\n", "links to 'nosuch', which is not in the file"),
        (
            "web:\n  image: x\n  bogus_key: 1\n",
            "old.yml:3: services/web: 'bogus_key' is not a key Compose knows",
        ),
        ("web: 3\n", "service 'web' is not a mapping"),
        (
            "web:\n  image: x\n  environment: 3\n  links: [db]\ndb:\n  image: mysql\n",
            "old.yml:3: services/web/environment: 3 is not valid",
        ),
    ],
)
def test_bad_old_files(tmp_path: Path, cli: Any, text: str, message: str) -> None:
    old = tmp_path / "old.yml"
    old.write_text(text)
    out = tmp_path / "new.yml"
    out.write_text("keep me")
    done = cli("migrate", "compose", "--upgrade", str(old), "-o", str(out))
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert out.read_text() == "keep me"


def test_upgrade_applies_limit_flags(tmp_path: Path) -> None:
    result = make_compose(ComposeSettings(upgrade=SEED_V1, cpu_shares=512, mem_limit="256M"))
    for service in result.document["services"].values():
        assert (service["cpu_shares"], service["mem_limit"]) == (512, 256 * 2**20)


def test_upgrade_v2_and_v1_extras(tmp_path: Path) -> None:
    old = tmp_path / "old.yml"
    old.write_text(
        "version: '2'\nservices:\n"
        "  web:\n    build: .\n    links: ['pg:database', cache]\n    depends_on: [cache]\n"
        "    environment:\n"
        "      - DB=${DATABASE_PORT_5432_TCP_ADDR}:${DATABASE_PORT_5432_TCP_PORT}\n      - EMPTY\n"
        "    log_driver: syslog\n    log_opt: {tag: web}\n    external_links: [other_db]\n"
        "  pg:\n    image: postgres:9.6\n    expose: ['5432']\n"
        "  cache:\n    image: redis\n"
        "volumes:\n  data: {}\n"
    )
    result = upgrade_compose(old)
    doc = result.document
    web = doc["services"]["web"]
    assert web["environment"]["DB"] == "pg:5432"
    assert web["environment"]["EMPTY"] is None
    assert web["depends_on"] == {
        "cache": {"condition": "service_started"},
        "pg": {"condition": "service_healthy"},
    }
    assert web["environment"]["CACHE_PORT_6379_TCP_ADDR"] == "cache"
    assert web["logging"] == {"driver": "syslog", "options": {"tag": "web"}}
    assert doc["volumes"] == {"data": {}}
    assert any("dropped 'version: 2'" in n for n in result.notes)
    assert schema_errors(doc) == []
    compose_spec_parse(result.content)

    v1 = tmp_path / "v1.yml"
    v1.write_text("web:\n  image: x\n  dockerfile: Dockerfile.prod\n  build: app\n  net: host\n")
    doc = upgrade_compose(v1).document
    assert doc["services"]["web"]["build"] == {"context": "app", "dockerfile": "Dockerfile.prod"}
    assert doc["services"]["web"]["network_mode"] == "host"


def test_settings_errors(tmp_path: Path, cli: Any) -> None:
    with pytest.raises(UsageError, match="give one of: a discover REPORT, --upgrade"):
        make_compose(ComposeSettings())
    report = tmp_path / "r.json"
    report.write_text('{"services": []}')
    with pytest.raises(UsageError, match="proposes no app or db"):
        make_compose(ComposeSettings(report=report))
    report.write_text("not json")
    done = cli("migrate", "compose", str(report))
    assert done.returncode == 2
    assert "is not JSON" in done.stderr
    report.write_text('{"x": 1}')
    done = cli("migrate", "compose", str(report))
    assert done.returncode == 2
    assert "has no services list" in done.stderr
    report.write_text('{"services": [{"role": "db", "image": "mysql"}]}')
    done = cli("migrate", "compose", str(report), "--cpu-shares", "1")
    assert done.returncode == 2
    assert "--cpu-shares must be at least 2" in done.stderr
    done = cli("migrate", "compose", str(report), "--mem-limit", "lots")
    assert done.returncode == 2
    assert "is not a size" in done.stderr
    done = cli("migrate", "compose", str(tmp_path / "missing.json"))
    assert done.returncode == 2
    assert "does not exist" in done.stderr


def test_schema_rejects_what_it_should() -> None:
    assert schema_errors({"services": {"a": {"image": "x", "depends_on": {"b": {"condition": "bogus"}}}}})
    with pytest.raises(ComposeSchemaError):
        validate_compose({"services": {"a": {"mem_limit": [1]}}}, what="x")


@pytest.mark.parametrize(
    ("value", "expected"),
    [(117964800, 117964800), ("512M", 512 * 2**20), ("1g", 2**30), ("112MiB", 112 * 2**20), ("100k", 102400)],
)
def test_parse_bytes(value: object, expected: int) -> None:
    assert parse_bytes(value) == expected


@pytest.mark.parametrize("value", [True, -1, "12 parsecs", ""])
def test_parse_bytes_rejects(value: object) -> None:
    with pytest.raises(UsageError):
        parse_bytes(value)


def test_upgrade_into_another_folder_rewrites_paths(tmp_path: Path, cli: Any) -> None:
    src = tmp_path / "old"
    (src / "conf").mkdir(parents=True)
    (src / ".env").write_text("DATA=./data\n")
    (src / "app.env").write_text("A=1\n")
    old = src / "docker-compose.yml"
    old.write_text(
        "version: '2'\nservices:\n  web:\n    build: ./app\n    env_file: app.env\n"
        "    volumes: ['./conf:/etc/conf:ro', 'data:/var/data', '${DATA}:/data', '/abs:/abs', '~/h:/h',\n"
        "      {type: bind, source: ./long, target: /long}]\n"
        "    image: 'web:${TAG:-latest}'\nvolumes:\n  data: {}\n"
    )
    out_dir = tmp_path / "new" / "deploy"
    out_dir.mkdir(parents=True)
    out = out_dir / "compose.yaml"
    done = cli("migrate", "compose", "--upgrade", str(old), "-o", str(out), "--json")
    assert done.returncode == 0, done.stderr
    doc = yaml.safe_load(out.read_text())
    web = doc["services"]["web"]
    assert web["build"] == "../../old/app"
    assert web["env_file"] == "../../old/app.env"
    assert web["volumes"][:5] == [
        "../../old/conf:/etc/conf:ro",
        "data:/var/data",
        "${DATA}:/data",
        "/abs:/abs",
        "~/h:/h",
    ]
    assert web["volumes"][5]["source"] == "../../old/long"
    assert web["image"] == "web:${TAG:-latest}"  # variables stay as written
    notes = done.json()["data"]["notes"]
    assert any("services.web.volumes: ${DATA} is built from a variable" in n for n in notes)
    assert any(".env is not beside the new file" in n for n in notes)
    assert (tmp_path / "new" / "deploy" / "../../old/conf").resolve() == (src / "conf").resolve()


def test_upgrade_refuses_what_compose_refuses(tmp_path: Path, cli: Any) -> None:
    old = tmp_path / "old.yml"
    out = tmp_path / "new.yml"
    out.write_text("keep me")
    cases = [
        ("web:\n  image: x\n  volumes_from: [ghost]\n", "services.web.volumes_from: ghost is not a service"),
        (
            "version: '3'\nservices:\n  a:\n    image: x\n    volumes: [data:/d]\n",
            "volume data is not declared",
        ),
        ("version: '3'\nservices:\n  a:\n    image: 'x:${TAG:?give a TAG}'\n", "give a TAG"),
        (
            "web:\n  image: x\n  noop: /hello\n",
            "old.yml:3: services/web: 'noop' is not a key Compose knows here",
        ),
    ]
    for text, message in cases:
        old.write_text(text)
        done = cli("migrate", "compose", "--upgrade", str(old), "-o", str(out))
        assert done.returncode == 2, (text, done.stderr)
        assert message in done.stderr
        assert out.read_text() == "keep me"


def test_upgrade_v1_volumes_and_extends(tmp_path: Path) -> None:
    (tmp_path / "common.yml").write_text(
        "web:\n  image: busybox\n  net: host\n  environment: [FOO=1, BAR=1]\n"
    )
    old = tmp_path / "docker-compose.yml"
    old.write_text(
        "app:\n  extends: {file: common.yml, service: web}\n  environment: {BAR: '2'}\n  net: bridge\n"
        "  volumes: ['cache:/cache']\n  links: [db]\ndb:\n  image: postgres\n"
    )
    result = upgrade_compose(old)
    app = result.document["services"]["app"]
    assert "extends" not in app
    assert app["image"] == "busybox"
    assert (app["environment"]["FOO"], app["environment"]["BAR"]) == ("1", "2")
    assert "network_mode" not in app
    assert result.document["volumes"] == {"cache": {}}
    assert any("extends: web of common.yml (a version-1 file) merged in" in n for n in result.notes)
    (tmp_path / "new.yml").write_text(result.content)
    docker_compose_config(tmp_path, "new.yml")


@pytest.mark.parametrize(
    ("image", "username", "env", "password_of_app"),
    [
        ("mariadb:10.11", "shop", {"MARIADB_DATABASE": "shop", "MARIADB_USER": "shop"}, "MARIADB_PASSWORD"),
        ("mysql:8.0", "shop", {"MYSQL_DATABASE": "shop", "MYSQL_USER": "shop"}, "MYSQL_PASSWORD"),
        ("mysql:5.5", "root", {"MYSQL_DATABASE": "shop"}, "MYSQL_ROOT_PASSWORD"),
        ("postgres:16", "shop", {"POSTGRES_DB": "shop", "POSTGRES_USER": "shop"}, "POSTGRES_PASSWORD"),
    ],
)
def test_report_compose_creates_the_apps_login(
    tmp_path: Path, image: str, username: str, env: dict[str, str], password_of_app: str
) -> None:
    """The db's first start creates the user the app logs in as (the images' *_USER/*_PASSWORD);
    the healthcheck names no password and no script only one image has."""
    report = tmp_path / "r.json"
    services = [
        {"name": "app", "role": "app", "port": 8080},
        {"name": "db", "role": "db", "image": image, "database": "shop", "username": username},
    ]
    report.write_text(json.dumps({"services": services}))
    result = make_compose(ComposeSettings(report=report))
    db, app = result.document["services"]["db"], result.document["services"]["app"]
    assert db["environment"] == env
    assert app["environment"]["DATABASE_USERNAME"] == username
    check = " ".join(db["healthcheck"]["test"])
    assert "healthcheck.sh" not in check
    assert "PASSWORD" not in check.upper().replace("POSTGRES_USER", "")
    assert "-p" not in db["healthcheck"]["test"]
    (note,) = [n for n in result.notes if "secrets.env" in n]
    assert f"{password_of_app}=..." in note
    assert f"DATABASE_PASSWORD: the same as {password_of_app}" in note
