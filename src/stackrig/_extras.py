"""The optional parts of stackrig (pip extras), and the one check that names a missing one.

``pip install stackrig`` gives every family's ``--help`` and every command that needs nothing
heavy. A family's heavy Python dependencies come with its extra (``stackrig[bench]``, ...;
``stackrig[all]`` for every one). A command that needs an extra is checked before it starts
(:func:`check_command`, called by the CLI entry), so it never does half its work first; a module
of an extra that turns out to be missing later (a choice made by an argument, such as a
``postgres://`` target) gives the same exit 3 through :func:`for_missing_module`.

:data:`NEEDS` is the table ``docs/design.md`` shows (a test keeps the two equal).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from stackrig.errors import MissingError

__all__ = ["EXTRAS", "NEEDS", "MissingExtraError", "Need", "check_command", "for_missing_module"]

# The import names each extra brings (pyproject.toml's [project.optional-dependencies]).
EXTRAS: dict[str, tuple[str, ...]] = {
    "fleet": ("ansible", "boto3", "botocore"),
    "bench": ("numpy", "matplotlib", "PIL", "uvicorn", "starlette", "httptools", "uvloop"),
    "qos": ("networkx",),
    "tune": ("numpy",),
    "migrate": ("jsonschema", "boto3", "botocore", "pymysql", "psycopg"),
}


@dataclass(frozen=True, slots=True)
class Need:
    """A command that needs an extra (``when``: only in that case; ``modules``: checked up front)."""

    command: str
    extra: str
    why: str
    when: str = ""
    modules: tuple[str, ...] = ()


_GRAPHS = ("numpy", "PIL", "matplotlib")
_GRAPHS_WHY = "graphs (numpy, Pillow, matplotlib)"
_SERVER = ("numpy", "uvicorn", "starlette", "httptools")
_SERVER_WHY = "the dashboard's server (uvicorn, Starlette) and series (numpy)"
_GRAPHS_SERVED = (*_GRAPHS, *_SERVER[1:])
_GRAPHS_SERVED_WHY = _GRAPHS_WHY + ", the dashboard (uvicorn)"

NEEDS: tuple[Need, ...] = (
    Need("fleet up", "fleet", "the AWS API (boto3)", modules=("botocore",)),
    Need("fleet down", "fleet", "the AWS API (boto3)", modules=("botocore",)),
    Need("fleet discover", "fleet", "the AWS API (boto3)", when="--provider aws (the default)"),
    Need("fleet play", "fleet", "runs ansible-playbook (ansible-core)"),
    Need("fleet run", "fleet", "runs ansible-playbook (ansible-core)"),
    Need("bench run", "fleet", "runs ansible-inventory (ansible-core)", when="--inventory"),
    Need("bench plot", "bench", _GRAPHS_WHY, modules=_GRAPHS),
    Need("bench report", "bench", _GRAPHS_WHY, modules=_GRAPHS),
    Need("bench serve", "bench", _SERVER_WHY, modules=_SERVER),
    Need("bench aio", "bench", _GRAPHS_SERVED_WHY, modules=_GRAPHS_SERVED),
    Need("bench container", "bench", _GRAPHS_SERVED_WHY, modules=_GRAPHS_SERVED),
    Need("bench container run", "bench", _GRAPHS_WHY, modules=_GRAPHS),
    Need("bench container plot", "bench", _GRAPHS_WHY, modules=_GRAPHS),
    Need("bench container serve", "bench", _SERVER_WHY, modules=_SERVER),
    Need("bench sweep", "bench", _GRAPHS_WHY, modules=_GRAPHS),
    Need("tune audit", "fleet", "runs ansible on the hosts (ansible-core)", when="--inventory"),
    Need("tune apply", "fleet", "runs ansible on the hosts (ansible-core)", when="--inventory"),
    Need("tune revert", "fleet", "runs ansible on the hosts (ansible-core)", when="--inventory"),
    Need("tune flavors", "tune", "placement's arithmetic (numpy)", modules=("numpy",)),
    Need("tune capacity", "tune", "placement's arithmetic (numpy)", modules=("numpy",)),
    Need("qos path", "qos", "the shortest path on the topology (networkx)", modules=("networkx",)),
    Need("qos verify", "qos", "the switches on the path between the hosts (networkx)", modules=("networkx",)),
    Need(
        "migrate compose", "migrate", "the Compose Specification schema (jsonschema)", modules=("jsonschema",)
    ),
    Need(
        "migrate ecs",
        "migrate",
        "the compose schema (jsonschema), the task definition's shape (botocore), --register (boto3)",
        modules=("jsonschema", "botocore"),
    ),
    Need(
        "migrate lint",
        "migrate",
        "the compose schema (jsonschema), the task definition's shape (botocore)",
        modules=("jsonschema",),
    ),
    Need(
        "migrate wait",
        "migrate",
        "database probes (PyMySQL, psycopg)",
        when="mysql:// or postgres:// targets",
    ),
)


class MissingExtraError(MissingError):
    """A command needs a Python package that comes with one of stackrig's extras."""

    def __init__(self, command: str, extra: str, module: str) -> None:
        what = f"{command} needs" if command else "this needs"
        super().__init__(
            f"{what} the {extra} extra ({module} is not installed): pip install 'stackrig[{extra}]'"
        )
        self.extra = extra
        self.module = module


def _installed(module: str) -> bool:
    # find_spec looks the name up on sys.path without importing it (microseconds, not the import).
    return importlib.util.find_spec(module) is not None


def check_command(command: str) -> None:
    """Raise :class:`MissingExtraError` if ``command`` (``"bench plot"``) needs a missing extra."""
    for need in NEEDS:
        if need.command == command:
            for module in need.modules:
                if not _installed(module):
                    raise MissingExtraError(command, need.extra, module)


def for_missing_module(command: str, missing: str | None) -> MissingExtraError | None:
    """The error for a ``ModuleNotFoundError`` of ``missing``, if an extra brings that module.

    A module that two extras bring (botocore: fleet and migrate) is credited to the extra of
    the command's own family when that extra has it.
    """
    if not missing:
        return None
    top = missing.partition(".")[0]
    family = command.partition(" ")[0]
    owners = [name for name, modules in EXTRAS.items() if top in modules]
    if not owners:
        return None
    extra = family if family in owners else owners[0]
    return MissingExtraError(command, extra, top)
