"""``migrate ecs``: the seed's compose file → a task definition that moto's RegisterTaskDefinition accepts;
launch types, memory defaults, the checks, and the CLI's errors."""

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
ROLE = "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    service, url = start_moto_server(tmp_path_factory.mktemp("moto"))
    try:
        yield url
    finally:
        service.stop()


def write(tmp_path: Path, text: str, name: str = "compose.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_seed_compose_to_task_definition() -> None:
    result = make_task_definition(EcsSettings(SEED_COMPOSE, family="appname"))
    td = result.task_definition
    assert check_task_definition(td) == []
    web, db = td["containerDefinitions"]
    assert (web["name"], web["image"], web["cpu"], web["memory"]) == ("app_web", "wallnerryan/app", 100, 112)
    assert db["memory"] == 112  # 117964800 bytes = 112.5 MiB, rounded down
    assert web["portMappings"] == [{"containerPort": 3000, "hostPort": 80, "protocol": "tcp"}]
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
    # Everything in the seed's file has an exact ECS form: no warnings, the alias is a recorded change.
    assert result.warnings == ()
    assert any(
        f.key == "networks" and f.status == "changed" and "link aliases" in f.message for f in result.findings
    )
    assert json.loads((EXAMPLES / "taskdef.json").read_text()) == td


@pytest.mark.e2e
def test_register_with_moto(moto: str, cli: Any, tmp_path: Path) -> None:
    out = tmp_path / "taskdef.json"
    done = cli(
        "migrate",
        "ecs",
        str(SEED_COMPOSE),
        "--family",
        "appname",
        "-o",
        str(out),
        "--register",
        "--endpoint-url",
        moto,
        "--json",
        env=AWS_ENV,
    )
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
def test_register_unreachable(tmp_path: Path, cli: Any) -> None:
    from tests.services import free_port

    done = cli(
        "migrate",
        "ecs",
        str(SEED_COMPOSE),
        "--register",
        "--endpoint-url",
        f"http://127.0.0.1:{free_port()}",
        env=AWS_ENV,
    )
    assert done.returncode == 3
    assert "cannot reach the ECS endpoint" in done.stderr


def test_cli_text_prints_json_and_warnings(cli: Any, tmp_path: Path) -> None:
    done = cli("migrate", "ecs", str(SEED_COMPOSE))
    assert done.returncode == 0, done.stderr
    td = json.loads(done.stdout)
    assert td["family"] == "migrate"  # the compose file's folder name
    assert "warning:" not in done.stderr
    compose = write(tmp_path, "services:\n  a:\n    image: x\n    stop_signal: SIGINT\n")
    done = cli("migrate", "ecs", str(compose))
    assert done.returncode == 0, done.stderr
    assert "warning: compose.yaml:4: a: stop_signal: ECS always stops containers with SIGTERM" in done.stderr


def test_default_memory_is_a_soft_limit_with_one_warning(tmp_path: Path, cli: Any) -> None:
    compose = write(
        tmp_path,
        "services:\n  a:\n    image: x\n  b:\n    image: y\n    mem_limit: 64m\n  c:\n    image: z\n",
    )
    result = make_task_definition(EcsSettings(compose))
    a, b, c = result.task_definition["containerDefinitions"]
    assert (a["memoryReservation"], c["memoryReservation"]) == (512, 512)
    assert "memoryReservation" not in b
    assert b["memory"] == 64
    memory_warnings = [w for w in result.warnings if "memoryReservation" in w]
    assert memory_warnings == [
        "mem_limit: no memory set for a, c: each gets a soft limit (memoryReservation) of 512 MiB; "
        "set mem_limit or pass --default-memory"
    ]
    done = cli("migrate", "ecs", str(compose), "--default-memory", "128", "--json")
    assert done.returncode == 0, done.stderr
    containers = done.json()["data"]["task_definition"]["containerDefinitions"]
    assert [c.get("memoryReservation") for c in containers] == [128, None, 128]
    # A task-level --memory covers them: no default, no warning.
    result = make_task_definition(EcsSettings(compose, memory=1024))
    assert not any("memoryReservation" in c for c in result.task_definition["containerDefinitions"])
    assert not any("memoryReservation" in w for w in result.warnings)
    done = cli("migrate", "ecs", str(compose), "--default-memory", "4")
    assert done.returncode == 2
    assert "--default-memory 4 is below Docker's minimum of 6 MiB" in done.stderr


def test_fargate_sizes_and_awsvpc(tmp_path: Path) -> None:
    compose = write(
        tmp_path,
        "services:\n  web:\n    image: nginx\n    ports: ['8080:80', '443:443']\n    mem_limit: 700m\n"
        "    cpus: 0.5\n    depends_on: [api]\n"
        "  api:\n    image: api\n    mem_reservation: 300m\n    cpu_shares: 256\n",
    )
    result = make_task_definition(EcsSettings(compose, launch_type="fargate", execution_role=ROLE))
    td = result.task_definition
    assert td["networkMode"] == "awsvpc"
    assert td["requiresCompatibilities"] == ["FARGATE"]
    # 512 + 256 CPU units and 700 + 300 MiB: the smallest Fargate size covering both is 1024 / 2048.
    assert (td["cpu"], td["memory"]) == ("1024", "2048")
    web = td["containerDefinitions"][0]
    assert web["portMappings"] == [
        {"containerPort": 80, "hostPort": 80, "protocol": "tcp"},
        {"containerPort": 443, "hostPort": 443, "protocol": "tcp"},
    ]
    assert "links" not in web
    text = "\n".join(result.warnings)
    assert "8080:80: in awsvpc mode the container answers on port 80 itself, not 8080" in text
    assert "reach each other on localhost" in text
    assert check_task_definition(td) == []
    settings = EcsSettings(compose, launch_type="fargate", execution_role=ROLE, cpu=2048, memory=4096)
    result = make_task_definition(settings)
    assert (result.task_definition["cpu"], result.task_definition["memory"]) == ("2048", "4096")


@pytest.mark.parametrize(
    ("cpu", "memory", "size"),
    [
        (0, 0, ("256", "512")),
        (256, 512, ("256", "512")),
        (300, 100, ("512", "1024")),
        (1024, 9000, ("2048", "9216")),
        (4096, 30000, ("4096", "30720")),
        (8192, 16384, ("8192", "16384")),
        (10000, 100000, ("16384", "106496")),
    ],
)
def test_fargate_size_table(cpu: int, memory: int, size: tuple[str, str]) -> None:
    from stackrig.migrate._ecs_task import fargate_size

    assert tuple(map(str, fargate_size(cpu, memory))) == size


def test_fargate_refusals(tmp_path: Path, cli: Any) -> None:
    compose = write(
        tmp_path,
        "services:\n  a:\n    image: x\n    privileged: true\n"
        "    volumes: ['/var/run/docker.sock:/var/run/docker.sock']\n"
        "  b:\n    image: y\n    network_mode: host\n",
    )
    out = tmp_path / "td.json"
    out.write_text("keep")
    done = cli(
        "migrate", "ecs", str(compose), "--launch-type", "fargate", "--execution-role", ROLE, "-o", str(out)
    )
    assert done.returncode == 2
    assert "compose.yaml:4: a: privileged: Fargate does not allow privileged containers" in done.stderr
    assert (
        "compose.yaml:5: a: volumes: Fargate does not allow host paths (/var/run/docker.sock)" in done.stderr
    )
    assert "compose.yaml:8: b: network_mode: Fargate does not allow host networking" in done.stderr
    assert out.read_text() == "keep"
    ok = write(tmp_path, "services:\n  a:\n    image: x\n", "ok.yaml")
    fargate = ("--launch-type", "fargate", "--execution-role", ROLE)
    done = cli("migrate", "ecs", str(ok), *fargate, "--cpu", "256", "--memory", "4096")
    assert done.returncode == 2
    assert "--cpu 256 --memory 4096 is not a Fargate size" in done.stderr
    assert "256: 512-2048" in done.stderr
    done = cli("migrate", "ecs", str(ok), "--launch-type", "fargate")
    assert done.returncode == 2
    assert "Fargate needs an execution role (--execution-role ARN)" in done.stderr
    done = cli("migrate", "ecs", str(ok), "--launch-type", "lambda")
    assert done.returncode == 2


def test_checks_catch_bad_definitions() -> None:
    td, _ = task_definition(
        {"services": {"a": {"image": "x", "mem_limit": "1m", "cpu_shares": 99999}}},
        EcsSettings(Path("c.yml"), family="bad family!"),
    )
    assert td["family"] == "bad-family-"
    td["family"] = "bad family!"
    a = td["containerDefinitions"][0]
    a["dependsOn"] = [{"containerName": "ghost", "condition": "READY"}]
    a["portMappings"] = [
        {"containerPort": 70000, "protocol": "sctp"},
        {"containerPortRange": "90-80"},
        {"containerPort": 80, "hostPort": 8080},
        {"containerPort": 80, "hostPort": 8081},
    ]
    a["mountPoints"] = [{"sourceVolume": "nowhere", "containerPath": "relative"}]
    a["volumesFrom"] = [{"sourceContainer": "a"}]
    a["environment"] = [{"name": "X", "value": "1"}]
    a["secrets"] = [{"name": "X", "valueFrom": "arn"}]
    a["memoryReservation"] = 2
    td["volumes"] = [{"name": "bad name", "host": {"sourcePath": "rel/path"}}]
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
        "containerPortRange '90-80' must be LOW-HIGH",
        "memoryReservation 2 MiB exceeds memory 1",
        "containerPort 80/tcp is mapped twice",
        "mounts volume nowhere, which the task does not define",
        "containerPath 'relative' must be absolute",
        "volumesFrom a, which is not another container",
        "variables set twice (environment/secrets): X",
        "volume 'bad name': name must be",
        "host sourcePath rel/path must be absolute",
    ):
        assert expected in problems, expected
    td2, _ = task_definition(
        {"services": {"a": {"image": "x"}, "b": {"image": "y"}}}, EcsSettings(Path("c.yml"))
    )
    td2["containerDefinitions"][0]["cpu"] = "lots"
    td2["containerDefinitions"][0].pop("memoryReservation")
    td2["containerDefinitions"][0]["portMappings"] = [{"containerPort": 80, "hostPort": 80}]
    td2["containerDefinitions"][1]["portMappings"] = [{"containerPort": 81, "hostPort": 80}]
    td2["containerDefinitions"][1]["essential"] = False
    td2["containerDefinitions"][0]["essential"] = False
    problems = "\n".join(check_task_definition(td2))
    assert "Invalid type for parameter containerDefinitions[0].cpu" in problems
    assert "needs memory or memoryReservation" in problems
    assert "host port 80/tcp is published by 2 port mappings" in problems
    assert "at least one container must be essential" in problems
    td2["networkMode"] = "awsvpc"
    td2["requiresCompatibilities"] = ["FARGATE"]
    td2["containerDefinitions"][1]["links"] = ["a"]
    td2["containerDefinitions"][1]["privileged"] = True
    problems = "\n".join(check_task_definition(td2))
    assert "in awsvpc mode hostPort 80 must equal containerPort 81" in problems
    assert "links is not supported in awsvpc network mode" in problems
    assert "Fargate needs a valid task cpu/memory pair, not -/-" in problems
    assert "Fargate does not allow privileged containers" in problems


