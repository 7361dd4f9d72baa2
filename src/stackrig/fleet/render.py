"""Render a config template against an inventory: sandboxed Jinja2, StrictUndefined, secrets masked.

The template sees ``hosts`` (each host's variables plus ``name``), ``first``
(the first host of the input, the ``instances[0]`` of hand-written scripts), ``groups``
(name → hosts), ``vars`` (``--var K=V``) and ``env.NAME`` (environment
variables). Inventory values are data to Jinja, never templates. A variable
the template uses but nobody set is a USAGE error naming it and the line; the
output is written atomically with mode 0600 because it may hold secrets.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import jinja2
import jinja2.sandbox
from jinja2.exceptions import SecurityError

from stackrig._io import atomic_write, ensure_not_input, read_text
from stackrig.errors import UsageError
from stackrig.fleet._reader import Inventory, read_inventory

__all__ = ["RenderSettings", "Rendered", "TemplateError", "parse_vars", "render", "render_template"]

MASK = "***"


class TemplateError(UsageError):
    """The template cannot be rendered: syntax error, unset variable, forbidden operation."""


class _Env(Mapping[str, str]):
    """``env`` in templates: the environment, remembering which values were read (to mask them)."""

    def __init__(self, environ: Mapping[str, str], tokens: Mapping[str, str] | None = None) -> None:
        self._environ = dict(environ)
        self._tokens = tokens
        self.used: dict[str, str] = {}

    def __getitem__(self, key: str) -> str:
        value = self._environ[key]
        self.used[key] = value
        return self._tokens[key] if self._tokens is not None else value

    def __iter__(self) -> Iterator[str]:
        return iter(self._environ)

    def __len__(self) -> int:
        return len(self._environ)


class _Undefined(jinja2.StrictUndefined):
    pass


def _dumps(obj: Any, **kwargs: Any) -> str:
    """``tojson`` that reports an undefined value as undefined (not as a JSON TypeError)."""

    def default(value: Any) -> Any:
        if isinstance(value, jinja2.Undefined):
            value._fail_with_undefined_error()
        raise TypeError(f"{type(value).__name__} cannot be written as JSON")

    return json.dumps(obj, default=default, **kwargs)


class _Sandbox(jinja2.sandbox.ImmutableSandboxedEnvironment):
    """The sandbox, plus: ``env.NAME`` of an unset variable fails at once, naming it."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, _Env):
            return self.getitem(obj, attribute)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(obj, _Env):
            if argument not in obj:
                raise jinja2.UndefinedError(f"environment variable {argument} is not set")
            return obj[argument]
        return super().getitem(obj, argument)


@dataclass(frozen=True, slots=True)
class Rendered:
    content: str
    env_used: tuple[str, ...]
    masked: str


@dataclass(frozen=True, slots=True)
class RenderSettings:
    template: Path
    inventory: Path
    output: Path | None = None
    vars: Mapping[str, str] = field(default_factory=dict)
    dry_run: bool = False


@dataclass(frozen=True, slots=True)
class RenderResult:
    """What ``fleet render`` did: the text (masked when it is only shown) and where it went."""

    content: str
    output: Path | None
    written: bool
    env_used: tuple[str, ...]
    hosts: int


