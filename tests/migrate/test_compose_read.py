"""Compose files read as Docker Compose reads them: interpolation, env files, YAML 1.2, merging several
files, extends, include, profiles, volume syntax, references and cycles. Each bad input: message, exit
code, and nothing written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from stackrig.errors import UsageError
from stackrig.migrate._interpolate import InterpolationError, parse_env_file, substitute
from stackrig.migrate._project import ComposeInput, Project, load_project
from stackrig.migrate._syntax import parse_port, parse_volume


def load(tmp_path: Path, text: str, *more: tuple[str, str], **kw: Any) -> Project:
    (tmp_path / "compose.yaml").write_text(text)
    files = [tmp_path / "compose.yaml"]
    for name, body in more:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(body)
        files.append(tmp_path / name)
    extra = kw.pop("extra_files", None)
    if extra:
        files = files[:1]
    kw.setdefault("environ", {})
    return load_project(ComposeInput(tuple(files), **kw))


def svc(project: Project, name: str = "a") -> dict[str, Any]:
    service: dict[str, Any] = project.services[name]
    return service


ENV = {"SET": "value", "EMPTY": "", "NESTED": "inner"}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("$SET and ${SET}", "value and value"),
        ("$$SET costs $$5", "$SET costs $5"),
        ("${UNSET:-dflt} ${EMPTY:-dflt} ${SET:-dflt}", "dflt dflt value"),
        ("${UNSET-dflt} ${EMPTY-dflt}", "dflt "),
        ("${SET:+alt} ${EMPTY:+alt} ${UNSET:+alt}", "alt  "),
        ("${SET+alt} ${EMPTY+alt} ${UNSET+alt}", "alt alt "),
        ("${UNSET:-${NESTED:-x}}-${UNSET:-${ALSO_UNSET:-deep}}", "inner-deep"),
        ("${UNSET}x$UNSET", "x"),
        ("${SET:?never shown}", "value"),
        ("a}b ${SET}}", "a}b value}"),
    ],
)
def test_interpolation(template: str, expected: str) -> None:
    unset: list[str] = []
    assert substitute(template, ENV.get, unset.append) == expected


@pytest.mark.parametrize(
    ("template", "message"),
    [
        (
            "${UNSET:?set UNSET to the bucket}",
            "required variable UNSET is missing a value: set UNSET to the bucket",
        ),
        ("${EMPTY:?}", "required variable EMPTY is missing a value"),
        ("${UNSET?}", "required variable UNSET is missing a value"),
        ("echo $1", "invalid interpolation format"),
        ("cost: 5$", "invalid interpolation format"),
        ("${}", "invalid interpolation format"),
        ("${SET", "invalid interpolation format"),
        ("${SET:x}", "invalid interpolation format"),
        ("${SET:-${UNCLOSED}", "a '}' is missing"),
    ],
)
def test_interpolation_errors(template: str, message: str) -> None:
    with pytest.raises(InterpolationError, match=message.replace("$", r"\$").replace("{", r"\{")):
        substitute(template, ENV.get, lambda _: None)


def test_env_file_syntax() -> None:
    text = (
        "# comment\nA=1\nexport B = spaced\nC='single ${A} $$'\n"
        'D="double ${A}\\nline"\nE=${A}-x # trailing\n'
        'F="multi\nline"\nG: yaml\nBARE\nH=a=b\nEMPTY=\n'
    )
    values = parse_env_file(text, name=".env")
    assert values == {
        "A": "1",
        "B": "spaced",
        "C": "single ${A} $$",
        "D": "double 1\nline",
        "E": "1-x",
        "F": "multi\nline",
        "G": "yaml",
        "BARE": None,
        "H": "a=b",
        "EMPTY": "",
    }
    with pytest.raises(UsageError, match=r"\.env:1: not a KEY=VALUE line"):
        parse_env_file("this is not a line\n", name=".env")
    with pytest.raises(UsageError, match="the quoted value is not closed"):
        parse_env_file("A='open\n", name=".env")


def test_variable_sources_and_precedence(tmp_path: Path) -> None:
    text = "services:\n  a:\n    image: 'x:${TAG}'\n    environment: {FROM: '${FROM}', ONLY_DOT: '${DOT}'}\n"
    (tmp_path / ".env").write_text("TAG=dotenv\nFROM=dotenv\nDOT=dot\n")
    project = load(tmp_path, text)
    assert svc(project)["image"] == "x:dotenv"
    project = load(tmp_path, text, environ={"TAG": "shell"})
    assert svc(project)["image"] == "x:shell"
    (tmp_path / "one.env").write_text("TAG=one\nFROM=one\n")
    (tmp_path / "two.env").write_text("TAG=two\n")
    project = load(tmp_path, text, env_files=(tmp_path / "one.env", tmp_path / "two.env"))
    assert svc(project)["image"] == "x:two"  # later --env-file wins
    assert svc(project)["environment"]["FROM"] == "one"
    assert svc(project)["environment"]["ONLY_DOT"] == ""  # .env is not read when --env-file is given
    assert project.unset_warnings() == [
        "variable DOT is not set (compose.yaml:4); it reads as an empty string"
    ]


def test_interpolation_through_the_cli(tmp_path: Path, cli: Any) -> None:
    compose = tmp_path / "compose.yaml"
    out = tmp_path / "td.json"
    out.write_text("keep")
    compose.write_text("services:\n  a:\n    image: 'x:${TAG:?set TAG to the release}'\n")
    done = cli("migrate", "ecs", str(compose), "-o", str(out))
    assert done.returncode == 2
    assert "compose.yaml:3: required variable TAG is missing a value: set TAG to the release" in done.stderr
    assert out.read_text() == "keep"
    compose.write_text("services:\n  a:\n    image: x\n    command: echo $1\n")
    done = cli("migrate", "ecs", str(compose), "-o", str(out))
    assert done.returncode == 2
    assert "compose.yaml:4: invalid interpolation format: 'echo $1'" in done.stderr
    assert "escape a literal $ as $$" in done.stderr
    assert out.read_text() == "keep"
    compose.write_text("services:\n  a:\n    image: 'x:${TAG}'\n    environment: [A=$HOSTISH]\n")
    (tmp_path / "vars.env").write_text("TAG=1.2\n")
    done = cli("migrate", "ecs", str(compose), "--env-file", str(tmp_path / "vars.env"), "--json")
    assert done.returncode == 0, done.stderr
    data = done.json()
    assert data["data"]["task_definition"]["containerDefinitions"][0]["image"] == "x:1.2"
    assert (
        "variables: variable HOSTISH is not set (compose.yaml:4); it reads as an empty string"
        in data["warnings"]
    )


def test_yaml_as_compose_reads_it(tmp_path: Path) -> None:
    project = load(
        tmp_path,
        "x-base: &base\n  image: base\n  restart: no\n  environment: {A: on}\nservices:\n"
        "  a:\n    <<: *base\n    ports: [22:22]\n    labels: {built: 2001-12-14}\n  b: *base\n",
    )
    a, b = svc(project, "a"), svc(project, "b")
    assert (a["restart"], a["environment"]["A"], a["ports"], a["labels"]["built"]) == (
        "no",
        "on",
        ["22:22"],
        "2001-12-14",
    )
    assert b["image"] == "base"
    a["environment"]["A"] = "changed"
    assert b["environment"]["A"] == "on"  # aliases are copies, not shared


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "services:\n  a:\n    image: x\n    image: y\n",
            "compose.yaml:4: key 'image' is already defined at line 3",
        ),
        ("services:\n  a: [unclosed\n", "compose.yaml:3: not valid YAML"),
        ("- a\n", "is not a mapping"),
        ("", "is empty"),
        ("a: &a [*a, *a]\n", "not valid YAML"),
        ("services: 3\n", "services must be a mapping"),
        (
            "services:\n  a:\n    image: x\n    bogus: 1\n",
            "compose.yaml:4: services/a: 'bogus' is not a key Compose",
        ),
        ("services:\n  a:\n    image: x\n    volumes: [':/data']\n", "empty section between colons"),
        ("services:\n  a:\n    image: x\n    volumes: ['data:relative']\n", "is not absolute"),
    ],
)
def test_bad_files(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("/", ".").replace("(", r"\(").replace("[", r"\[")):
        load(tmp_path, text)


def test_alias_bomb_is_refused(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 7)]
    with pytest.raises(UsageError, match="expands to too many values"):
        load(tmp_path, "\n".join(lines) + "\nservices:\n  a:\n    image: x\n")


def test_merge_rules_of_several_files(tmp_path: Path) -> None:
    base = (
        "services:\n  a:\n    image: x\n    command: [echo, base]\n    dns: [1.1.1.1]\n"
        "    environment: [A=1, B=1]\n    ports: ['80:80', '443:443']\n"
        "    volumes: ['data:/data', './conf:/etc/c']\n"
        "    logging: {driver: syslog, options: {tag: a}}\n    labels: {keep: 'yes', drop: 'yes'}\n"
        "    healthcheck: {test: [CMD, old], interval: 5s}\n    depends_on: [b]\n"
        "  b:\n    image: y\n  c:\n    image: z\nvolumes:\n  data: {}\n"
    )
    override = (
        "services:\n  a:\n    image: x:2\n    command: [echo, override]\n    dns: [8.8.8.8]\n"
        "    environment: {B: 2, C: 3}\n    ports: ['80:80', '8080:8080']\n    volumes: ['other:/data']\n"
        "    logging: {driver: gelf}\n    labels: {drop: !reset null}\n    healthcheck: {test: [CMD, new]}\n"
        "    depends_on: {c: {condition: service_started}}\n  c:\n    environment: !override {ONLY: 1}\n"
        "volumes:\n  other: {}\n"
    )
    project = load(
        tmp_path, base.replace("  b:\n    image: y\n", "  b:\n    image: y\n"), ("override.yaml", override)
    )
    a = svc(project)
    assert a["image"] == "x:2"
    assert a["command"] == ["echo", "override"]  # replaced, not appended
    assert a["dns"] == ["1.1.1.1", "8.8.8.8"]  # appended
    assert a["environment"] == {"A": "1", "B": 2, "C": 3}  # lists and mappings merge by name
    assert a["ports"] == ["80:80", "443:443", "8080:8080"]  # unique
    targets = {v["target"]: v.get("source") for v in a["volumes"]}
    assert targets == {"/data": "other", "/etc/c": str((tmp_path / "conf").resolve())}  # unique by target
    assert a["logging"] == {"driver": "gelf"}  # another driver: options do not carry over
    assert a["labels"] == {"keep": "yes"}
    assert a["healthcheck"] == {"test": ["CMD", "new"], "interval": "5s"}
    assert set(a["depends_on"]) == {"b", "c"}
    assert svc(project, "c")["environment"] == {"ONLY": 1}


def test_reset_dependency_is_then_undefined(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"compose.yaml:4: services.a.depends_on: b is not a service"):
        load(
            tmp_path,
            "services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: y\n",
            ("o.yaml", "services:\n  b: !reset\n"),
        )


def test_extends(tmp_path: Path) -> None:
    (tmp_path / "common").mkdir()
    (tmp_path / "common" / "base.yaml").write_text(
        "services:\n  base:\n    image: base\n    volumes: ['./data:/data']\n    environment: [A=1]\n"
        "    build: ./ctx\n    env_file: [base.env]\n"
    )
    project = load(
        tmp_path,
        "services:\n  web:\n    extends: {file: common/base.yaml, service: base}\n    environment: [B=2]\n"
        "  worker:\n    extends: web\n    command: work\n"
        "  plain:\n    extends: {service: web}\n    image: !reset\n",
    )
    web, worker = svc(project, "web"), svc(project, "worker")
    assert web["environment"] == {"A": "1", "B": "2"}
    assert web["volumes"][0]["source"] == str(
        (tmp_path / "common" / "data").resolve()
    )  # relative to base.yaml
    assert web["build"]["context"] == str((tmp_path / "common" / "ctx").resolve())
    assert web["env_file"] == [str((tmp_path / "common" / "base.env").resolve())]
    assert (worker["image"], worker["command"]) == ("base", "work")
    assert "image" not in svc(project, "plain")
    with pytest.raises(UsageError, match="extends cycle"):
        load(tmp_path, "services:\n  a:\n    extends: b\n  b:\n    extends: a\n")
    with pytest.raises(
        UsageError, match=r"compose\.yaml:4: services\.a\.extends: ghost is not a service of this file"
    ):
        load(tmp_path, "services:\n  a:\n    image: x\n    extends: ghost\n")


def test_include(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / ".env").write_text("SUBTAG=from-sub\n")
    (tmp_path / "sub" / "compose.yaml").write_text(
        "services:\n  db:\n    image: 'pg:${SUBTAG}'\n    volumes: ['./pgdata:/var/lib/postgresql/data']\n"
    )
    project = load(
        tmp_path, "include: [sub/compose.yaml]\nservices:\n  app:\n    image: app\n    depends_on: [db]\n"
    )
    db = svc(project, "db")
    assert db["image"] == "pg:from-sub"  # the included project's own .env
    assert project.variables_of("db").values["SUBTAG"] == "from-sub"
    assert "SUBTAG" not in project.variables_of("app").values
    assert db["volumes"][0]["source"] == str((tmp_path / "sub" / "pgdata").resolve())
    with pytest.raises(
        UsageError, match=r"the included file defines services\.db, which this file defines too"
    ):
        load(tmp_path, "include: [sub/compose.yaml]\nservices:\n  db:\n    image: other\n")


def test_profiles(tmp_path: Path) -> None:
    text = (
        "services:\n  app:\n    image: app\n  debug:\n    image: dbg\n    profiles: [debug]\n"
        "  tools:\n    image: t\n    profiles: [tools, debug]\n"
    )
    assert sorted(load(tmp_path, text).services) == ["app"]
    assert sorted(load(tmp_path, text, profiles=("debug",)).services) == ["app", "debug", "tools"]
    assert sorted(load(tmp_path, text, environ={"COMPOSE_PROFILES": "tools"}).services) == ["app", "tools"]
    assert sorted(load(tmp_path, text, profiles=("*",)).services) == ["app", "debug", "tools"]
    with pytest.raises(UsageError, match="debug is only enabled by profile debug; pass --profile debug"):
        load(
            tmp_path,
            text.replace("  app:\n    image: app\n", "  app:\n    image: app\n    depends_on: [debug]\n"),
        )


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("/data", {"type": "volume", "target": "/data"}),
        ("data:/data", {"type": "volume", "source": "data", "target": "/data"}),
        ("./data:/data:ro", {"type": "bind", "source": "./data", "target": "/data", "read_only": True}),
        ("../up:/up", {"type": "bind", "source": "../up", "target": "/up"}),
        ("~/cache:/cache:z", {"type": "bind", "source": "~/cache", "target": "/cache"}),
        ("/var/run/docker.sock:/var/run/docker.sock", {"type": "bind", "source": "/var/run/docker.sock"}),
        ("C:\\data:/data", {"type": "bind", "source": "C:\\data", "target": "/data"}),
        ("data:/data:nocopy", {"type": "volume", "source": "data", "volume": {"nocopy": True}}),
    ],
)
def test_volume_short_syntax(spec: str, expected: dict[str, Any]) -> None:
    parsed = parse_volume(spec)
    for key, value in expected.items():
        assert parsed[key] == value


def test_volume_sources_resolved(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("MEDIA=/srv/media\nREL=./rel\n")
    project = load(
        tmp_path,
        "services:\n  a:\n    image: x\n    volumes: ['${MEDIA}:/media', '${REL}:/rel', '~/h:/h',\n"
        "      {type: bind, source: ./long, target: /long}, 'named:/n']\nvolumes:\n  named: {}\n",
        environ={"HOME": "/home/u"},
    )
    volumes = svc(project)["volumes"]
    assert [(v["type"], v.get("source")) for v in volumes] == [
        ("bind", "/srv/media"),
        ("bind", str((tmp_path / "rel").resolve())),
        ("bind", "/home/u/h"),
        ("bind", str((tmp_path / "long").resolve())),
        ("volume", "named"),
    ]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("80", {"target": 80, "protocol": "tcp"}),
        ("8080:80", {"target": 80, "published": 8080}),
        (
            "127.0.0.1:8080:80/udp",
            {"target": 80, "published": 8080, "host_ip": "127.0.0.1", "protocol": "udp"},
        ),
        ("[::1]:6000:6000", {"host_ip": "::1", "published": 6000}),
        ("9090-9091:8080-8081", {"target": "8080-8081", "published": "9090-9091"}),
        ("127.0.0.1::5000", {"target": 5000, "host_ip": "127.0.0.1"}),
        (3000, {"target": 3000}),
    ],
)
def test_port_syntax(spec: Any, expected: dict[str, Any]) -> None:
    parsed = parse_port(spec)
    for key, value in expected.items():
        assert parsed[key] == value


@pytest.mark.parametrize("spec", ["eighty", "80:70000", "90-80", "1:2:3:4"])
def test_bad_ports(spec: str) -> None:
    with pytest.raises(UsageError, match="invalid port"):
        parse_port(spec)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "services:\n  a:\n    image: x\n    depends_on: [ghost]\n",
            "compose.yaml:4: services.a.depends_on: ghost is not a service of this project",
        ),
        (
            "services:\n  a:\n    image: x\n    links: ['ghost:g']\n",
            "compose.yaml:4: services.a.links: ghost is not",
        ),
        (
            "services:\n  a:\n    image: x\n    volumes_from: [ghost]\n",
            "services.a.volumes_from: ghost is not",
        ),
        (
            "services:\n  a:\n    image: x\n    network_mode: 'service:ghost'\n",
            "services.a.network_mode: ghost is not",
        ),
        (
            "services:\n  a:\n    image: x\n    networks: [back]\n",
            "compose.yaml:4: services.a.networks: network back is not declared under the top-level networks",
        ),
        (
            "services:\n  a:\n    image: x\n    volumes: ['data:/data']\n",
            "compose.yaml:4: services.a.volumes: volume data is not declared under the top-level volumes",
        ),
        (
            "services:\n  a:\n    image: x\n    secrets: [pw]\n",
            "compose.yaml:4: services.a.secrets: pw is not declared under the top-level secrets",
        ),
        (
            "services:\n  a:\n    image: x\n    configs: [{source: cfg}]\n",
            "services.a.configs: cfg is not declared",
        ),
        (
            "services:\n  a:\n    image: x\n    depends_on: [a]\n",
            "compose.yaml:4: dependency cycle: a -> a (through services.a.depends_on)",
        ),
        (
            "services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    links: [c]\n"
            "  c:\n    image: x\n    volumes_from: [a]\n",
            "dependency cycle: a -> b -> c -> a",
        ),
        (  # docker compose config and up refuse both (docker/compose pkg/e2e/fixtures/container_name)
            "services:\n  a:\n    image: x\n    container_name: one\n  b:\n    image: x\n"
            "    container_name: one\n",
            "compose.yaml:7: services.b: container name 'one' is already in use by service a",
        ),
        (  # docker compose up refuses it (pkg/e2e/fixtures/start_interval)
            "services:\n  a:\n    image: x\n    healthcheck:\n      test: [CMD, x]\n"
            "      start_interval: 1s\n",
            "compose.yaml:6: services.a.healthcheck: start_interval requires start_period to be set",
        ),
    ],
)
def test_references_and_cycles(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        load(tmp_path, text)
    assert message in str(caught.value)


def test_optional_dependency_may_be_missing(tmp_path: Path) -> None:
    project = load(
        tmp_path,
        "services:\n  a:\n    image: x\n    depends_on: {b: {condition: service_started, required: false}}\n",
    )
    assert list(project.services) == ["a"]


def test_cycle_through_the_cli(tmp_path: Path, cli: Any) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text(
        "services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: y\n    depends_on: [a]\n"
    )
    for args in (("migrate", "ecs", str(compose)), ("migrate", "compose", "--upgrade", str(compose))):
        done = cli(*args)
        assert done.returncode == 2, done.stderr
        assert "dependency cycle: a -> b -> a" in done.stderr
