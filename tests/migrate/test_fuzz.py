"""No compose input ends in an internal error: generated documents (valid or not) through ``migrate ecs`` and
``migrate compose --upgrade`` give a result or a StackrigError (a named exit code), never anything else."""

from __future__ import annotations

import string
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stackrig.errors import StackrigError
from stackrig.migrate import ComposeSettings, EcsSettings, make_compose, make_task_definition

KEYS = [
    "image",
    "build",
    "command",
    "entrypoint",
    "environment",
    "env_file",
    "ports",
    "expose",
    "volumes",
    "volumes_from",
    "depends_on",
    "links",
    "healthcheck",
    "logging",
    "restart",
    "deploy",
    "mem_limit",
    "mem_reservation",
    "cpus",
    "cpu_shares",
    "ulimits",
    "cap_add",
    "cap_drop",
    "tmpfs",
    "shm_size",
    "sysctls",
    "devices",
    "extra_hosts",
    "dns",
    "network_mode",
    "networks",
    "secrets",
    "configs",
    "labels",
    "user",
    "working_dir",
    "stop_grace_period",
    "privileged",
    "read_only",
    "init",
    "pid",
    "ipc",
    "platform",
    "extends",
    "profiles",
    "security_opt",
    "gpus",
    "hostname",
    "container_name",
    "x-ext",
    "bogus",
]
TEXT = st.text(alphabet=string.ascii_letters + string.digits + "$:{}-/._=?+ ~!@", max_size=24)
SCALAR = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 70000), st.floats(allow_nan=False, width=16), TEXT
)
VALUE = st.recursive(
    SCALAR,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), TEXT), inner, max_size=4),
    ),
    max_leaves=12,
)
NAMES = st.sampled_from(["web", "db", "cache", "a-b", "x.y"])
SERVICE = st.dictionaries(st.sampled_from(KEYS), VALUE, max_size=6)
DOCUMENT = st.fixed_dictionaries(
    {"services": st.dictionaries(NAMES, st.one_of(SERVICE, VALUE), max_size=3)},
    optional={
        "volumes": st.dictionaries(TEXT, st.one_of(st.none(), VALUE), max_size=2),
        "networks": st.dictionaries(TEXT, st.one_of(st.none(), VALUE), max_size=2),
        "secrets": st.dictionaries(TEXT, VALUE, max_size=2),
        "name": TEXT,
        "include": VALUE,
        "version": TEXT,
    },
)


LINES = [
    "services:\n",
    "  web:\n",
    "    image: x\n",
    "    <<: *a\n",
    "x-a: &a\n",
    "  image: y\n",
    "    ports: [22:22]\n",
    "    command: $1\n",
    "    - a\n",
    "  db: !reset\n",
    "    environment: [A=${B:-c}]\n",
    "    volumes: [':/x']\n",
    "\t\n",
    "  a: &a [*a]\n",
    "include: [compose.yaml]\n",
    "    extends: web\n",
    "    depends_on: [web]\n",
]


def _run_all(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "compose.yaml"
        path.write_text(text)
        codes: list[int] = []
        for run in (
            lambda: make_task_definition(EcsSettings(path, environ={"SET": "v"})),
            lambda: make_task_definition(
                EcsSettings(path, environ={}, launch_type="fargate", execution_role="r")
            ),
            lambda: make_compose(ComposeSettings(upgrade=path, output=Path(tmp) / "out" / "new.yaml")),
        ):
            try:
                run()
            except StackrigError as exc:
                codes.append(int(exc.exit_code))
        assert 70 not in codes


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DOCUMENT)
def test_generated_documents_never_crash(document: dict[str, Any]) -> None:
    _run_all(yaml.safe_dump(document, sort_keys=False))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=string.printable, max_size=200))
def test_arbitrary_text_never_crashes(text: str) -> None:
    _run_all(text)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(LINES), max_size=12))
def test_mangled_compose_never_crashes(lines: list[str]) -> None:
    _run_all("".join(lines))


