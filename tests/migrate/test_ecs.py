"""``migrate ecs``: the seed's compose file → a task definition that moto's RegisterTaskDefinition accepts."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stackrig.errors import UsageError
from stackrig.migrate import EcsSettings, check_task_definition, make_task_definition, task_definition
from stackrig.migrate.ecs import TaskDefinitionError
from tests.migrate.conftest import EXAMPLES, SEED_V1
from tests.services import start_moto_server

SEED_COMPOSE = EXAMPLES / "compose.yaml"
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    service, url = start_moto_server(tmp_path_factory.mktemp("moto"))
    try:
        yield url
    finally:
        service.stop()


def test_seed_compose_to_task_definition() -> None:
    result = make_task_definition(EcsSettings(SEED_COMPOSE, family="appname"))
    td = result.task_definition
    assert check_task_definition(td) == []
    web, db = td["containerDefinitions"]
    assert (web["name"], web["image"], web["cpu"], web["memory"]) == ("app_web", "wallnerryan/app", 100, 112)
    assert db["memory"] == 112  # 117964800 bytes = 112.5 MiB, rounded down
    assert web["portMappings"] == [{"containerPort": 3000, "protocol": "tcp", "hostPort": 80}]
    assert web["dependsOn"] == [{"containerName": "app_mysql", "condition": "HEALTHY"}]
    assert web["links"] == ["app_mysql", "app_mysql:appdb"]
    assert {"name": "APPDB_PORT_3306_TCP_ADDR", "value": "app_mysql"} in web["environment"]
    assert web["essential"] is True
    assert db["healthCheck"] == {
        "command": ["CMD", "mysqladmin", "ping", "-h", "127.0.0.1", "--silent"],
        "interval": 5,
        "timeout": 3,
        "startPeriod": 30,
        "retries": 10,
    }
    assert web["logConfiguration"]["logDriver"] == "awslogs"
    assert web["logConfiguration"]["options"]["awslogs-group"] == "/ecs/appname"
    assert any("network aliases appdb" in w for w in result.warnings)
    assert json.loads((EXAMPLES / "taskdef.json").read_text()) == td


@pytest.mark.e2e
def test_register_with_moto(moto: str, cli: Any, tmp_path: Path) -> None:
    out = tmp_path / "taskdef.json"
    done = cli(
        "migrate", "ecs", str(SEED_COMPOSE), "--family", "appname", "-o", str(out),
        "--register", "--endpoint-url", moto, "--json", env=AWS_ENV,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = done.json()["data"]
    assert data["registered_arn"].startswith("arn:aws:ecs:us-east-1:")
    assert data["registered_arn"].endswith(":task-definition/appname:1")
    import boto3

    client = boto3.client(
        "ecs",
        endpoint_url=moto,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    stored = client.describe_task_definition(taskDefinition="appname:1")["taskDefinition"]
    containers = {c["name"]: c for c in stored["containerDefinitions"]}
    assert containers["app_web"]["memory"] == 112
    assert containers["app_web"]["dependsOn"] == [{"containerName": "app_mysql", "condition": "HEALTHY"}]
    assert containers["app_mysql"]["healthCheck"]["command"][1] == "mysqladmin"
    assert json.loads(out.read_text())["family"] == "appname"


@pytest.mark.e2e
def test_register_refused_and_unreachable(moto: str, tmp_path: Path, cli: Any) -> None:
    from tests.services import free_port

    done = cli(
        "migrate", "ecs", str(SEED_COMPOSE), "--register", "--endpoint-url", f"http://127.0.0.1:{free_port()}",
        env=AWS_ENV,
    )  # fmt: skip
    assert done.returncode == 3
    assert "cannot reach the ECS endpoint" in done.stderr


def test_cli_text_prints_json_and_warnings(cli: Any) -> None:
    done = cli("migrate", "ecs", str(SEED_COMPOSE))
    assert done.returncode == 0, done.stderr
    td = json.loads(done.stdout)
    assert td["family"] == "migrate"  # the compose file's folder name
    assert "warning:" in done.stderr


def test_unsupported_features_are_warnings(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text(
        "name: shop\nservices:\n"
        "  app:\n    build: .\n    env_file: [secrets.env]\n"
        "    ports: ['127.0.0.1:8080:80', '9000-9001:9000-9001',\n"
        "            {target: 53, published: 53, protocol: udp}]\n"
        "    expose: ['80']\n    environment: [A=1, FROM_HOST]\n    command: bundle exec rails s\n"
        "    entrypoint: [/init]\n    working_dir: /app\n    user: app\n    labels: {a: b}\n"
        "    volumes: [data:/data, ./conf:/etc/app:ro, /anon]\n    restart: always\n    x-custom: 1\n"
        "    depends_on: [db]\n    mem_reservation: 64M\n"
        "  db:\n    image: postgres:16\n    mem_limit: 256m\n"
        "    healthcheck: {test: pg_isready, interval: 1s, timeout: 2m, retries: 20, start_interval: 1s}\n"
        "volumes:\n  data: {}\nnetworks:\n  back: {}\n"
    )
    result = make_task_definition(EcsSettings(compose, memory=512, cpu=256))
    td = result.task_definition
    assert td["family"] == "shop"
    assert (td["cpu"], td["memory"]) == ("256", "512")
    app = td["containerDefinitions"][0]
    assert app["image"] == "app:latest"
    assert app["portMappings"] == [
        {"containerPort": 80, "protocol": "tcp", "hostPort": 8080},
        {"containerPort": 53, "protocol": "udp", "hostPort": 53},
    ]
    assert app["environment"] == [{"name": "A", "value": "1"}]
    assert app["command"] == ["bundle", "exec", "rails", "s"]
    assert app["memoryReservation"] == 64
    assert app["dependsOn"] == [{"containerName": "db", "condition": "START"}]
    assert {m["containerPath"]: m["readOnly"] for m in app["mountPoints"]} == {
        "/data": False,
        "/etc/app": True,
    }
    db = td["containerDefinitions"][1]
    assert db["healthCheck"] == {
        "command": ["CMD-SHELL", "pg_isready"],
        "interval": 5,
        "timeout": 60,
        "retries": 10,
    }
    text = "\n".join(result.warnings)
    for expected in (
        "build-only service",
        "env_file secrets.env",
        "cannot bind a host IP",
        "port range",
        "expose has no ECS equivalent",
        "FROM_HOST takes its value from the host",
        "anonymous volume /anon",
        "bind mount ./conf",
        "restart has no ECS equivalent",
        "start_interval",
        "interval 1 outside",
        "top-level networks",
    ):
        assert expected in text, expected
    assert "x-custom" not in text
    assert check_task_definition(td) == []


def test_checks_catch_bad_definitions() -> None:
    td, _ = task_definition(
        {"services": {"a": {"image": "x", "mem_limit": "1m", "cpu_shares": 99999}}},
        EcsSettings(Path("c.yml"), family="bad family!"),
    )
    assert td["family"] == "bad-family-"
    td["family"] = "bad family!"
    td["containerDefinitions"][0]["dependsOn"] = [{"containerName": "ghost", "condition": "READY"}]
    td["containerDefinitions"][0]["portMappings"] = [{"containerPort": 70000, "protocol": "sctp"}]
    td["networkMode"] = "overlay"
    problems = "\n".join(check_task_definition(td))
    for expected in (
        "networkMode: 'overlay'",
        "family 'bad family!'",
        "cpu 99999 outside",
        "memory 1 MiB is below",
        "'sctp' is not one of",
        "containerPort 70000 outside",
        "'READY' is not one of",
        "depends on ghost",
    ):
        assert expected in problems, expected
    td2, _ = task_definition({"services": {"a": {"image": "x"}}}, EcsSettings(Path("c.yml")))
    td2["containerDefinitions"][0]["cpu"] = "lots"
    problems = "\n".join(check_task_definition(td2))
    assert "Invalid type for parameter containerDefinitions[0].cpu" in problems
    assert "needs memory or memoryReservation" in problems


def test_cli_errors(tmp_path: Path, cli: Any) -> None:
    done = cli("migrate", "ecs", str(SEED_V1))
    assert done.returncode == 2
    assert "has no services" in done.stderr
    assert "--upgrade" in done.stderr
    compose = tmp_path / "compose.yaml"
    shutil.copy(SEED_COMPOSE, compose)
    before = compose.read_bytes()
    done = cli("migrate", "ecs", str(compose), "-o", str(compose))
    assert done.returncode == 4
    assert compose.read_bytes() == before
    compose.write_text("services:\n  a:\n    image: x\n")
    done = cli("migrate", "ecs", str(compose), "-o", str(tmp_path / "td.json"))
    assert done.returncode == 2
    assert "needs memory or memoryReservation" in done.stderr
    assert not (tmp_path / "td.json").exists()
    compose.write_text(
        "services:\n  a:\n    image: x\n    mem_limit: 64m\n"
        "    depends_on: {b: {condition: service_healthy}}\n"
        "  b:\n    image: y\n    mem_limit: 64m\n"
    )
    done = cli("migrate", "ecs", str(compose))
    assert done.returncode == 2
    assert "waits for b to be HEALTHY, which has no healthCheck" in done.stderr
    compose.write_text("services:\n  a:\n    image: x\n    healthcheck: {test: [CMD, x], interval: soon}\n")
    with pytest.raises(UsageError, match="not a duration"):
        make_task_definition(EcsSettings(compose, memory=512))
    compose.write_text(
        "services:\n  a:\n    image: x\n    mem_limit: 64m\n  b:\n    image: y\n    mem_limit: 64m\n"
    )
    with pytest.raises(TaskDefinitionError, match="exceeds the task's 100 MiB"):
        make_task_definition(EcsSettings(compose, memory=100))
