"""``migrate lint``: per service and key, with lines, for ecs, fargate and compose; and the same findings
as ``migrate ecs`` warns about, for every corpus file (one table, so they never disagree)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from stackrig.errors import UsageError
from stackrig.migrate import EcsSettings, make_task_definition
from stackrig.migrate._project import load_project
from stackrig.migrate.ecs import translate
from stackrig.migrate.lint import LintSettings, lint
from tests.migrate.conftest import EXAMPLES, SEED_V1
from tests.migrate.test_corpus import CORPUS, CURRENT, ENVIRON, EXIT_2, NEEDS_ARN, secret_arns

ROLE = "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"


@pytest.mark.parametrize("rel", [r for r in CURRENT if r not in EXIT_2 or r in NEEDS_ARN])
def test_lint_and_ecs_never_disagree(rel: str) -> None:
    path = CORPUS / rel
    arns = secret_arns(rel)
    ecs = make_task_definition(EcsSettings(path, environ=ENVIRON, secrets=arns))
    linted = lint(LintSettings(path, "ecs", environ=ENVIRON, secrets=arns))
    assert tuple(f.text() for f in linted.findings if f.warns) == ecs.warnings
    fargate = lint(LintSettings(path, "fargate", environ=ENVIRON, secrets=arns))
    refused = [f.text() for f in fargate.findings if f.status == "forbidden"]
    settings = EcsSettings(path, environ=ENVIRON, launch_type="fargate", execution_role=ROLE, secrets=arns)
    project = load_project(settings.compose_input())
    if refused:
        with pytest.raises(UsageError) as caught:
            translate(project, settings)
        assert all(line in caught.value.message for line in refused)
    else:
        warned = translate(project, settings).warnings
        assert tuple(f.text() for f in fargate.findings if f.warns) == warned


def test_every_key_of_every_service_is_judged(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text(
        "services:\n  web:\n    image: nginx\n    mem_limit: 64m\n    ports: ['8080:80']\n"
        "    stop_signal: SIGINT\n"
        "    cpus: 0.5\n    volumes: ['/srv/www:/usr/share/nginx/html:ro']\n    privileged: true\n"
    )
    result = lint(LintSettings(compose, "ecs"))
    by_key = {f.key: f for f in result.findings if f.service == "web"}
    assert set(by_key) == {"image", "mem_limit", "ports", "stop_signal", "cpus", "volumes", "privileged"}
    assert (by_key["image"].status, by_key["image"].loc and by_key["image"].loc.line) == ("as-is", 3)
    assert by_key["stop_signal"].status == "cannot"
    assert by_key["cpus"].status == "changed"
    assert "reserves rather than caps" in by_key["cpus"].message
    fargate = lint(LintSettings(compose, "fargate"))
    statuses = {f.key: f.status for f in fargate.findings if f.service == "web"}
    assert (statuses["privileged"], statuses["volumes"]) == ("forbidden", "forbidden")
    assert "Fargate does not allow host paths (/srv/www)" in {f.message for f in fargate.findings}


def test_cli(tmp_path: Path, cli: Any) -> None:
    done = cli("migrate", "lint", str(EXAMPLES / "compose.yaml"))
    assert done.returncode == 0, done.stderr
    assert "compose.yaml:3: app_web.image: [as-is] translated as is" in done.stdout
    assert "ecs: " in done.stdout.splitlines()[-1]
    compose = tmp_path / "compose.yaml"
    compose.write_text("services:\n  web:\n    image: nginx\n    stop_signal: SIGINT\n    privileged: true\n")
    done = cli("migrate", "lint", str(compose), "--target", "fargate", "--json")
    assert done.returncode == 1
    data = done.json()["data"]
    assert data["target"] == "fargate"
    assert data["counts"]["forbidden"] == 1
    finding = next(f for f in data["findings"] if f["key"] == "stop_signal")
    assert (finding["status"], finding["line"], finding["file"]) == ("cannot", 4, "compose.yaml")
    done = cli("migrate", "lint", str(SEED_V1), "--target", "compose")
    assert done.returncode == 0, done.stderr
    assert (
        "app_web.links: [changed] app_mysql:appdb became depends_on app_mysql (service_healthy)"
        in done.stdout
    )
    done = cli("migrate", "lint", str(SEED_V1), "--target", "ecs")
    assert done.returncode == 2
    assert "version-1 file" in done.stderr
    compose.write_text("services:\n  a:\n    image: x\n    depends_on: [a]\n")
    done = cli("migrate", "lint", str(compose), "--target", "compose")
    assert done.returncode == 2
    assert "dependency cycle: a -> a" in done.stderr
    done = cli("migrate", "lint", str(compose), "--target", "kubernetes")
    assert done.returncode == 2