# Values of the right shape for each key (edge cases included), so generated services get past the schema
# and into every mapping.
PLAUSIBLE: dict[str, list[Any]] = {
    "image": ["nginx", "x:${TAG:-1}", "registry:5000/a/b@sha256:" + "0" * 64],
    "build": [".", {"context": "./app", "dockerfile": "D"}, {"context": "https://git.example/x.git"}],
    "command": ["a 'b c'", ["a", "b"], "unbalanced 'quote", "", []],
    "entrypoint": ["", [], ["/init"], "sh -c 'x'"],
    "environment": [["A=1", "B", "C="], {"A": None, "PASSWORD": "${SET}", "N": 1, "T": True}],
    "env_file": ["missing.env", [{"path": "x.env", "required": False}], "arn:aws:s3:::b/k.env"],
    "ports": [
        ["80", "8080:80/udp", "127.0.0.1:1-2:1-2", "[::1]:5:5", 99],
        [{"target": 80, "published": "81"}],
        [{"target": "8000-8001", "app_protocol": "grpc"}],
        ["0:0"],
        ["65535:65535/sctp"],
    ],
    "expose": [["80", "90-91/udp"], [80]],
    "volumes": [
        ["/a", "v:/b", "./c:/c:ro,z", "~/d:/d", "${SET}:/e"],
        [{"type": "tmpfs", "target": "/t", "tmpfs": {"size": "1m", "mode": 1777}}],
        [{"type": "npipe", "source": "\\\\.\\pipe\\x", "target": "/p"}],
        [{"type": "volume", "source": "v", "target": "/v", "volume": {"nocopy": True, "subpath": "s"}}],
    ],
    "volumes_from": [["web", "web:ro", "container:x", "service:db:rw"]],
    "depends_on": [
        ["db"],
        {"db": {"condition": "service_healthy", "required": False, "restart": True}},
        {"web": {"condition": "service_completed_successfully"}},
    ],
    "links": [["db", "db:alias"]],
    "healthcheck": [
        {"test": "x"},
        {"test": ["NONE"]},
        {"disable": True},
        {"test": ["CMD", "x"], "interval": "0s", "timeout": "1h", "retries": 0, "start_period": "1ms"},
        {"interval": "5s"},
    ],
    "logging": [{"driver": "none"}, {"driver": "awslogs", "options": {"a": 1}}, {"options": {"x": None}}],
    "restart": ["no", "always", "on-failure:5", "unless-stopped"],
    "deploy": [
        {
            "resources": {
                "limits": {"cpus": "0.001", "memory": "1k", "pids": 5},
                "reservations": {"devices": [{"capabilities": ["gpu"], "count": "all"}], "memory": "3m"},
            },
            "replicas": 2,
        },
        {"restart_policy": {"condition": "none", "window": "1h", "max_attempts": 2}},
    ],
    "mem_limit": ["1k", "6m", 10**12, "0"],
    "mem_reservation": ["2g", 0],
    "cpus": [0.0001, "4", 64],
    "cpu_shares": [0, 2, 99999],
    "ulimits": [{"nofile": 10, "core": {"soft": 5, "hard": 1}, "bogus": 1}],
    "cap_add": [["ALL", "cap_net_admin", "WHATEVER"]],
    "tmpfs": ["/t", ["/a:size=1k,mode=0777,uid=1"]],
    "shm_size": ["64m", 0],
    "sysctls": [["a.b=1"], {"net.x": 0}],
    "devices": [["/dev/a", "/dev/b:/dev/c:rwm", "nvidia.com/gpu=all"]],
    "extra_hosts": [["a:1.2.3.4", "b=host-gateway", "c::1"], {"d": "5.6.7.8"}],
    "dns": ["1.1.1.1", ["8.8.8.8"]],
    "network_mode": ["host", "none", "bridge", "service:db", "container:x"],
    "networks": [["default", "back"], {"default": {"aliases": ["a"], "ipv4_address": "10.0.0.1"}}],
    "secrets": [["s"], [{"source": "s", "target": "/run/secrets/t"}]],
    "configs": [["c"]],
    "labels": [["a=b", "c"], {"x": None}],
    "stop_grace_period": ["10m", "1us"],
    "privileged": [True, "true"],
    "read_only": ["false"],
    "init": [True],
    "pid": ["host", "service:db"],
    "ipc": ["shareable", "private", "host"],
    "platform": ["linux/arm64", "windows/amd64"],
    "extends": ["db", {"service": "web"}, {"file": "missing.yaml", "service": "x"}],
    "profiles": [["p"]],
    "security_opt": [["no-new-privileges", "seccomp:unconfined", "label=type:x"]],
    "gpus": ["all", [{"count": 2}]],
    "hostname": ["h"],
    "container_name": ["c"],
    "user": [1000, "u:g"],
}
PLAUSIBLE_SERVICE = st.dictionaries(
    st.sampled_from(sorted(PLAUSIBLE)), st.sampled_from([0]), max_size=8
).flatmap(lambda keys: st.fixed_dictionaries({k: st.sampled_from(PLAUSIBLE[k]) for k in keys}))
PLAUSIBLE_DOCUMENT = st.fixed_dictionaries(
    {"services": st.dictionaries(st.sampled_from(["web", "db"]), PLAUSIBLE_SERVICE, min_size=1, max_size=2)},
    optional={
        "volumes": st.just({"v": {"external": True}}),
        "networks": st.just({"back": {"driver": "overlay"}}),
        "secrets": st.just({"s": {"file": "s.txt"}}),
        "configs": st.just({"c": {"file": "c.txt"}}),
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(PLAUSIBLE_DOCUMENT)
def test_plausible_documents_never_crash(document: dict[str, Any]) -> None:
    _run_all(yaml.safe_dump(document, sort_keys=False))