def test_cli_errors(tmp_path: Path, cli: Any) -> None:
    done = cli("migrate", "ecs", str(SEED_V1))
    assert done.returncode == 2
    assert "it is a version-1 file" in done.stderr
    assert "--upgrade" in done.stderr
    compose = tmp_path / "compose.yaml"
    shutil.copy(SEED_COMPOSE, compose)
    before = compose.read_bytes()
    done = cli("migrate", "ecs", str(compose), "-o", str(compose))
    assert done.returncode == 4
    assert compose.read_bytes() == before
    compose.write_text(
        "services:\n  a:\n    image: x\n    mem_limit: 64m\n    user: '1000'\n"
        "    depends_on: {b: {condition: service_healthy}}\n"
        "  b:\n    image: y\n    mem_limit: 64m\n"
    )
    done = cli("migrate", "ecs", str(compose))
    assert done.returncode == 0, done.stderr
    assert (
        "b has no healthcheck here (ECS cannot see an image's own HEALTHCHECK); waits for it to START"
        in done.stderr
    )
    compose.write_text("services:\n  a:\n    image: x\n    healthcheck: {test: [CMD, x], interval: soon}\n")
    with pytest.raises(UsageError, match="not a duration"):
        make_task_definition(EcsSettings(compose, memory=512))
    compose.write_text(
        "services:\n  a:\n    image: x\n    mem_limit: 64m\n  b:\n    image: y\n    mem_limit: 64m\n"
    )
    with pytest.raises(TaskDefinitionError, match="exceeds the task's 100 MiB"):
        make_task_definition(EcsSettings(compose, memory=100))
    compose.write_text("services: {}\n")
    done = cli("migrate", "ecs", str(compose))
    assert done.returncode == 2
    assert "has no services" in done.stderr
    done = cli("migrate", "ecs", str(compose), "--secret", "no-equals-sign")
    assert done.returncode == 2
    assert "expected NAME=ARN" in done.stderr
    compose.write_text("services:\n  a:\n    image: x\n")
    done = cli("migrate", "ecs", str(compose), "--secret", "ghost=arn:aws:ssm:us-east-1:1:parameter/x")
    assert done.returncode == 2
    assert "--secret ghost: no secret or variable of that name" in done.stderr


