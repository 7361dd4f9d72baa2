"""Secrets stay secret: values planted in .env, in an env_file and in the environment never appear in any
output of ``migrate ecs`` or ``migrate compose --upgrade`` (stdout, stderr, JSON, written files, errors)."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

DOTENV_SECRET = "Pl4nted-dotenv-S3cret"
ENVFILE_SECRET = "Pl4nted-envfile-S3cret"
ENVIRON_SECRET = "Pl4nted-environ-S3cret"
PLANTED = (DOTENV_SECRET, ENVFILE_SECRET, ENVIRON_SECRET)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / ".env").write_text(f"DB_PASSWORD={DOTENV_SECRET}\nTAG=1.0\n")
    (tmp_path / "app.env").write_text(f"STRIPE_SECRET_KEY={ENVFILE_SECRET}\nLOG_LEVEL=info\n")
    compose = tmp_path / "compose.yaml"
    compose.write_text(
        "services:\n  app:\n    image: 'app:${TAG}'\n    mem_limit: 128m\n    env_file: [app.env]\n"
        "    environment:\n      DB_PASSWORD: ${DB_PASSWORD}\n      DATABASE_URL: 'postgres://app:${DB_PASSWORD}@db/app'\n"
        "      GITHUB_TOKEN:\n      PLAIN: visible\n"
        "    command: ['serve', '--token=${GITHUB_TOKEN}']\n"
        "    healthcheck: {test: 'pg_isready --password ${DB_PASSWORD}'}\n    depends_on: [db]\n"
        "  db:\n    image: postgres\n    mem_limit: 128m\n"
        "    environment: {POSTGRES_PASSWORD: '${DB_PASSWORD}'}\n"
    )
    return compose


def _no_secret(*texts: str) -> None:
    for text in texts:
        for secret in PLANTED:
            assert secret not in text, f"{secret} leaked"


def test_no_output_holds_a_planted_secret(project: Path, cli: Any, tmp_path: Path) -> None:
    env = {"GITHUB_TOKEN": ENVIRON_SECRET}
    out = tmp_path / "taskdef.json"
    runs = [
        cli("migrate", "ecs", str(project), env=env),
        cli("migrate", "ecs", str(project), "--json", env=env),
        cli("migrate", "ecs", str(project), "-o", str(out), env=env),
        cli(
            "migrate",
            "ecs",
            str(project),
            "--launch-type",
            "fargate",
            "--execution-role",
            "arn:aws:iam::1:role/x",
            "--json",
            env=env,
        ),
        cli("migrate", "compose", "--upgrade", str(project), env=env),
        cli("migrate", "compose", "--upgrade", str(project), "--json", env=env),
        cli("migrate", "compose", "--upgrade", str(project), "-o", str(tmp_path / "sub" / "c.yaml"), env=env),
    ]
    (tmp_path / "sub").mkdir()
    runs.append(
        cli("migrate", "compose", "--upgrade", str(project), "-o", str(tmp_path / "sub" / "c.yaml"), env=env)
    )
    for done in runs[:4] + runs[4:6] + runs[7:]:
        assert done.returncode == 0, done.stderr
    for done in runs:
        _no_secret(done.stdout, done.stderr)
    _no_secret(out.read_text(), (tmp_path / "sub" / "c.yaml").read_text())
    td = json.loads(out.read_text())
    app = td["containerDefinitions"][0]
    assert [s["name"] for s in app["secrets"]] == [
        "DATABASE_URL",
        "DB_PASSWORD",
        "GITHUB_TOKEN",
        "STRIPE_SECRET_KEY",
    ]
    assert all(
        s["valueFrom"].startswith("/compose-") or s["valueFrom"].startswith("/") for s in app["secrets"]
    )
    assert app["environment"] == [
        {"name": "LOG_LEVEL", "value": "info"},
        {"name": "PLAIN", "value": "visible"},
    ]
    assert app["command"] == ["serve", "--token=${GITHUB_TOKEN}"]
    assert app["healthCheck"]["command"] == ["CMD-SHELL", "pg_isready --password ${DB_PASSWORD}"]
    db = td["containerDefinitions"][1]
    assert db["secrets"] == [{"name": "POSTGRES_PASSWORD", "valueFrom": f"/{td['family']}/POSTGRES_PASSWORD"}]
    warnings = runs[0].stderr
    assert "no ARN for" in warnings
    assert "DB_PASSWORD (${DB_PASSWORD} from .env)" in warnings
    assert "command: held the value of GITHUB_TOKEN" in warnings


def test_errors_do_not_show_secrets(project: Path, cli: Any) -> None:
    project.write_text(project.read_text().replace("mem_limit: 128m", "mem_limit: ${DB_PASSWORD}", 1))
    done = cli("migrate", "ecs", str(project), env={"GITHUB_TOKEN": ENVIRON_SECRET})
    assert done.returncode == 2
    assert "is not a size" in done.stderr
    _no_secret(done.stdout, done.stderr)
    project.write_text("services:\n  app:\n    image: x\n    ports: ['${DB_PASSWORD}']\n")
    for args in (("migrate", "ecs", str(project)), ("migrate", "compose", "--upgrade", str(project))):
        done = cli(*args, "--json")
        assert done.returncode == 2
        _no_secret(done.stdout, done.stderr)


def test_a_file_holding_literal_secrets_is_written_0600(tmp_path: Path, cli: Any) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text(
        "services:\n  db:\n    image: mysql\n    environment: {MYSQL_ROOT_PASSWORD: literal-pw}\n"
    )
    out = tmp_path / "td.json"
    done = cli("migrate", "ecs", str(compose), "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    upgraded = tmp_path / "new.yaml"
    done = cli("migrate", "compose", "--upgrade", str(compose), "-o", str(upgraded))
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(upgraded.stat().st_mode) == 0o600
    plain = tmp_path / "plain.yaml"
    plain.write_text("services:\n  web:\n    image: nginx\n")
    out2 = tmp_path / "td2.json"
    assert cli("migrate", "ecs", str(plain), "-o", str(out2)).returncode == 0
    assert stat.S_IMODE(out2.stat().st_mode) != 0o600


DB_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"
API_ARN = "arn:aws:ssm:us-east-1:123456789012:parameter/shop/api-key"


def _compose_secrets(tmp_path: Path) -> Path:
    (tmp_path / "db-password.txt").write_text(f"{DOTENV_SECRET}\n")
    compose = tmp_path / "compose.yaml"
    compose.write_text(
        "services:\n  db:\n    image: postgres\n    mem_limit: 256m\n"
        "    environment: {POSTGRES_PASSWORD_FILE: /run/secrets/db-password}\n"
        "    secrets: [db-password]\n"
        "  app:\n    image: app\n    mem_limit: 64m\n    secrets:\n"
        "      - source: db-password\n        target: DB_PASSWORD\n      - api-key\n"
        "secrets:\n  db-password: {file: db-password.txt}\n  api-key: {environment: API_KEY}\n"
    )
    return compose


def test_compose_secrets_without_an_arn_are_a_usage_error_when_required(tmp_path: Path, cli: Any) -> None:
    compose = _compose_secrets(tmp_path)
    out = tmp_path / "taskdef.json"
    out.write_text('{"kept": true}\n')
    strict = "--require-secret-arns"
    done = cli("migrate", "ecs", str(compose), strict, "-o", str(out))
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0] == (
        "error: compose secrets api-key (used by app at compose.yaml:13), db-password (used by db at "
        "compose.yaml:6; app at compose.yaml:11) have no ARN, and ECS takes secrets only from Secrets "
        "Manager or SSM Parameter Store"
    )
    assert lines[1] == (
        "  hint: create them in Secrets Manager or SSM and pass --secret NAME=ARN for each, or add "
        "x-aws-secret-arn: ARN under each secrets.NAME (without --require-secret-arns they are the SSM "
        f"parameters /{tmp_path.name.lower()}/NAME, which you create)"
    )
    assert out.read_text() == '{"kept": true}\n'  # nothing written over the existing file
    _no_secret(done.stdout, done.stderr)
    done = cli("migrate", "ecs", str(compose), strict, "--json")
    assert done.returncode == 2
    error = done.json()["error"]
    assert error["exit_code"] == 2
    assert "compose secrets api-key (used by app at compose.yaml:13)" in error["message"]
    assert "--secret NAME=ARN" in error["hint"]
    # one secret left: the hint names it
    done = cli("migrate", "ecs", str(compose), strict, "--family", "shop", "--secret", f"api-key={API_ARN}")
    assert done.returncode == 2
    assert (
        "error: compose secret db-password (used by db at compose.yaml:6; app at compose.yaml:11) has no ARN"
        in (done.stderr)
    )
    assert (
        "hint: create it in Secrets Manager or SSM and pass --secret db-password=ARN, or add "
        "x-aws-secret-arn: ARN under secrets.db-password (without --require-secret-arns it is the SSM "
        "parameter /shop/db-password"
    ) in done.stderr
    # migrate lint shows each use with its line (exit 1: it cannot convert as it is)
    done = cli("migrate", "lint", str(compose), strict)
    assert done.returncode == 1
    assert (
        "compose.yaml:11: app.secrets: [cannot] no ARN for compose secret db-password, so migrate ecs stops"
        in (done.stdout)
    )


def test_secret_arns_from_the_flag_or_the_file(tmp_path: Path, cli: Any) -> None:
    compose = _compose_secrets(tmp_path)
    out = tmp_path / "taskdef.json"
    done = cli(
        "migrate",
        "ecs",
        str(compose),
        "--secret",
        f"api-key={API_ARN}",
        "--secret",
        f"db-password={DB_ARN}",
        "-o",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    assert "no ARN" not in done.stderr
    db, app = json.loads(out.read_text())["containerDefinitions"]
    assert db["secrets"] == [{"name": "POSTGRES_PASSWORD", "valueFrom": DB_ARN}]
    assert app["secrets"] == [
        {"name": "API_KEY", "valueFrom": API_ARN},
        {"name": "DB_PASSWORD", "valueFrom": DB_ARN},
    ]
    # the same ARNs from extension fields: x-aws-secret-arn on the secret, x-aws-secrets at the top
    text = compose.read_text().replace(
        "{file: db-password.txt}", "{file: db-password.txt, x-aws-secret-arn: " + DB_ARN + "}"
    )
    compose.write_text(text + "x-aws-secrets:\n  api-key: " + API_ARN + "\n")
    again = tmp_path / "again.json"
    done = cli("migrate", "ecs", str(compose), "-o", str(again))
    assert done.returncode == 0, done.stderr
    assert again.read_text() == out.read_text()
    _no_secret(out.read_text(), done.stderr)


def test_compose_secrets_without_an_arn_refer_to_ssm_parameters_by_default(tmp_path: Path, cli: Any) -> None:
    compose = _compose_secrets(tmp_path)
    done = cli("migrate", "ecs", str(compose), "--family", "shop", "--json")
    assert done.returncode == 0, done.stderr
    doc = done.json()
    db, app = doc["data"]["task_definition"]["containerDefinitions"]
    assert db["secrets"] == [{"name": "POSTGRES_PASSWORD", "valueFrom": "/shop/db-password"}]
    assert app["secrets"] == [
        {"name": "API_KEY", "valueFrom": "/shop/api-key"},
        {"name": "DB_PASSWORD", "valueFrom": "/shop/db-password"},
    ]
    warned = [w for w in doc["warnings"] if "no ARN" in w]
    assert warned == [
        "secrets: no ARN for api-key (compose secret api-key), db-password (compose secret db-password): "
        "valueFrom names the SSM parameters /shop/NAME; create them (SecureString) or pass --secret NAME=ARN"
    ]
    done = cli("migrate", "lint", str(compose))
    assert "so migrate ecs stops" not in done.stdout
    _no_secret(done.stdout, done.stderr)


def test_secret_values_without_an_arn_stay_a_placeholder(project: Path, cli: Any) -> None:
    """Values (env_file, a secret-looking variable) are not compose secrets: a placeholder, no error."""
    done = cli("migrate", "ecs", str(project), "--family", "shop", "--json")
    assert done.returncode == 0, done.stderr
    app = done.json()["data"]["task_definition"]["containerDefinitions"][0]
    assert {"name": "DB_PASSWORD", "valueFrom": "/shop/DB_PASSWORD"} in app["secrets"]
    assert sum("no ARN" in w for w in done.json()["warnings"]) == 1