def parse_vars(pairs: Sequence[str]) -> dict[str, str]:
    """``K=V`` strings → dict; a pair without ``=`` or with an empty key is a USAGE error."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--var {pair!r} is not KEY=VALUE")
        out[key.strip()] = value
    return out


def _context(inventory: Inventory, variables: Mapping[str, str], env: _Env) -> dict[str, Any]:
    # Plain dicts (tojson works on them); the immutable sandbox forbids changing them.
    hosts = [{**entry.vars, "name": entry.name} for entry in inventory.hosts]
    by_name = {h["name"]: h for h in hosts}
    context: dict[str, Any] = {
        "hosts": hosts,
        "groups": {g: [by_name[n] for n in names if n in by_name] for g, names in inventory.groups.items()},
        "vars": dict(variables),
        "env": env,
    }
    if hosts:
        context["first"] = hosts[0]
    return context


def _template_line(exc: BaseException, filename: str) -> int | None:
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _fail(template: Path, line: int | None, message: str) -> NoReturn:
    where = f"{template}:{line}" if line else str(template)
    raise TemplateError(f"{where}: {message}")


def _mask_by_value(text: str, secrets: Mapping[str, str]) -> str:
    variants: set[str] = set()
    for value in secrets.values():
        if value:
            variants.add(value)
            variants.add(json.dumps(value)[1:-1])
    for value in sorted(variants, key=len, reverse=True):
        text = text.replace(value, MASK)
    return text


def _masked_render(
    compiled: jinja2.Template, make_context: Any, environ: Mapping[str, str], real: str
) -> str:
    """Render again with each env value replaced by a token, then the tokens by ``***``.

    So every value that came from env is masked, however the template combined it.
    If the template cannot work on tokens (``env.X | int``), the real values are
    masked in the real output instead.
    """
    tokens = {name: f"zqx{secrets.token_hex(8)}qxz" for name in environ}
    env = _Env(environ, tokens)
    try:
        text = compiled.render(make_context(env))
    except Exception:  # noqa: BLE001 - any failure: fall back to masking by value
        return _mask_by_value(real, env.used)
    pattern = re.compile("|".join(re.escape(tokens[name]) for name in env.used) or "(?!)", re.IGNORECASE)
    return pattern.sub(MASK, text)


def render_template(
    template: Path, inventory: Inventory, *, variables: Mapping[str, str], environ: Mapping[str, str]
) -> Rendered:
    """Render ``template`` in a sandbox; raise :class:`TemplateError` (USAGE) with file:line."""
    source = read_text(template, what="template")
    sandbox = _Sandbox(undefined=_Undefined, keep_trailing_newline=True, autoescape=False)
    sandbox.policies["json.dumps_function"] = _dumps
    filename = str(template)
    try:
        code = sandbox.compile(source, name=template.name, filename=filename)
        compiled = sandbox.template_class.from_code(sandbox, code, sandbox.make_globals(None), None)
    except jinja2.TemplateSyntaxError as exc:
        _fail(template, exc.lineno, f"template syntax error: {exc.message}")
    env = _Env(environ)

    def make_context(env_proxy: _Env) -> dict[str, Any]:
        return _context(inventory, variables, env_proxy)

    try:
        content = compiled.render(make_context(env))
    except jinja2.UndefinedError as exc:
        _fail(template, _template_line(exc, filename), str(exc.message))
    except SecurityError as exc:
        _fail(template, _template_line(exc, filename), f"not allowed in a stackrig template: {exc}")
    except jinja2.TemplateError as exc:
        _fail(template, _template_line(exc, filename), str(exc))
    except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
        _fail(template, _template_line(exc, filename), f"{type(exc).__name__}: {exc}")
    masked = _masked_render(compiled, make_context, environ, content) if env.used else content
    return Rendered(content, tuple(env.used), masked)


def render(settings: RenderSettings, environ: Mapping[str, str]) -> RenderResult:
    """``fleet render``: read the inventory, render, write 0600 atomically (unless a dry run)."""
    if settings.output is not None and not settings.dry_run:
        ensure_not_input(settings.output, [settings.template, settings.inventory])
    inventory = read_inventory(settings.inventory)
    rendered = render_template(settings.template, inventory, variables=settings.vars, environ=environ)
    if settings.dry_run or settings.output is None:
        content = rendered.masked if settings.dry_run else rendered.content
        return RenderResult(content, settings.output, False, rendered.env_used, len(inventory.hosts))
    atomic_write(settings.output, rendered.content, secret=True)
    return RenderResult("", settings.output, True, rendered.env_used, len(inventory.hosts))
