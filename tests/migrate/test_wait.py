"""``migrate wait`` against real servers: MariaDB, PostgreSQL, an HTTP server, TCP, files."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from stackrig.errors import UsageError, WaitTimeoutError
from stackrig.migrate.wait import WaitSettings, parse_target, probe, wait_for
from tests.migrate.conftest import MARIADB_PASSWORD, POSTGRES_PASSWORD, WRONG_PASSWORD, StartedServer
from tests.services import free_port, running

PASSWORDS = (MARIADB_PASSWORD, POSTGRES_PASSWORD, WRONG_PASSWORD)


def _assert_first_poll_after_accept(server: StartedServer) -> None:
    polls = server.polls
    assert polls, "wait_for recorded no poll"
    assert not polls[0].ready, f"{server.name} was ready on the very first poll: nothing was waited for"
    ready = [p.poll for p in polls if p.ready]
    assert len(ready) == 1
    assert polls[-1].ready
    # Every poll that followed a moment when the server already accepted the login was ready.
    accepted = sorted(k for k, ok in server.accepted_after.items() if ok)
    if accepted:
        assert ready[0] == accepted[0] + 1, (ready, accepted, polls[-5:])
    assert all(not p.ready for p in polls[:-1])
    assert server.result is not None
    assert server.result.targets[0].polls == ready[0]
    for p in polls:
        for pw in PASSWORDS:
            assert pw not in p.target
            assert pw not in (p.error or "")


@pytest.mark.e2e
def test_mariadb_not_ready_while_starting_then_ready_on_first_poll_after_login(
    mariadb: StartedServer,
) -> None:
    _assert_first_poll_after_accept(mariadb)
    assert mariadb.polls[0].error in ("connection refused", "cannot connect", "access denied")


@pytest.mark.e2e
def test_postgres_not_ready_while_starting_then_ready_on_first_poll_after_login(
    postgres: StartedServer,
) -> None:
    _assert_first_poll_after_accept(postgres)
    reasons = {p.error for p in postgres.polls if not p.ready}
    assert reasons <= {"connection refused", "server is starting up", "cannot connect", "access denied"} | {
        r for r in reasons if r and r.startswith("cannot connect")
    }


@pytest.mark.e2e
@pytest.mark.parametrize("which", ["mariadb", "postgres"])
def test_wrong_password_is_access_denied(which: str, request: pytest.FixtureRequest) -> None:
    server: StartedServer = request.getfixturevalue(which)
    assert probe(parse_target(server.url), 5) is None
    assert probe(parse_target(server.wrong_url), 5) == "access denied"


@pytest.mark.e2e
@pytest.mark.parametrize("which", ["mariadb", "postgres"])
def test_cli_wrong_password_times_out_124_without_showing_it(
    which: str, request: pytest.FixtureRequest, cli: Any
) -> None:
    server: StartedServer = request.getfixturevalue(which)
    done = cli("migrate", "wait", server.wrong_url, "--timeout", "1", "--interval", "0.2")
    assert done.returncode == 124
    assert "not ready after 1 s" in done.stderr
    assert "(access denied)" in done.stderr
    assert "app:***@127.0.0.1" in done.stderr
    for pw in PASSWORDS:
        assert pw not in done.stdout + done.stderr


@pytest.mark.e2e
def test_cli_ready_both_databases_then_exec(
    mariadb: StartedServer, postgres: StartedServer, cli: Any
) -> None:
    done = cli(
        "migrate", "wait", mariadb.url, postgres.url, "--timeout", "20",
        "--", sys.executable, "-c", "import sys; print('ran', sys.argv[1:])", "a b",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ran ['a b']"
    for pw in PASSWORDS:
        assert pw not in done.stdout + done.stderr


@pytest.mark.e2e
def test_cli_json_ready_report(mariadb: StartedServer, cli: Any) -> None:
    done = cli("migrate", "wait", mariadb.url, "--json")
    assert done.returncode == 0, done.stderr
    doc = done.json()
    assert doc["ok"] is True
    assert doc["data"]["targets"][0]["ready"] is True
    assert doc["data"]["targets"][0]["polls"] == 1
    assert MARIADB_PASSWORD not in done.stdout


# ------------------------------------------------------------------ tcp, http, file


def test_tcp_http_and_file_targets(tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "ok.html").write_text("hi")
    argv = [
        sys.executable,
        "-m",
        "http.server",
        str(port),
        "--bind",
        "127.0.0.1",
        "--directory",
        str(tmp_path),
    ]
    assert probe(parse_target(f"tcp://127.0.0.1:{port}"), 1) == "connection refused"
    with running("http", argv, workdir=tmp_path / "srv", port=port):
        assert probe(parse_target(f"tcp://127.0.0.1:{port}"), 1) is None
        assert probe(parse_target(f"http://127.0.0.1:{port}/ok.html"), 2) is None
        assert probe(parse_target(f"http://u:Secr3tHttp@127.0.0.1:{port}/nope"), 2) == "HTTP status 404"
        with pytest.raises(WaitTimeoutError) as err:
            wait_for(WaitSettings((f"http://u:Secr3tHttp@127.0.0.1:{port}/nope",), timeout=0.3, interval=0.1))
        assert "HTTP status 404" in err.value.message
        assert "Secr3tHttp" not in err.value.message
    marker = tmp_path / "ready.flag"
    assert probe(parse_target(f"file://{marker}"), 1) == "does not exist yet"
    marker.write_text("")
    assert probe(parse_target(f"file://{marker}"), 1) is None


def test_polls_are_counted_and_ready_on_the_poll_after_the_file_appears(tmp_path: Path) -> None:
    marker = tmp_path / "flag"
    seen: list[int] = []

    def on_poll(rec: Any) -> None:
        seen.append(rec.poll)
        if rec.poll == 3:
            marker.write_text("")

    result = wait_for(WaitSettings((f"file://{marker}",), timeout=10, interval=0.01), on_poll=on_poll)
    assert seen == [1, 2, 3, 4]
    assert result.polls == 4
    assert result.targets[0].polls == 4


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("redis://h:1", "no known scheme"),
        ("tcp://host", "needs a port"),
        ("tcp://:80", "names no host"),
        ("tcp://h:99999", "invalid port"),
        ("file://remote/x", "file:///absolute/path"),
        ("mysql://root:Pl4ntedBad@h:xx/", "invalid port"),
    ],
)
def test_bad_targets_are_usage_errors_without_passwords(target: str, message: str) -> None:
    with pytest.raises(UsageError) as err:
        parse_target(target)
    assert message in str(err.value)
    assert "Pl4ntedBad" not in str(err.value)


def test_defaults_and_masking() -> None:
    t = parse_target("postgresql://bob:p%40ss@db/app")
    assert (t.scheme, t.port, t.user, t.password, t.database) == ("postgres", 5432, "bob", "p@ss", "app")
    assert t.shown == "postgresql://bob:***@db/app"
    assert "p%40ss" not in repr(t)
    assert "p@ss" not in repr(t)
    assert parse_target("mysql://db").port == 3306
    assert parse_target("https://example.invalid").port == 443


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--timeout", "0"], "--timeout must be more than 0"),
        (["--interval", "-1"], "--interval '-1' is not a duration"),
        (["--interval", "0"], "--interval must be more than 0"),
        (["--timeout", "5 parsecs"], "--timeout '5 parsecs' is not a duration"),
    ],
)
def test_cli_bad_settings(cli: Any, args: list[str], message: str) -> None:
    done = cli("migrate", "wait", "tcp://127.0.0.1:1", *args)
    assert done.returncode == 2
    assert message in done.stderr


def test_cli_timeout_exit_124_names_each_target(cli: Any, tmp_path: Path) -> None:
    port = free_port()
    done = cli(
        "migrate", "wait", f"tcp://127.0.0.1:{port}", f"file://{tmp_path}/never",
        f"file://{tmp_path}", "--timeout", "500ms", "--interval", "100ms", "--json",
    )  # fmt: skip
    assert done.returncode == 124
    err = done.json()["error"]
    assert err["type"] == "WaitTimeoutError"
    assert err["exit_code"] == 124
    assert f"tcp://127.0.0.1:{port} (connection refused)" in err["message"]
    assert f"file://{tmp_path}/never (does not exist yet)" in err["message"]
    assert f"file://{tmp_path} (" not in err["message"]


def test_cli_exec_missing_command_is_missing(cli: Any, tmp_path: Path) -> None:
    done = cli("migrate", "wait", f"file://{tmp_path}", "--", "no-such-program-stackrig")
    assert done.returncode == 3
    assert "no-such-program-stackrig" in done.stderr


def test_cli_exec_passes_options_through(cli: Any, tmp_path: Path) -> None:
    done = cli("migrate", "wait", f"file://{tmp_path}", "--", "sh", "-c", "echo $0 --json", "x")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "x --json\n"


def test_driver_errors_map_to_reasons() -> None:
    import pymysql

    from stackrig.migrate.wait import _mysql_reason, _postgres_reason

    op = pymysql.err.OperationalError
    assert _mysql_reason(op(1045, "Access denied for user")) == "access denied"
    assert _mysql_reason(op(1049, "Unknown database 'x'")) == "unknown database"
    assert _mysql_reason(op(2003, "Can't connect: [Errno 111] Connection refused")) == "connection refused"
    assert _mysql_reason(op(2003, "Can't connect: timed out")) == "timed out"
    assert _mysql_reason(op(2013, "Lost connection")) == "cannot connect"
    assert _mysql_reason(op(1040, "Too many connections")).startswith("not accepting logins (1040")
    assert _postgres_reason(Exception('database "x" does not exist')) == "unknown database"
    assert _postgres_reason(Exception("FATAL: the database system is starting up")) == "server is starting up"
    assert _postgres_reason(Exception("fe_sendauth: no password supplied")).startswith("access denied")
    assert _postgres_reason(Exception("connection timeout expired")) == "timed out"
    assert _postgres_reason(Exception("something odd")) == "cannot connect (something odd)"


def test_unknown_database_on_real_servers(mariadb: StartedServer, postgres: StartedServer) -> None:
    assert probe(parse_target(mariadb.url + "no_such_db"), 5) == "unknown database"
    assert probe(parse_target(postgres.url + "_no_such_db"), 5) == "unknown database"
