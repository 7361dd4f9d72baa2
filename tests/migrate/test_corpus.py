"""The public compose corpus (tests/corpus/compose, see SOURCES.md) through ``migrate ecs`` with no flags,
and its version-1 files through ``migrate compose --upgrade``, checked with Debian's docker-compose.

At least 90% of the current-format files must give a task definition that botocore's model and ECS's
rules accept; every other one must exit 2 with a one-line reason (named here, so a new failure is a
test failure). No input may end in an internal error.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from stackrig.errors import StackrigError
from stackrig.migrate import (
    ComposeSettings,
    EcsSettings,
    check_task_definition,
    make_compose,
    make_task_definition,
)
from tests.migrate.test_compose import compose_spec_parse, docker_compose_config

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "compose"
ENVIRON = {"HOME": "/home/user"}  # the corpus is read as on a machine with nothing else set

# Files that are parts of others (extended or included), not projects of their own.
PARTS = {
    "compose-go/combined/dir/included.yaml",
    "compose-go/combined/dir/extended.yaml",
    "compose-v1/extends/common.yml",
    "compose-e2e/env-secret/child/compose.yaml",
    "compose-e2e/env_file_include/subproj/subcompose.yml",
    "compose-e2e/include-envfile-interpolation/subproj/subcompose.yml",
}
# Current-format files that Docker Compose itself refuses, and why.
REFUSED = {
    # The service is spelled "Backend"; Compose is case-sensitive.
    "awesome-compose/react-express-mongodb/compose.yaml": "frontend.depends_on: backend is not a service",
    "compose-go/compose-depends-on-self.yaml": "dependency cycle: service1 -> service1",
    "compose-go/compose-include-cycle.yaml": "include cycle through compose-include-cycle.yaml",
    # docker/compose's own tests expect these to fail (config, or up of the whole project).
    "compose-e2e/container_name/compose.yaml": "container name 'test' is already in use by service test",
    "compose-e2e/env_file/compose.yaml": "services.serviceB.env_file: /doesnotexist/.env does not exist",
    "compose-e2e/start_interval/compose.yaml": "start_interval requires start_period to be set",
    "compose-e2e/wrong-composefile/compose.yaml": "'wrongField' is not a key Compose knows here",
}
# Current-format files Compose accepts that hold nothing a task definition can: why, in one line.
NOTHING_TO_RUN = {
    "compose-e2e/resources/compose.yaml": "has no services (only volumes, networks)",
}
# Current-format files whose compose secrets have no ARN. With no flags they refer to the SSM parameters
# /FAMILY/NAME and one warning names them; under --require-secret-arns they exit 2 with this one-line
# reason naming each secret and the services using it; with --secret NAME=ARN they take that ARN.
NEEDS_ARN: dict[str, tuple[str, tuple[str, ...]]] = {
    "awesome-compose/nginx-flask-mysql/compose.yaml": (
        "compose secret db-password (used by db at compose.yaml:16; backend at compose.yaml:40) has no ARN",
        ("db-password",),
    ),
    "awesome-compose/nginx-golang-mysql/docker-compose.yaml": (
        "compose secret db-password (used by backend at docker-compose.yaml:5; db at docker-compose.yaml:19)",
        ("db-password",),
    ),
    "awesome-compose/nginx-golang-postgres/compose.yaml": (
        "compose secret db-password (used by backend at compose.yaml:7; db at compose.yaml:17) has no ARN",
        ("db-password",),
    ),
    "awesome-compose/nginx-php-mysql/docker-compose.yaml": (
        "compose secret db-password (used by backend at docker-compose.yaml:6; db at docker-compose.yaml:16)",
        ("db-password",),
    ),
    "awesome-compose/react-express-mysql/compose.yaml": (
        "compose secret db-password (used by backend at compose.yaml:20; db at compose.yaml:39) has no ARN",
        ("db-password",),
    ),
    "awesome-compose/react-java-mysql/compose.yaml": (
        "compose secret db-password (used by backend at compose.yaml:6; db at compose.yaml:30) has no ARN",
        ("db-password",),
    ),
    "awesome-compose/sparkjava-mysql/docker-compose.yaml": (
        "compose secret db-password (used by backend at docker-compose.yaml:8; db at docker-compose.yaml:16)",
        ("db-password",),
    ),
    "awesome-compose/spring-postgres/compose.yaml": (
        "compose secret db-password (used by db at compose.yaml:14) has no ARN",
        ("db-password",),
    ),
    "compose-e2e/bridge/compose.yaml": (
        "compose secret my-secrets (used by serviceB at compose.yaml:20) has no ARN",
        ("my-secrets",),
    ),
    "compose-e2e/env-secret/compose.yaml": (
        "compose secrets my-secret (used by included at child/compose.yaml:5), secret (used by foo at "
        "compose.yaml:10) have no ARN",
        ("my-secret", "secret"),
    ),
    "compose-e2e/volume-test/compose.yaml": (
        "compose secret mysecret (used by nginx2 at compose.yaml:20) has no ARN",
        ("mysecret",),
    ),
    "compose-spec-conformance/simple_secretfile/compose.yaml": (
        "compose secret test_secret (used by entry at compose.yaml:8) has no ARN",
        ("test_secret",),
    ),
}
ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:corpus-AbCdEf"
EXIT_2 = {**REFUSED, **NOTHING_TO_RUN}


def secret_arns(rel: str) -> dict[str, str]:
    """--secret NAME=ARN for the compose secrets a NEEDS_ARN file lacks (nothing for the others)."""
    return dict.fromkeys(NEEDS_ARN[rel][1], ARN) if rel in NEEDS_ARN else {}


# Version-1 files that docker-compose 1.29 refuses too.
V1_REFUSED = {"compose-v1/datavolume-figfile/fig.yml": "'noop' is not a key Compose knows here"}


def _entries() -> list[str]:
    files = sorted(str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*") if p.suffix in (".yml", ".yaml"))
    return [f for f in files if f not in PARTS]


CURRENT = [f for f in _entries() if not f.startswith("compose-v1/")]
V1 = [f for f in _entries() if f.startswith("compose-v1/")]


def test_corpus_is_big_enough_and_documented() -> None:
    assert len(CURRENT) + len(V1) >= 40
    assert len(V1) >= 5
    sources = (CORPUS / "SOURCES.md").read_text()
    for path in CORPUS.rglob("*"):
        if path.is_file() and path.name != "SOURCES.md":
            rel = str(path.relative_to(CORPUS))
            assert f"| {rel} |" in sources, f"{rel} is not in SOURCES.md"


def _ecs(rel: str) -> tuple[dict[str, Any] | None, StackrigError | None]:
    try:
        result = make_task_definition(EcsSettings(CORPUS / rel, environ=ENVIRON))
    except StackrigError as exc:
        return None, exc
    return result.task_definition, None


@pytest.mark.parametrize("rel", CURRENT)
def test_current_format_file_with_no_flags(rel: str) -> None:
    td, error = _ecs(rel)
    if rel in EXIT_2:
        assert error is not None, f"{rel} was expected to exit 2"
        assert error.exit_code == 2
        assert "\n" not in error.message, error.message
        assert EXIT_2[rel] in error.message
        return
    assert error is None, f"{rel}: {error}"
    assert td is not None
    assert check_task_definition(td) == []


@pytest.mark.parametrize("rel", sorted(NEEDS_ARN))
def test_files_that_lack_secret_arns_warn_or_stop_when_arns_are_required(rel: str) -> None:
    reason, names = NEEDS_ARN[rel]
    result = make_task_definition(EcsSettings(CORPUS / rel, environ=ENVIRON))
    warned = [w for w in result.warnings if "no ARN" in w]
    assert len(warned) == 1
    assert all(f"compose secret {name}" in warned[0] for name in names)
    with pytest.raises(StackrigError) as caught:
        make_task_definition(EcsSettings(CORPUS / rel, environ=ENVIRON, require_secret_arns=True))
    assert caught.value.exit_code == 2
    assert "\n" not in caught.value.message
    assert reason in caught.value.message


@pytest.mark.parametrize("rel", sorted(NEEDS_ARN))
def test_files_that_lack_secret_arns_convert_once_given(rel: str) -> None:
    settings = EcsSettings(CORPUS / rel, environ=ENVIRON, secrets=secret_arns(rel))
    td = make_task_definition(settings).task_definition
    assert check_task_definition(td) == []
    arns = {s["valueFrom"] for c in td["containerDefinitions"] for s in c.get("secrets", [])}
    assert ARN in arns


def test_at_least_ninety_percent_convert() -> None:
    valid = [rel for rel in CURRENT if _ecs(rel)[1] is None]
    assert len(valid) / len(CURRENT) >= 0.9, (len(valid), len(CURRENT))


def _docker_compose_accepts(path: Path) -> bool:
    program = shutil.which("docker-compose")
    if program is None:
        pytest.fail("docker-compose is not installed: run scripts/apt-install.sh deps/apt/test-migrate.txt")
    done = subprocess.run(
        [program, "-f", path.name, "config", "-q"],
        cwd=path.parent,
        capture_output=True,
        timeout=60,
        check=False,
    )
    return done.returncode == 0


@pytest.mark.parametrize("rel", V1)
def test_v1_file_upgrades_as_docker_compose_reads_it(rel: str, tmp_path: Path) -> None:
    source = CORPUS / rel
    out = tmp_path / "compose.yaml"
    accepted = _docker_compose_accepts(source)
    if rel in V1_REFUSED:
        assert not accepted
        with pytest.raises(StackrigError) as caught:
            make_compose(ComposeSettings(upgrade=source, output=out))
        assert caught.value.exit_code == 2
        assert V1_REFUSED[rel] in caught.value.message
        assert not out.exists()
        return
    assert accepted, f"docker-compose 1.29 refuses {rel}; list it in V1_REFUSED"
    result = make_compose(ComposeSettings(upgrade=source, output=out))
    assert "version" not in result.document
    assert not any("links" in s for s in result.document["services"].values())
    parsed = docker_compose_config(tmp_path, "compose.yaml")
    assert sorted(parsed["services"]) == sorted(result.services)
    compose_spec_parse(result.content)
    # and the upgraded file goes on to ECS
    td = make_task_definition(EcsSettings(out, environ=ENVIRON)).task_definition
    assert check_task_definition(td) == []
