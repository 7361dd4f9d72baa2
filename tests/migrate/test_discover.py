"""``migrate discover`` on the seed's VM as a fixture tree, and on this machine's real /."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stackrig.errors import UsageError
from stackrig.migrate._redact import redact
from stackrig.migrate.discover import DiscoverSettings, discover, read_listeners
from tests.migrate import vmtree

ANY = "0.0.0.0"  # noqa: S104 - the fixture's wildcard listeners, not a bind


@pytest.fixture
def vm(tmp_path: Path) -> Path:
    root = tmp_path / "vm"
    vmtree.build(root)
    return root


def test_discover_fixture_tree(vm: Path) -> None:
    report = discover(DiscoverSettings(root=vm))
    assert report.os.id == "ubuntu"
    assert report.os.version == "12.04"
    assert report.os.codename == "precise"
    names = {p.name: p for p in report.packages}
    assert "nginx" not in names  # deinstalled: config files only
    assert report.package_count == 6
    assert names["apache2"].notable == "web server"
    assert names["mysql-server-5.5"].notable == "database"
    assert names["ruby1.8"].notable == "runtime"
    assert names["libc6"].notable is None
    assert report.app is not None
    assert report.app.language == "ruby"
    assert report.app.framework == "rails"
    assert report.app.framework_version == "3.2.8"
    prod = next(d for d in report.databases if d.environment == "production")
    assert (prod.adapter, prod.host, prod.port, prod.database) == (
        "mysql2",
        "localhost",
        3306,
        "AppName_production",
    )
    assert prod.password_set is True
    dev = next(d for d in report.databases if d.environment == "development")
    assert dev.host == "${APPDB_PORT_3306_TCP_ADDR}"
    listeners = {(lst.address, lst.port): lst for lst in report.listeners}
    assert set(listeners) == {
        (ANY, 80),
        ("127.0.0.1", 3306),
        (ANY, 3000),
        ("::", 22),
        ("127.0.0.1", 8080),
    }
    assert listeners[(ANY, 80)].process == "apache2"
    assert listeners[("127.0.0.1", 3306)].pid == 990
    assert listeners[("127.0.0.1", 8080)].pid is None
    assert "script/rails server" in (listeners[(ANY, 3000)].cmdline or "")
    assert {j.user for j in report.cron} == {"root", "deploy"}
    assert any(j.schedule == "@reboot" for j in report.cron)
    assert any("rake tax:refresh" in j.command for j in report.cron)
    assert {h.user for h in report.history} == {"root", "ubuntu"}
    services = {s.name: s for s in report.services}
    app, db = services["app"], services["db"]
    assert (app.runtime, app.version, app.port, app.publish) == ("ruby 1.8.7", "rails 3.2.8", 3000, 80)
    assert app.image is None
    assert app.base_image == "ruby:1.8"
    assert any("Gemfile.lock" in e for e in app.evidence)
    assert any("ruby1.8" in e for e in app.evidence)
    assert (db.image, db.port, db.database, db.username) == ("mysql:5.5", 3306, "AppName_production", "root")
    assert any("mysql-server-5.5" in e for e in db.evidence)
    assert any("mysqld" in e and "3306" in e for e in db.evidence)


def test_planted_secrets_never_reach_any_output(vm: Path, tmp_path: Path, cli: Any) -> None:
    report_file = tmp_path / "report.json"
    runs = [
        cli("-vv", "migrate", "discover", "--root", str(vm), "-o", str(report_file)),
        cli("migrate", "discover", "--root", str(vm), "--json"),
        cli("migrate", "discover", "--root", str(vm), "--app", "srv/appname"),
    ]
    for done in runs:
        assert done.returncode == 0, done.stderr
    everything = "\n".join(d.stdout + "\n" + d.stderr for d in runs) + report_file.read_text()
    for source, secret in vmtree.PLANTED.items():
        assert secret not in everything, f"the secret planted in {source} leaked"
    doc = json.loads(report_file.read_text())
    history = "\n".join(h["command"] for h in doc["history"])
    assert "mysql -uroot -p*** AppName_production" in history
    assert "--secret-key *** --cluster ecs-cli-dev" in history
    assert "MYSQL_ROOT_PASSWORD=***" in history
    assert "https://deploy:***@github.example" in history
    assert "mkdir -p /srv/appname" in history
    assert "--password=***" in next(x["cmdline"] for x in doc["listeners"] if x["port"] == 3306)
    envelope = runs[1].json()
    assert envelope["ok"] is True
    assert envelope["data"]["services"][0]["name"] == "app"


def test_report_feeds_compose(vm: Path, tmp_path: Path, cli: Any) -> None:
    report_file = tmp_path / "report.json"
    assert cli("migrate", "discover", "--root", str(vm), "-o", str(report_file)).returncode == 0
    done = cli("migrate", "compose", str(report_file), "--json")
    assert done.returncode == 0, done.stderr
    content = done.json()["data"]["content"]
    assert "DATABASE_HOST: db" in content
    for secret in vmtree.PLANTED.values():
        assert secret not in done.stdout + done.stderr


def test_discover_real_root_does_not_crash(cli: Any) -> None:
    done = cli("migrate", "discover", "--json")
    assert done.returncode == 0, done.stderr
    data = done.json()["data"]
    assert data["root"] == "/"
    assert data["os"]["sources"]


def test_discover_empty_tree_notes_what_is_missing(tmp_path: Path) -> None:
    report = discover(DiscoverSettings(root=tmp_path))
    assert report.services == ()
    assert any("no dpkg status" in n for n in report.notes)
    assert any("no app found" in n for n in report.notes)


def test_bad_root_and_app_are_usage_errors(tmp_path: Path, cli: Any) -> None:
    with pytest.raises(UsageError, match="is not a folder under"):
        discover(DiscoverSettings(root=tmp_path, app=Path("nope")))
    done = cli("migrate", "discover", "--root", str(tmp_path / "missing"))
    assert done.returncode == 2
    assert "missing" in done.stderr


def test_output_to_missing_folder_is_usage_error(vm: Path, tmp_path: Path, cli: Any) -> None:
    done = cli("migrate", "discover", "--root", str(vm), "-o", str(tmp_path / "no" / "r.json"))
    assert done.returncode == 2
    assert "does not exist" in done.stderr


def test_python_and_node_apps(tmp_path: Path) -> None:
    py = tmp_path / "srv" / "api"
    py.mkdir(parents=True)
    (py / "requirements.txt").write_text("Django==4.2.7\npsycopg2-binary>=2.9  # db\n-r other.txt\n")
    (py / ".python-version").write_text("3.11.6\n")
    (py / "mysite").mkdir()
    (py / "mysite" / "settings.py").write_text(
        "DATABASES = {\n  'default': {\n    'ENGINE': 'django.db.backends.postgresql',\n"
        "    'NAME': 'shop', 'HOST': 'localhost', 'PORT': '5432', 'USER': 'shop',\n"
        "    'PASSWORD': 'DjangoPl4nted',\n  }\n}\n"
    )
    report = discover(DiscoverSettings(root=tmp_path, app=py))
    assert report.app is not None
    assert (report.app.language, report.app.framework, report.app.framework_version) == (
        "python",
        "django",
        "4.2.7",
    )
    services = {s.name: s for s in report.services}
    assert services["app"].base_image == "python:3.11"
    assert services["app"].port == 8000
    assert services["db"].image == "postgres"
    assert services["db"].database == "shop"
    assert "DjangoPl4nted" not in json.dumps(str(report))

    node = tmp_path / "opt" / "web"
    node.mkdir(parents=True)
    (node / "package.json").write_text(
        json.dumps({"dependencies": {"express": "^4.18.2"}, "engines": {"node": ">=18"}})
    )
    (node / "package-lock.json").write_text(
        json.dumps({"packages": {"": {}, "node_modules/express": {"version": "4.18.2"}}})
    )
    report = discover(DiscoverSettings(root=tmp_path, app=Path("opt/web")))
    assert report.app is not None
    assert (report.app.language, report.app.framework, report.app.framework_version) == (
        "node",
        "express",
        "4.18.2",
    )
    assert report.app.runtime_version == "18"

    poetry = tmp_path / "srv" / "svc"
    poetry.mkdir(parents=True)
    (poetry / "pyproject.toml").write_text(
        '[tool.poetry.dependencies]\npython = "^3.10"\nflask = "^3.0"\n'
        '[project]\nname = "svc"\ndependencies = ["flask>=3.0"]\n'
    )
    (poetry / "poetry.lock").write_text('[[package]]\nname = "flask"\nversion = "3.0.2"\n')
    report = discover(DiscoverSettings(root=tmp_path, app=poetry))
    assert report.app is not None
    assert (report.app.framework, report.app.framework_version, report.app.runtime_version) == (
        "flask",
        "3.0.2",
        "3.10",
    )
    # several apps under the tree: the first is surveyed and the others are named
    report = discover(DiscoverSettings(root=tmp_path))
    assert any("several app folders" in n for n in report.notes)


def test_listeners_on_this_machine_are_readable() -> None:
    # A real /proc: parsing must cope with whatever is there (and see our own listening socket).
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        found = [x for x in read_listeners(Path("/")) if x.port == port]
    assert found
    assert found[0].address == "127.0.0.1"
    assert found[0].process is not None


@given(
    secret=st.text(alphabet=st.characters(whitelist_categories=("Lu", "Ll", "Nd")), min_size=6, max_size=24),
    template=st.sampled_from(
        [
            "mysql -uroot -p{s} db",
            "export API_TOKEN={s}",
            "export DB_PASSWORD='{s}'",
            "curl https://user:{s}@host/x",
            "tool --password={s} run",
            "tool --secret-key {s} run",
            "curl -u admin:{s} http://h",
            "docker run -e MYSQL_ROOT_PASSWORD={s} mysql",
            "aws configure set aws_secret_access_key {s}",
        ]
    ),
)
def test_redact_removes_the_secret(secret: str, template: str) -> None:
    line = template.format(s=secret)
    assert redact(line) == template.replace("'{s}'", "{s}").format(s="***")
