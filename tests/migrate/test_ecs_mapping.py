"""Every mapping ``migrate ecs`` makes, one compose key at a time, each result checked with botocore's model.

Each row: a service written in compose, what its container definition must hold, and the warnings it
must give. A row without expected warnings must give none: warnings are only for what ECS truly cannot
express.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from stackrig.errors import UsageError
from stackrig.migrate import EcsSettings, check_task_definition, make_task_definition

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"

ROWS: list[tuple[str, str, dict[str, Any], list[str]]] = [
    ("image", "image: nginx:1.27", {"image": "nginx:1.27", "essential": True}, []),
    # a placeholder that can never pull a public image (here Docker Hub's "web")
    (
        "build-only",
        "build: ./app",
        {"essential": True},
        ["build-only service", "placeholder build-required.invalid/"],
    ),
    ("cpu_shares", "cpu_shares: 512", {"cpu": 512}, []),
    ("cpus", "cpus: 1.5", {"cpu": 1536}, []),
    (
        "deploy limits",
        "deploy: {resources: {limits: {cpus: '0.25', memory: 256M}, reservations: {memory: 128M}}}",
        {"cpu": 256, "memory": 256, "memoryReservation": 128},
        [],
    ),
    (
        "deploy service-level",
        "deploy: {replicas: 3}",
        {},
        ["deploy.replicas: the number of copies is the ECS service"],
    ),
    ("mem_limit", "mem_limit: 117964800", {"memory": 112}, []),
    ("mem_reservation", "mem_reservation: 64m", {"memoryReservation": 64}, []),
    (
        "memswap",
        "mem_limit: 256m\n    memswap_limit: 512m\n    mem_swappiness: 10",
        {"memory": 256, "linuxParameters": {"maxSwap": 256, "swappiness": 10}},
        [],
    ),
    (
        "gpus",
        "gpus: [{driver: nvidia, count: 2}]",
        {"resourceRequirements": [{"type": "GPU", "value": "2"}]},
        [],
    ),
    ("gpus all", "gpus: all", {}, ["ECS needs a number of GPUs, not 'all'"]),
    (
        "ports",
        "ports: ['8080:80', '53:53/udp', '9000', {target: 443, published: 8443, protocol: tcp}]",
        {
            "portMappings": [
                {"containerPort": 80, "hostPort": 8080, "protocol": "tcp"},
                {"containerPort": 53, "hostPort": 53, "protocol": "udp"},
                {"containerPort": 9000, "protocol": "tcp"},
                {"containerPort": 443, "hostPort": 8443, "protocol": "tcp"},
            ]
        },
        [],
    ),
    (
        "port range",
        "ports: ['7000-7010']",
        {"portMappings": [{"containerPortRange": "7000-7010", "protocol": "tcp"}]},
        [],
    ),
    (
        "port range published",
        "ports: ['9000-9001:9000-9001']",
        {"portMappings": [{"containerPortRange": "9000-9001", "protocol": "tcp"}]},
        ["ECS picks the host ports"],
    ),
    (
        "port host ip",
        "ports: ['127.0.0.1:8080:80']",
        {"portMappings": [{"containerPort": 80, "hostPort": 8080, "protocol": "tcp"}]},
        ["ECS binds every address, not only 127.0.0.1"],
    ),
    ("port sctp", "ports: ['5000:5000/sctp']", {}, ["ECS maps only tcp and udp"]),
    (
        "port app protocol",
        "ports: [{target: 80, name: web, app_protocol: http}]",
        {"portMappings": [{"containerPort": 80, "protocol": "tcp", "name": "web", "appProtocol": "http"}]},
        [],
    ),
    ("expose", "expose: ['80']", {}, []),
    (
        "environment",
        "environment: {B: '2', A: 1, C: true, EMPTY: ''}",
        {
            "environment": [
                {"name": "A", "value": "1"},
                {"name": "B", "value": "2"},
                {"name": "C", "value": "true"},
                {"name": "EMPTY", "value": ""},
            ]
        },
        [],
    ),
    (
        "environment from host",
        "environment: [NOT_SET_ANYWHERE]",
        {},
        ["NOT_SET_ANYWHERE: takes its value from the shell"],
    ),
    (
        "command string",
        "command: bundle exec rails s -b '0.0.0.0'",
        {"command": ["bundle", "exec", "rails", "s", "-b", "0.0.0.0"]},  # noqa: S104 - a command, not a bind
        [],
    ),
    ("entrypoint list", "entrypoint: [/init, --verbose]", {"entryPoint": ["/init", "--verbose"]}, []),
    (
        "user and working_dir",
        "user: '1000:1000'\n    working_dir: /app",
        {"user": "1000:1000", "workingDirectory": "/app"},
        [],
    ),
    ("hostname", "hostname: web.local", {"hostname": "web.local"}, []),
    ("domainname", "domainname: example.com", {}, ["domainname: ECS sets no NIS domain name"]),
    (
        "privileged read_only tty stdin_open",
        "privileged: true\n    read_only: true\n    tty: true\n    stdin_open: true",
        {"privileged": True, "readonlyRootFilesystem": True, "pseudoTerminal": True, "interactive": True},
        [],
    ),
    ("labels", "labels: ['a=1', b]", {"dockerLabels": {"a": "1", "b": ""}}, []),
    ("stop_grace_period", "stop_grace_period: 1m30s", {"stopTimeout": 90}, []),
    ("stop_signal", "stop_signal: SIGINT", {}, ["stop_signal: ECS always stops containers with SIGTERM"]),
    (
        "healthcheck CMD",
        "healthcheck: {test: [CMD, curl, -f, localhost], interval: 10s, timeout: 2s, retries: 4, "
        "start_period: 1m}",
        {
            "healthCheck": {
                "command": ["CMD", "curl", "-f", "localhost"],
                "interval": 10,
                "timeout": 2,
                "retries": 4,
                "startPeriod": 60,
            }
        },
        [],
    ),
    (
        "healthcheck string",
        "healthcheck: {test: 'curl -f localhost || exit 1'}",
        {
            "healthCheck": {
                "command": ["CMD-SHELL", "curl -f localhost || exit 1"],
                "interval": 30,
                "timeout": 30,
                "retries": 3,
            }
        },
        [],
    ),
    (
        "healthcheck CMD-SHELL with $$",
        "healthcheck: {test: [CMD-SHELL, 'test $$HOME']}",
        {
            "healthCheck": {
                "command": ["CMD-SHELL", "test $HOME"],
                "interval": 30,
                "timeout": 30,
                "retries": 3,
            }
        },
        [],
    ),
    (
        "healthcheck clamped",
        "healthcheck: {test: [CMD, x], interval: 1s, start_period: 2s, start_interval: 1s}",
        {
            "healthCheck": {
                "command": ["CMD", "x"],
                "interval": 5,
                "timeout": 30,
                "retries": 3,
                "startPeriod": 2,
            }
        },
        ["interval: 1 is outside ECS's 5-300; set to 5", "ECS has no start interval"],
    ),
    ("healthcheck disabled", "healthcheck: {disable: true}", {}, []),
    ("command empty", 'command: ""', {}, []),  # the image's CMD runs (round-trips with no command key)
    ("healthcheck NONE", "healthcheck: {test: [NONE]}", {}, []),
    (
        "ulimits",
        "ulimits: {nofile: {soft: 1024, hard: 2048}, nproc: 512}",
        {
            "ulimits": [
                {"name": "nofile", "softLimit": 1024, "hardLimit": 2048},
                {"name": "nproc", "softLimit": 512, "hardLimit": 512},
            ]
        },
        [],
    ),
    ("ulimit unknown", "ulimits: {wat: 1}", {}, ["ulimits.wat: not a ulimit ECS knows"]),
    (
        "capabilities",
        "cap_add: [NET_ADMIN, CAP_SYS_TIME]\n    cap_drop: [ALL]",
        {"linuxParameters": {"capabilities": {"add": ["NET_ADMIN", "SYS_TIME"], "drop": ["ALL"]}}},
        [],
    ),
    ("init", "init: true", {"linuxParameters": {"initProcessEnabled": True}}, []),
    (
        "tmpfs",
        "mem_limit: 128m\n    tmpfs: ['/run:size=64m,noexec', /tmp]",
        {
            "linuxParameters": {
                "tmpfs": [
                    {"containerPath": "/run", "size": 64, "mountOptions": ["noexec"]},
                    {"containerPath": "/tmp", "size": 128},
                ]
            }
        },
        [],
    ),
    ("shm_size", "shm_size: 256m", {"linuxParameters": {"sharedMemorySize": 256}}, []),
    (
        "sysctls",
        "sysctls: {net.core.somaxconn: 1024}",
        {"systemControls": [{"namespace": "net.core.somaxconn", "value": "1024"}]},
        [],
    ),
    (
        "devices",
        "devices: ['/dev/fuse:/dev/fuse:rw', {source: /dev/sda, target: /dev/xvda, permissions: r}]",
        {
            "linuxParameters": {
                "devices": [
                    {"hostPath": "/dev/fuse", "containerPath": "/dev/fuse", "permissions": ["read", "write"]},
                    {"hostPath": "/dev/sda", "containerPath": "/dev/xvda", "permissions": ["read"]},
                ]
            }
        },
        [],
    ),
    (
        "security_opt",
        "security_opt: ['no-new-privileges:true', 'apparmor=custom', 'seccomp:unconfined']",
        {"dockerSecurityOptions": ["no-new-privileges", "apparmor:custom"]},
        ["seccomp:unconfined is not a security"],
    ),
    (
        "extra_hosts",
        "extra_hosts: ['db.local:10.0.0.5', 'other=10.0.0.6', 'gw:host-gateway']",
        {
            "extraHosts": [
                {"hostname": "db.local", "ipAddress": "10.0.0.5"},
                {"hostname": "other", "ipAddress": "10.0.0.6"},
            ]
        },
        ["gw: host-gateway is not an IP address"],
    ),
    (
        "dns",
        "dns: 8.8.8.8\n    dns_search: [corp.local]\n    dns_opt: [use-vc]",
        {"dnsServers": ["8.8.8.8"], "dnsSearchDomains": ["corp.local"]},
        ["dns_opt: ECS has no resolver options"],
    ),
    (
        "logging syslog",
        "logging: {driver: syslog, options: {tag: web, syslog-address: 'udp://1.2.3.4:514'}}",
        {
            "logConfiguration": {
                "logDriver": "syslog",
                "options": {"tag": "web", "syslog-address": "udp://1.2.3.4:514"},
            }
        },
        [],
    ),
    ("logging gelf", "logging: {driver: gelf}", {"logConfiguration": {"logDriver": "gelf"}}, []),
    (
        "logging json-file",
        "logging: {options: {max-size: 10m}}",
        {"logConfiguration": {"logDriver": "json-file", "options": {"max-size": "10m"}}},
        [],
    ),
    (
        "logging splunk",
        "logging: {driver: splunk, options: {splunk-url: 'https://s:8088'}}",
        {"logConfiguration": {"logDriver": "splunk", "options": {"splunk-url": "https://s:8088"}}},
        [],
    ),
    (
        "logging journald",
        "logging: {driver: journald, options: {tag: web}}",
        {"logConfiguration": {"logDriver": "journald", "options": {"tag": "web"}}},
        [],
    ),
    (
        "logging fluentd",
        "logging: {driver: fluentd, options: {fluentd-address: 'localhost:24224', tag: app}}",
        {
            "logConfiguration": {
                "logDriver": "fluentd",
                "options": {"fluentd-address": "localhost:24224", "tag": "app"},
            }
        },
        [],
    ),
    (
        "logging awslogs with options",
        "logging: {driver: awslogs, options: {awslogs-group: /shop/web, awslogs-region: eu-west-1, "
        "awslogs-stream-prefix: web}}",
        {
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": "/shop/web",
                    "awslogs-region": "eu-west-1",
                    "awslogs-stream-prefix": "web",
                },
            }
        },
        [],
    ),
    (
        "logging not set: awslogs",
        "image: app",
        {"logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-stream-prefix": "web"}}},
        [],
    ),
    (
        "logging unknown",
        "logging: {driver: local}",
        {"logConfiguration": {"logDriver": "awslogs"}},
        ["ECS has no local log driver; logs go to awslogs"],
    ),
    ("restart always", "restart: always", {"restartPolicy": {"enabled": True}}, []),
    (
        "restart on-failure",
        "restart: on-failure:3",
        {"restartPolicy": {"enabled": True, "ignoredExitCodes": [0]}},
        ["ECS restart policies have no attempt limit (on-failure:3)"],
    ),
    ("restart no", "restart: 'no'", {}, []),
    (
        "deploy restart_policy",
        "deploy: {restart_policy: {condition: on-failure, window: 2m}}",
        {"restartPolicy": {"enabled": True, "restartAttemptPeriod": 120, "ignoredExitCodes": [0]}},
        [],
    ),
    ("platform", "platform: linux/arm64", {}, []),
    ("pid and ipc", "pid: host\n    ipc: shareable", {}, []),
    ("container_name", "container_name: the-web", {}, []),
    ("unknown key", "pids_limit: 100", {}, ["pids_limit: ECS has no PID limit; left out"]),
    ("extension", "x-anything: {a: 1}", {}, []),
]


def _compose(body: str, extra: str = "") -> str:
    defaults = "".join(
        f"    {line}\n"
        for line in ("image: app", "mem_limit: 512m")
        if line.split(":")[0] not in body and not (line.startswith("mem_limit") and "memory" in body)
    )
    return f"services:\n  web:\n{defaults}    {body}\n{extra}"


def _subset(expected: Any, actual: Any, where: str = "") -> None:
    if isinstance(expected, dict):
        assert isinstance(actual, dict), where
        for key, value in expected.items():
            assert key in actual, f"{where}.{key} missing in {actual}"
            _subset(value, actual[key], f"{where}.{key}")
    else:
        assert expected == actual, f"{where}: {expected!r} != {actual!r}"


@pytest.mark.parametrize(("body", "container", "warnings"), [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_mapping(tmp_path: Path, body: str, container: dict[str, Any], warnings: list[str]) -> None:
    compose = tmp_path / "compose.yaml"
    text = _compose(body)
    if body.startswith("build"):
        text = text.replace("    image: app\n", "")
    compose.write_text(text)
    result = make_task_definition(EcsSettings(compose, environ={}))
    td = result.task_definition
    assert check_task_definition(td) == []
    _subset(container, td["containerDefinitions"][0], "container")
    for expected in warnings:
        assert any(expected in w for w in result.warnings), (expected, result.warnings)
    if not warnings:
        assert result.warnings == (), result.warnings


def test_task_level_mappings(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text(
        _compose(
            "platform: linux/arm64\n    pid: host\n    ipc: shareable\n    network_mode: host\n"
            "    volumes: [data:/data, /logs, ./conf:/etc/app:ro]",
            "volumes:\n  data: {driver: local, driver_opts: {type: tmpfs, device: tmpfs},\n"
            "    labels: [team=a]}\n",
        )
    )
    result = make_task_definition(EcsSettings(compose, environ={}))
    td = result.task_definition
    assert td["runtimePlatform"] == {"operatingSystemFamily": "LINUX", "cpuArchitecture": "ARM64"}
    assert (td["pidMode"], td["ipcMode"], td["networkMode"]) == ("host", "task", "host")
    assert td["volumes"] == [
        {
            "name": "data",
            "dockerVolumeConfiguration": {
                "scope": "shared",
                "autoprovision": True,
                "driver": "local",
                "driverOpts": {"type": "tmpfs", "device": "tmpfs"},
                "labels": {"team": "a"},
            },
        },
        {"name": "web-logs"},
        {"name": "conf", "host": {"sourcePath": str((tmp_path / "conf").resolve())}},
    ]
    assert td["containerDefinitions"][0]["mountPoints"] == [
        {"sourceVolume": "data", "containerPath": "/data", "readOnly": False},
        {"sourceVolume": "web-logs", "containerPath": "/logs", "readOnly": False},
        {"sourceVolume": "conf", "containerPath": "/etc/app", "readOnly": True},
    ]
    assert result.warnings == (
        "compose.yaml:9: web: volumes: bind mount ./conf becomes the host path "
        f"{(tmp_path / 'conf').resolve()}: "
        "those files must be on every container instance",
    )
    assert check_task_definition(td) == []


def test_dependencies_links_and_essential(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text(
        "services:\n"
        "  web:\n    image: web\n    links: ['db:database']\n"
        "    volumes_from: ['data:ro', 'container:other']\n"
        "    depends_on:\n      db: {condition: service_healthy}\n"
        "      migrate: {condition: service_completed_successfully}\n"
        "      data: {condition: service_started}\n"
        "  db:\n    image: postgres\n    container_name: pg\n    networks: {default: {aliases: [sql]}}\n"
        "    healthcheck: {test: [CMD, pg_isready]}\n"
        "  migrate:\n    image: web\n    command: rake db:migrate\n"
        "  data:\n    image: busybox\n    volumes: [/shared]\n"
    )
    result = make_task_definition(EcsSettings(compose, environ={}, default_memory=64))
    web, db, migrate, data = result.task_definition["containerDefinitions"]
    assert web["dependsOn"] == [
        {"containerName": "db", "condition": "HEALTHY"},
        {"containerName": "migrate", "condition": "SUCCESS"},
        {"containerName": "data", "condition": "START"},
    ]
    assert web["links"] == ["data", "db", "db:database", "db:pg", "db:sql", "migrate"]
    assert web["volumesFrom"] == [{"sourceContainer": "data", "readOnly": True}]
    assert migrate["essential"] is False
    assert (web["essential"], db["essential"], data["essential"]) == (True, True, True)
    assert [w.split(": ", 3)[-1] for w in result.warnings if "volumes_from" in w] == [
        "container:other: ECS shares volumes only between containers of the task"
    ]
    assert check_task_definition(result.task_definition) == []


def test_secrets_and_env_files(tmp_path: Path) -> None:
    (tmp_path / "app.env").write_text("LOG_LEVEL=debug\nAPI_TOKEN=tok-123456\n")
    compose = tmp_path / "compose.yaml"
    compose.write_text(
        "services:\n  web:\n    image: web\n    mem_limit: 64m\n"
        "    env_file: [app.env, 'arn:aws:s3:::bucket/web.env']\n"
        "    environment: [DB_PASSWORD_FILE=/run/secrets/db, PLAIN=1]\n"
        "    secrets: [db, {source: api, target: api_key}, ext]\n"
        "secrets:\n  db: {file: ./db.txt, x-aws-secret-arn: " + ARN + "}\n  api: {environment: API_TOKEN}\n"
        "  ext: {external: true, name: 'arn:aws:ssm:us-east-1:123456789012:parameter/ext'}\n"
    )
    # compose secret api has no ARN: under --require-secret-arns a USAGE error naming it
    # (see tests/migrate/test_secrets.py) ...
    strict = EcsSettings(compose, environ={}, family="shop", require_secret_arns=True)
    with pytest.raises(UsageError, match=r"compose secret api \(used by web at compose.yaml:7\) has no ARN"):
        make_task_definition(strict)
    # ... else the SSM parameter /FAMILY/NAME, with a warning
    result = make_task_definition(EcsSettings(compose, environ={}, family="shop"))
    web = result.task_definition["containerDefinitions"][0]
    assert web["environmentFiles"] == [{"value": "arn:aws:s3:::bucket/web.env", "type": "s3"}]
    assert web["environment"] == [{"name": "LOG_LEVEL", "value": "debug"}, {"name": "PLAIN", "value": "1"}]
    assert web["secrets"] == [
        {"name": "API_TOKEN", "valueFrom": "/shop/API_TOKEN"},
        {"name": "DB_PASSWORD", "valueFrom": ARN},
        {"name": "EXT", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/ext"},
        {"name": "api_key", "valueFrom": "/shop/api"},  # an explicit target that is a variable name: as is
    ]
    text = "\n".join(result.warnings)
    assert "no ARN for API_TOKEN (env_file app.env), api (compose secret api)" in text
    assert "ECS cannot mount secret api as /run/secrets/api_key" in text
    assert "tok-123456" not in result.content
    # --secret names the ARN: then nothing is left to warn about for that secret.
    result = make_task_definition(
        EcsSettings(compose, environ={}, family="shop", secrets={"api": ARN, "API_TOKEN": ARN})
    )
    assert not any("no ARN" in w for w in result.warnings)
    assert check_task_definition(result.task_definition) == []


def test_build_only_placeholder_never_names_a_public_image(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text("services:\n  nginx:\n    build: ./nginx-build\n  Api:\n    build: {context: api}\n")
    result = make_task_definition(EcsSettings(compose, environ={}, family="shop"))
    images = [c["image"] for c in result.task_definition["containerDefinitions"]]
    # not nginx:latest, which Docker Hub would serve in place of the service's own build
    assert images == ["build-required.invalid/shop/nginx:latest", "build-required.invalid/shop/api:latest"]
    assert sum("build-only service" in w for w in result.warnings) == 2
    assert check_task_definition(result.task_definition) == []


def test_provider_services_are_left_out(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text(
        "services:\n  app:\n    image: app\n    mem_limit: 64m\n    depends_on: [model]\n    links: [model]\n"
        "  model:\n    provider:\n      type: model\n      options: {model: ai/smollm2}\n"
    )
    result = make_task_definition(EcsSettings(compose, environ={}))
    (app,) = result.task_definition["containerDefinitions"]
    assert app["name"] == "app"
    assert "dependsOn" not in app
    assert "links" not in app
    text = "\n".join(result.warnings)
    assert "compose.yaml:8: model: provider: a provider service: Compose runs its provider plugin" in text
    assert "app: depends_on: model is not in the task (a provider service: " in text
    assert check_task_definition(result.task_definition) == []
    compose.write_text("services:\n  model:\n    provider: {type: model}\n")
    with pytest.raises(UsageError, match="has no service that runs a container"):
        make_task_definition(EcsSettings(compose, environ={}))


def test_services_with_no_replicas_are_left_out(tmp_path: Path) -> None:
    # as docker/compose's pkg/e2e/fixtures/scale: `up` creates no container for them
    compose = tmp_path / "compose.yaml"
    compose.write_text(
        "services:\n  app:\n    image: app\n    mem_limit: 64m\n    depends_on: [admin]\n"
        "    volumes_from: [data]\n"
        "  admin:\n    image: admin\n    deploy:\n      replicas: 0\n"
        "  data:\n    image: data\n    scale: 0\n"
    )
    result = make_task_definition(EcsSettings(compose, environ={}))
    (app,) = result.task_definition["containerDefinitions"]
    assert "dependsOn" not in app
    assert "volumesFrom" not in app
    text = "\n".join(result.warnings)
    assert (
        "compose.yaml:10: admin: deploy.replicas: deploy.replicas is 0: Compose starts no container" in text
    )
    assert "compose.yaml:13: data: scale: scale is 0: Compose starts no container for it; left out" in text
    assert "app: volumes_from: data is not in the task (scale is 0" in text
    assert check_task_definition(result.task_definition) == []


def test_a_file_with_no_services_says_so(tmp_path: Path, cli: Any) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text("volumes:\n  data: {}\nnetworks:\n  back: {}\n")  # current format, no services
    done = cli("migrate", "ecs", str(compose))
    assert done.returncode == 2
    assert "has no services (only volumes, networks): a task definition needs at least one container" in (
        done.stderr
    )
    assert "version-1" not in done.stderr


def test_included_services_read_their_env_files_with_the_include_variables(tmp_path: Path) -> None:
    # as docker/compose's pkg/e2e/fixtures/include-envfile-interpolation: include's env_file feeds ${VAR?}
    (tmp_path / "sub").mkdir()
    (tmp_path / "values.env").write_text("VAR=1\n")
    (tmp_path / "sub" / "sub.env").write_text("MYVAR=${VAR?}\nPLAIN=x\n")
    (tmp_path / "sub" / "compose.yaml").write_text(
        "services:\n  app:\n    image: alpine\n    mem_limit: 64m\n    env_file: sub.env\n"
        "    environment: [VAR]\n"
    )
    compose = tmp_path / "compose.yaml"
    compose.write_text("include:\n  - path: sub/compose.yaml\n    env_file: [values.env]\n")
    result = make_task_definition(EcsSettings(compose, environ={}))
    (app,) = result.task_definition["containerDefinitions"]
    assert app["environment"] == [
        {"name": "MYVAR", "value": "1"},
        {"name": "PLAIN", "value": "x"},
        {"name": "VAR", "value": "1"},
    ]
