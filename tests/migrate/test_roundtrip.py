"""The way back: ``migrate ecs`` → ``migrate compose --from-ecs`` → ``migrate ecs`` gives the same task
definition, for every corpus file, every single mapping (EC2 and Fargate), task definitions in both file
forms (register input, describe output), and through the ECS API on a moto server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from stackrig.errors import StackrigError
from stackrig.migrate import (
    ComposeSettings,
    EcsSettings,
    check_task_definition,
    make_compose,
    make_task_definition,
)
from stackrig.migrate._register import normalize
from tests.migrate.test_compose import compose_spec_parse
from tests.migrate.test_corpus import CORPUS, CURRENT, ENVIRON, EXIT_2, NEEDS_ARN, secret_arns
from tests.migrate.test_ecs_mapping import ROWS, _compose
from tests.services import start_moto_server

ROLE = "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"
DB_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def back_and_forth(td: dict[str, Any], folder: Path, **ecs: Any) -> tuple[dict[str, Any], str]:
    """The compose file --from-ecs writes for ``td``, and the task definition migrate ecs makes of it."""
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "taskdef.json"
    source.write_text(json.dumps(td))
    compose = folder / "compose.yaml"
    make_compose(ComposeSettings(from_ecs=source, output=compose))
    again = make_task_definition(EcsSettings(compose, environ={}, **ecs)).task_definition
    return again, compose.read_text()


@pytest.mark.parametrize("rel", [r for r in CURRENT if r not in EXIT_2 or r in NEEDS_ARN])
def test_corpus_round_trip(rel: str, tmp_path: Path) -> None:
    settings = EcsSettings(CORPUS / rel, environ=ENVIRON, secrets=secret_arns(rel))
    td = make_task_definition(settings).task_definition
    again, text = back_and_forth(td, tmp_path)
    assert again == td
    compose_spec_parse(text)  # a Compose file the Rust compose-spec parser accepts too


@pytest.mark.parametrize("launch_type", ["ec2", "fargate"])
@pytest.mark.parametrize(("body", "_container", "_warnings"), [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_each_mapping_round_trips(
    tmp_path: Path, body: str, _container: Any, _warnings: Any, launch_type: str
) -> None:
    compose = tmp_path / "compose.yaml"
    text = _compose(body)
    if body.startswith("build"):
        text = text.replace("    image: app\n", "")
    compose.write_text(text)
    settings = EcsSettings(compose, environ={}, launch_type=launch_type, execution_role=ROLE)  # type: ignore[arg-type]
    try:
        td = make_task_definition(settings).task_definition
    except StackrigError:
        assert launch_type == "fargate"  # what Fargate forbids has no task definition to go back from
        return
    again, _ = back_and_forth(td, tmp_path / "back")
    assert again == td


def test_secrets_come_back_as_arns_never_values(tmp_path: Path) -> None:
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"
    td = {
        "family": "Shop_App",  # not a compose project name: kept under x-ecs
        "taskRoleArn": "arn:aws:iam::123456789012:role/app",
        "containerDefinitions": [
            {
                "name": "web",
                "image": "web:${TAG}",
                "memoryReservation": 64,
                "secrets": [{"name": "DB_PASSWORD", "valueFrom": arn}],
                "environment": [{"name": "PRICE", "value": "$5"}],
                "firelensConfiguration": {"type": "fluentbit"},
                "dependsOn": [{"containerName": "init", "condition": "COMPLETE"}],
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {"awslogs-group": "g", "awslogs-region": "eu-west-1"},
                },
            },
            {"name": "init", "image": "busybox", "memory": 32, "essential": False},
        ],
        "volumes": [{"name": "efs", "efsVolumeConfiguration": {"fileSystemId": "fs-1"}}],
    }
    again, text = back_and_forth(td, tmp_path)
    doc = yaml.safe_load(text)
    assert doc["secrets"]["DB_PASSWORD"]["x-aws-secret-arn"] == arn
    assert doc["services"]["web"]["secrets"] == [{"source": "DB_PASSWORD", "target": "DB_PASSWORD"}]
    assert doc["services"]["web"]["image"] == "web:$${TAG}"
    assert doc["x-ecs"]["family"] == "Shop_App"
    assert doc["x-ecs"]["taskRoleArn"].endswith(":role/app")
    assert doc["services"]["web"]["x-ecs"]["firelensConfiguration"] == {"type": "fluentbit"}
    assert again["family"] == "Shop_App"
    # The same definition for ECS: only defaults it would fill in itself (essential: true) differ.
    assert normalize(again) == normalize(td)
    assert check_task_definition(again) == []


def test_describe_output_and_bad_inputs(tmp_path: Path, cli: Any) -> None:
    td = make_task_definition(
        EcsSettings(CORPUS / "awesome-compose/wordpress-mysql/compose.yaml", environ=ENVIRON)
    ).task_definition
    described = {
        "taskDefinition": {
            **td,
            "taskDefinitionArn": "arn:aws:ecs:us-east-1:1:task-definition/x:3",
            "revision": 3,
            "status": "ACTIVE",
            "compatibilities": ["EC2"],
            "requiresAttributes": [{"name": "ecs.capability.x"}],
        },
        "tags": [],
    }
    source = tmp_path / "described.json"
    source.write_text(json.dumps(described))
    out = tmp_path / "compose.yaml"
    done = cli("migrate", "compose", "--from-ecs", str(source), "-o", str(out), "--json")
    assert done.returncode == 0, done.stderr
    assert make_task_definition(EcsSettings(out, environ={})).task_definition == td
    for text, message in (("not json", "is not JSON"), ('{"family": "x"}', "is not a task definition")):
        source.write_text(text)
        out.write_text("keep")
        done = cli("migrate", "compose", "--from-ecs", str(source), "-o", str(out))
        assert done.returncode == 2
        assert message in done.stderr
        assert out.read_text() == "keep"
    done = cli("migrate", "compose", "--from-ecs", str(source), "--upgrade", str(out))
    assert done.returncode == 2
    assert "give one of" in done.stderr


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    service, url = start_moto_server(tmp_path_factory.mktemp("moto"))
    try:
        yield url
    finally:
        service.stop()


@pytest.mark.e2e
def test_round_trip_through_the_api(moto: str, cli: Any, tmp_path: Path) -> None:
    source = CORPUS / "awesome-compose/nginx-flask-mysql/compose.yaml"
    done = cli(
        "migrate",
        "ecs",
        str(source),
        "--family",
        "shop",
        "--secret",
        f"db-password={DB_ARN}",
        "--register",
        "--endpoint-url",
        moto,
        "--json",
        env=AWS_ENV,
    )
    assert done.returncode == 0, done.stderr
    assert done.json()["data"]["registered_arn"].endswith(":task-definition/shop:1")
    out = tmp_path / "compose.yaml"
    done = cli("migrate", "compose", "--family", "shop", "--endpoint-url", moto, "-o", str(out), env=AWS_ENV)
    assert done.returncode == 0, done.stderr
    done = cli("migrate", "ecs", str(out), "--register", "--endpoint-url", moto, "--json", env=AWS_ENV)
    assert done.returncode == 0, done.stderr
    data = done.json()["data"]
    assert data["unchanged"] is True
    assert data["registered_arn"] is None
    done = cli(
        "migrate", "compose", "--family", "shop", "--revision", "9", "--endpoint-url", moto, env=AWS_ENV
    )
    assert done.returncode == 2
    assert "no task definition shop:9 in us-east-1" in done.stderr


@pytest.mark.parametrize(
    "rel",
    [
        "awesome-compose/nginx-flask-mysql/compose.yaml",
        "awesome-compose/graylog/compose.yaml",
        "compose-spec-conformance/udp_port/compose.yaml",
    ],
)
def test_round_trip_through_the_cli_is_byte_for_byte(rel: str, tmp_path: Path, cli: Any) -> None:
    first, compose, again = tmp_path / "taskdef.json", tmp_path / "compose.yaml", tmp_path / "again.json"
    secrets = [f"--secret={name}={arn}" for name, arn in secret_arns(rel).items()]
    done = cli("migrate", "ecs", str(CORPUS / rel), *secrets, "-o", str(first), env={"HOME": "/home/user"})
    assert done.returncode == 0, done.stderr
    assert cli("migrate", "compose", "--from-ecs", str(first), "-o", str(compose)).returncode == 0
    assert cli("migrate", "ecs", str(compose), "-o", str(again)).returncode == 0
    assert again.read_bytes() == first.read_bytes()