def test_default_files_and_override(tmp_path: Path, cli: Any) -> None:
    done = cli("migrate", "ecs", cwd=tmp_path)
    assert done.returncode == 2
    assert "none of compose.yaml, compose.yml, docker-compose.yaml, docker-compose.yml is here" in done.stderr
    write(tmp_path, "services:\n  a:\n    image: x\n    mem_limit: 64m\n")
    write(tmp_path, "services:\n  a:\n    image: x:2\n", "compose.override.yaml")
    done = cli("migrate", "ecs", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.json()["data"]["task_definition"]["containerDefinitions"][0]["image"] == "x:2"


@pytest.mark.e2e
def test_register_only_what_changed(moto: str, cli: Any, tmp_path: Path) -> None:
    compose = write(tmp_path, "services:\n  web:\n    image: nginx:1.25\n    mem_limit: 64m\n")
    args = (
        "migrate",
        "ecs",
        str(compose),
        "--family",
        "changes",
        "--register",
        "--endpoint-url",
        moto,
        "--json",
    )
    first = cli(*args, env=AWS_ENV)
    assert first.returncode == 0, first.stderr
    data = first.json()["data"]
    assert data["registered_arn"].endswith("task-definition/changes:1")
    assert data["previous_arn"] is None
    assert data["diff"][0] == "--- /dev/null"
    again = cli(*args, env=AWS_ENV)
    assert again.returncode == 0, again.stderr
    data = again.json()["data"]
    assert (data["unchanged"], data["registered_arn"], data["diff"]) == (True, None, [])
    assert data["previous_arn"].endswith("task-definition/changes:1")
    text = cli(*args[:-1], env=AWS_ENV)
    assert "unchanged: arn:aws:ecs:us-east-1:" in text.stdout
    assert "changes:1 is the same; nothing registered" in text.stdout
    compose.write_text("services:\n  web:\n    image: nginx:1.27\n    mem_limit: 64m\n")
    dry = cli(
        "migrate",
        "ecs",
        str(compose),
        "--family",
        "changes",
        "--endpoint-url",
        moto,
        "--dry-run",
        env=AWS_ENV,
    )
    assert dry.returncode == 0, dry.stderr
    assert '-      "image": "nginx:1.25",' in dry.stdout
    assert '+      "image": "nginx:1.27",' in dry.stdout
    assert "dry run: nothing registered" in dry.stdout
    changed = cli(*args, env=AWS_ENV)
    data = changed.json()["data"]
    assert data["registered_arn"].endswith("task-definition/changes:2")
    assert any(line.startswith("+") and "nginx:1.27" in line for line in data["diff"])


def test_image_prefix_for_build_only_services(tmp_path: Path, cli: Any) -> None:
    compose = write(
        tmp_path,
        "services:\n  api:\n"
        "    build: {context: ./api, dockerfile: Dockerfile.prod, target: runtime, args: [V=1]}\n"
        "  web:\n    build: ./web\n  db:\n    image: postgres\n",
    )
    prefix = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/"
    done = cli("migrate", "ecs", str(compose), "--image-prefix", prefix, "--json")
    assert done.returncode == 0, done.stderr
    data = done.json()
    images = [c["image"] for c in data["data"]["task_definition"]["containerDefinitions"]]
    assert images == [f"{prefix}api:latest", f"{prefix}web:latest", "postgres"]
    assert data["data"]["builds"] == [
        {
            "service": "api",
            "image": f"{prefix}api:latest",
            "context": str((tmp_path / "api").resolve()),
            "dockerfile": "Dockerfile.prod",
            "target": "runtime",
            "args": {"V": "1"},
        },
        {"service": "web", "image": f"{prefix}web:latest", "context": str((tmp_path / "web").resolve())},
    ]
    assert not any("build-only" in w for w in data["warnings"])
    done = cli("migrate", "ecs", str(compose), "--image-prefix", prefix)
    assert f"build: docker build -t {prefix}api:latest -f" in done.stderr
    assert json.loads(done.stdout)["family"]  # stdout holds the task definition alone
    done = cli("migrate", "ecs", str(compose))
    assert "build-only service: ECS does not build" in done.stderr
