"""The migrated app, started: a VM's Python web app → discover → compose → docker-compose up → down.

A second fixture VM (Debian 12, a small WSGI app on PyMySQL served by gunicorn, MariaDB 10.11)
goes through ``migrate discover`` and ``migrate compose``; the compose file is started with
Debian's docker-compose 1.29 on the test engine, with stand-in images under the tags it names
(no registry here): a MariaDB keeping the official images' MARIADB_*/MYSQL_* contract and the
app's image, whose entrypoint runs ``stackrig migrate wait mysql://...`` instead of ``sleep 15``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.containers.build import OFFLINE_BUILD, BuiltImage
from tests.containers.engine import Engine
from tests.containers.vmapp import APP_PASSWORD, build_vm
from tests.services import free_port, start_moto_server, wait_until

IMAGES = Path(__file__).resolve().parent / "images"
ROOT_PASSWORD = "R00t-Pl4nted-pw"
PROJECT = "stackrignotes"
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclass
class Project:
    name: str
    folder: Path
    compose: Path
    port: int
    report: dict[str, Any]
    notes: list[str]
    engine: Engine

    def compose_cmd(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        docker_compose = shutil.which("docker-compose")
        if docker_compose is None:
            pytest.fail("docker-compose is missing: scripts/apt-install.sh deps/apt/test-containers.txt")
        argv = [docker_compose, "--ansi", "never", "-p", self.name, "-f", str(self.compose), *args]
        return subprocess.run(
            argv, cwd=self.folder, env=self.engine.env, capture_output=True, text=True, timeout=timeout,
            check=False,
        )  # fmt: skip

    def labelled(self, kind: str) -> list[str]:
        """Containers, networks or volumes of this compose project on the engine."""
        label = f"label=com.docker.compose.project={self.name}"
        args = {
            "containers": ("ps", "-aq"),
            "networks": ("network", "ls", "-q"),
            "volumes": ("volume", "ls", "-q"),
        }
        return self.engine.ids(*args[kind], "--filter", label)


def build_stand_ins(
    engine: Engine, image: BuiltImage, project: Path, names: dict[str, str], port: int
) -> None:
    """The images the compose file names (``names``: service → tag), from the local base, offline."""
    db, app = names["db"], names["app"]
    engine.run(
        "build", "-q", *OFFLINE_BUILD, "--cache-from", db, "-t", db, str(IMAGES / "mariadb"), timeout=600
    )
    for name in ("Dockerfile", "start.sh"):
        shutil.copy2(IMAGES / "app" / name, project / name)
    args = ["--build-arg", f"STACKRIG_IMAGE={image.latest}", "--build-arg", f"PORT={port}"]
    engine.run(
        "build", "-q", *OFFLINE_BUILD, "--cache-from", app, *args, "-t", app, str(project), timeout=600
    )


@pytest.fixture(scope="module")
def migrated(
    engine: Engine, image: BuiltImage, cli_module: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Project]:
    """discover → compose → stand-in images → docker-compose up -d; down -v at the end."""
    work = tmp_path_factory.mktemp("migrate")
    port = free_port()
    vm = build_vm(work / "vm", port)
    done = cli_module("migrate", "discover", "--root", str(vm), "-o", str(work / "report.json"), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads((work / "report.json").read_text())
    project = work / "notes"
    project.mkdir()
    shutil.copy2(vm / "srv" / "notes" / "app.py", project / "app.py")
    compose = project / "compose.yaml"
    done = cli_module("migrate", "compose", str(work / "report.json"), "-o", str(compose), "--json")
    assert done.returncode == 0, done.stderr
    notes = json.loads(done.stdout)["data"]["notes"]
    secrets = project / "secrets.env"
    secrets.write_text(
        f"MARIADB_ROOT_PASSWORD={ROOT_PASSWORD}\nMARIADB_PASSWORD={APP_PASSWORD}\nDATABASE_PASSWORD={APP_PASSWORD}\n"
    )
    secrets.chmod(0o600)
    # One name on every run: the engine is the session's own, and the app image's tag
    # (<project>_app) is then rebuilt in place instead of piling up in the engine's data-root.
    name = PROJECT
    db_image = yaml.safe_load(compose.read_text())["services"]["db"]["image"]
    build_stand_ins(engine, image, project, {"db": db_image, "app": f"{name}_app"}, port)
    started = Project(name, project, compose, port, report, notes, engine)
    try:
        up = started.compose_cmd("up", "-d")
        assert up.returncode == 0, up.stdout + up.stderr
        yield started
    finally:
        started.compose_cmd("down", "-v", "--remove-orphans")


def get_json(url: str, data: bytes | None = None) -> Any:
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")  # noqa: S310 - loopback
    with urllib.request.urlopen(request, timeout=10) as res:  # noqa: S310 - loopback URL of the test
        return json.loads(res.read())


def answers(url: str) -> bool:
    try:
        get_json(url)
    except OSError:
        return False
    return True


def test_discover_and_compose_propose_the_stack(migrated: Project) -> None:
    services = {s["role"]: s for s in migrated.report["services"]}
    assert services["app"]["port"] == migrated.port
    assert services["db"]["image"] == "mariadb:10.11"
    assert (services["db"]["database"], services["db"]["username"]) == ("notes", "notes")
    text = migrated.compose.read_text()
    assert APP_PASSWORD not in json.dumps(migrated.report)
    assert APP_PASSWORD not in text
    doc = yaml.safe_load(text)
    assert doc["services"]["app"]["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert doc["services"]["db"]["environment"] == {"MARIADB_DATABASE": "notes", "MARIADB_USER": "notes"}
    assert "mariadb-admin ping -h 127.0.0.1" in doc["services"]["db"]["healthcheck"]["test"][1]
    assert any("DATABASE_PASSWORD: the same as MARIADB_PASSWORD" in n for n in migrated.notes)


def test_app_answers_after_waiting_for_a_healthy_db(migrated: Project) -> None:
    url = f"http://127.0.0.1:{migrated.port}/"
    wait_until(lambda: answers(url), timeout=120, what="the migrated app's answer")
    assert get_json(url) == {"app": "notes", "tables": ["notes"], "notes": []}
    assert get_json(url, data=b"first note")["notes"] == ["first note"]
    db = json.loads(migrated.engine.run("inspect", f"{migrated.name}_db_1").stdout)[0]
    assert db["State"]["Health"]["Status"] == "healthy"
    assert all(ROOT_PASSWORD not in str(v) for v in db["Config"]["Healthcheck"]["Test"])
    app = json.loads(migrated.engine.run("inspect", f"{migrated.name}_app_1").stdout)[0]
    assert app["State"]["Running"]
    assert app["State"]["StartedAt"] > db["State"]["StartedAt"]
    logs = migrated.compose_cmd("logs", "--no-color", "app")
    assert "ready: mysql://notes:***@db:3306/notes" in logs.stdout  # stackrig migrate wait, then the app
    assert APP_PASSWORD not in logs.stdout
    assert f"notes: serving on 0.0.0.0:{migrated.port}" in logs.stdout


def test_both_healthchecks_answer_without_credentials(migrated: Project) -> None:
    """MySQL's and MariaDB's checks, as migrate compose writes them, on the running server: root has
    a password and the checks give none, yet they pass (ping counts "access denied" as alive)."""
    from stackrig.migrate.compose import _healthcheck

    for kind in ("mysql", "mariadb"):
        test = _healthcheck(kind)["test"]
        argv = ["sh", "-c", test[1]] if test[0] == "CMD-SHELL" else test[1:]
        done = migrated.compose_cmd("exec", "-T", "db", *argv)
        assert done.returncode == 0, (kind, done.stdout, done.stderr)


def test_the_table_is_in_the_database(migrated: Project) -> None:
    url = f"http://127.0.0.1:{migrated.port}/"
    wait_until(lambda: answers(url), timeout=120, what="the migrated app's answer")
    done = migrated.compose_cmd(
        "exec",
        "-T",
        "db",
        "mariadb",
        "-unotes",
        f"--password={APP_PASSWORD}",
        "notes",
        "-N",
        "-e",
        "SHOW TABLES",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["notes"]


def test_ecs_registers_the_same_file_on_moto(migrated: Project, cli_module: Any, tmp_path: Path) -> None:
    service, url = start_moto_server(tmp_path / "moto")
    try:
        done = cli_module(
            "migrate", "ecs", str(migrated.compose), "--family", "notes", "--memory", "1024", "--register",
            "--endpoint-url", url,
            "--json", env=AWS_ENV,
        )  # fmt: skip
    finally:
        service.stop()
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)["data"]
    assert data["registered_arn"].endswith(":task-definition/notes:1")
    db = next(c for c in data["task_definition"]["containerDefinitions"] if c["name"] == "db")
    assert db["healthCheck"]["command"][0] == "CMD-SHELL"


def test_down_leaves_nothing(migrated: Project) -> None:
    """Last in this module: docker-compose down -v removes the project's containers, network, volume."""
    assert migrated.labelled("containers")
    assert migrated.labelled("volumes")
    done = migrated.compose_cmd("down", "-v")
    assert done.returncode == 0, done.stderr
    for kind in ("containers", "networks", "volumes"):
        assert migrated.labelled(kind) == [], kind
    left = migrated.engine.leftovers()
    assert not any(migrated.name in n for n in left["networks"])
