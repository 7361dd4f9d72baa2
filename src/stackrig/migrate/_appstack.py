"""The app's stack (Ruby/Python/Node lock files) and its database configuration.

Secret values (passwords, URL credentials, secret-looking .env values) are read
only to be added to the ``secrets`` set the caller scrubs with; they are never
put into a result.
"""

from __future__ import annotations

import json
import re
import tomllib
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from stackrig.migrate._redact import is_secret_name

__all__ = ["AppStack", "DbConfig", "Dependency", "find_apps", "read_app_stack", "read_db_configs"]

_MAX_FILE = 4 * 1024 * 1024
_FRAMEWORKS = {
    "ruby": ("rails", "sinatra", "hanami"),
    "python": ("django", "flask", "fastapi", "pyramid", "tornado"),
    "node": ("express", "next", "koa", "@nestjs/core", "fastify", "hapi"),
}
_DEFAULT_PORTS = {
    "rails": 3000,
    "sinatra": 4567,
    "django": 8000,
    "flask": 5000,
    "fastapi": 8000,
    "express": 3000,
    "next": 3000,
}
MARKERS = ("Gemfile.lock", "Gemfile", "requirements.txt", "poetry.lock", "pyproject.toml", "package.json")


@dataclass(frozen=True, slots=True)
class Dependency:
    name: str
    version: str


@dataclass(frozen=True, slots=True)
class AppStack:
    path: str
    language: str
    runtime_version: str | None
    framework: str | None
    framework_version: str | None
    default_port: int | None
    dependencies: tuple[Dependency, ...]
    evidence: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DbConfig:
    source: str
    environment: str | None
    adapter: str | None
    host: str | None
    port: int | None
    database: str | None
    username: str | None
    password_set: bool


def _read(path: Path) -> str | None:
    try:
        if not path.is_file() or path.stat().st_size > _MAX_FILE:
            return None
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def find_apps(root: Path) -> list[Path]:
    """App folders under the usual places of a VM (/srv, /var/www, /opt, /home/*, /root)."""
    bases = [root / "srv", root / "var" / "www", root / "opt", root / "root", root / "usr" / "src"]
    try:
        home = root / "home"
        bases.extend(sorted(p for p in home.iterdir() if p.is_dir()) if home.is_dir() else [])
    except OSError:
        pass
    found: list[Path] = []
    for base in bases:
        for candidate in _children(base, depth=2):
            if any((candidate / m).is_file() for m in MARKERS) and candidate not in found:
                found.append(candidate)
    return found


def _children(base: Path, depth: int) -> list[Path]:
    out: list[Path] = []
    try:
        if not base.is_dir():
            return out
        entries = sorted(p for p in base.iterdir() if p.is_dir() and not p.is_symlink())
    except OSError:
        return out
    for entry in entries:
        if entry.name.startswith(".") or entry.name in ("node_modules", "vendor", "venv", ".venv"):
            continue
        out.append(entry)
        if depth > 1:
            out.extend(_children(entry, depth - 1))
    return out


# ------------------------------------------------------------------ stacks


def _gemfile_lock(text: str) -> tuple[dict[str, str], str | None]:
    gems: dict[str, str] = {}
    ruby = None
    section = None
    for line in text.splitlines():
        if line and not line.startswith(" "):
            section = line.strip()
            continue
        if section == "GEM":
            m = re.match(r"^    ([\w.-]+) \(([^)]+)\)$", line)
            if m:
                gems[m.group(1)] = m.group(2)
        elif section == "RUBY VERSION":
            m = re.match(r"^\s+ruby (\d[\w.]*)", line)
            if m:
                ruby = m.group(1).split("p")[0]
    return gems, ruby


def _ruby(app: Path, evidence: list[str]) -> tuple[dict[str, str], str | None]:
    gems: dict[str, str] = {}
    ruby = None
    lock = _read(app / "Gemfile.lock")
    if lock is not None:
        gems, ruby = _gemfile_lock(lock)
        evidence.append(f"{app / 'Gemfile.lock'}: {len(gems)} gems")
        if ruby:
            evidence.append(f"{app / 'Gemfile.lock'}: RUBY VERSION {ruby}")
    version_file = _read(app / ".ruby-version")
    if version_file and version_file.strip():
        ruby = version_file.strip().removeprefix("ruby-").split("-")[0]
        evidence.append(f"{app / '.ruby-version'}: {ruby}")
    gemfile = _read(app / "Gemfile")
    if gemfile and not ruby:
        m = re.search(r"""^\s*ruby\s+['"]([\d.]+)""", gemfile, re.MULTILINE)
        if m:
            ruby = m.group(1)
            evidence.append(f"{app / 'Gemfile'}: ruby {ruby}")
    return gems, ruby


def _python(app: Path, evidence: list[str]) -> tuple[dict[str, str], str | None]:  # noqa: PLR0912 - one branch per translated key reads better than a dispatch table
    deps: dict[str, str] = {}
    version = None
    req = _read(app / "requirements.txt")
    if req is not None:
        for line in req.splitlines():
            line = line.split("#", 1)[0].strip()  # noqa: PLW2901 - the stripped line replaces the raw one
            m = re.match(r"^([A-Za-z0-9_.\-\[\]]+)\s*(?:(==|>=|~=|<=)\s*([\w.*+-]+))?", line)
            if m and not line.startswith("-"):
                deps[m.group(1).split("[")[0].lower()] = m.group(3) or ""
        evidence.append(f"{app / 'requirements.txt'}: {len(deps)} packages")
    poetry = _read(app / "poetry.lock")
    if poetry is not None:
        try:
            doc = tomllib.loads(poetry)
            for pkg in doc.get("package", []):
                deps[str(pkg.get("name", "")).lower()] = str(pkg.get("version", ""))
            evidence.append(f"{app / 'poetry.lock'}: {len(doc.get('package', []))} packages")
        except tomllib.TOMLDecodeError:
            evidence.append(f"{app / 'poetry.lock'}: not valid TOML, skipped")
    pyproject = _read(app / "pyproject.toml")
    if pyproject is not None:
        try:
            doc = tomllib.loads(pyproject)
        except tomllib.TOMLDecodeError:
            doc = {}
            evidence.append(f"{app / 'pyproject.toml'}: not valid TOML, skipped")
        project = doc.get("project", {})
        for spec in project.get("dependencies", []):
            m = re.match(r"^([A-Za-z0-9_.\-]+)\s*(?:[=~><!]=?\s*([\w.*+-]+))?", str(spec))
            if m:
                deps.setdefault(m.group(1).lower(), m.group(2) or "")
        poetry_deps = doc.get("tool", {}).get("poetry", {}).get("dependencies", {})
        for name, spec in poetry_deps.items():
            if name.lower() == "python":
                version = str(spec).lstrip("^~>=<")
                continue
            deps.setdefault(name.lower(), str(spec if isinstance(spec, str) else spec.get("version", "")))
        requires = project.get("requires-python")
        if requires and not version:
            m = re.search(r"(\d+\.\d+)", str(requires))
            version = m.group(1) if m else None
        evidence.append(f"{app / 'pyproject.toml'}: project dependencies")
    pv = _read(app / ".python-version")
    if pv and pv.strip():
        version = pv.strip().splitlines()[0]
        evidence.append(f"{app / '.python-version'}: {version}")
    return deps, version


def _node(app: Path, evidence: list[str]) -> tuple[dict[str, str], str | None]:  # noqa: PLR0912 - one branch per translated key reads better than a dispatch table
    deps: dict[str, str] = {}
    version = None
    pkg_text = _read(app / "package.json")
    if pkg_text is not None:
        try:
            pkg = json.loads(pkg_text)
        except json.JSONDecodeError:
            pkg = {}
            evidence.append(f"{app / 'package.json'}: not valid JSON, skipped")
        if isinstance(pkg, dict):
            for key in ("dependencies", "devDependencies"):
                for name, spec in (pkg.get(key) or {}).items():
                    deps.setdefault(str(name), str(spec).lstrip("^~>=<"))
            node = (pkg.get("engines") or {}).get("node")
            if node:
                m = re.search(r"(\d+(?:\.\d+)*)", str(node))
                version = m.group(1) if m else None
            evidence.append(f"{app / 'package.json'}: {len(deps)} dependencies")
    lock_text = _read(app / "package-lock.json")
    if lock_text is not None:
        try:
            lock = json.loads(lock_text)
        except json.JSONDecodeError:
            lock = {}
        packages = lock.get("packages") if isinstance(lock, dict) else None
        if isinstance(packages, dict):
            for key, meta in packages.items():
                if key.startswith("node_modules/") and key.count("node_modules/") == 1:
                    deps[key.removeprefix("node_modules/")] = str(meta.get("version", ""))
        elif isinstance(lock, dict) and isinstance(lock.get("dependencies"), dict):
            for name, meta in lock["dependencies"].items():
                deps[name] = str(meta.get("version", ""))
        evidence.append(f"{app / 'package-lock.json'}: locked versions")
    nv = _read(app / ".nvmrc")
    if nv and nv.strip():
        version = nv.strip().lstrip("v")
    return deps, version


def read_app_stack(app: Path) -> AppStack | None:
    """The language, runtime and framework of the app in ``app`` (None when none is recognised)."""
    evidence: list[str] = []
    for language, reader, markers in (
        ("ruby", _ruby, ("Gemfile.lock", "Gemfile")),
        ("python", _python, ("requirements.txt", "poetry.lock", "pyproject.toml")),
        ("node", _node, ("package.json",)),
    ):
        if not any((app / m).is_file() for m in markers):
            continue
        deps, runtime = reader(app, evidence)
        framework = next((f for f in _FRAMEWORKS[language] if f in deps), None)
        return AppStack(
            path=str(app),
            language=language,
            runtime_version=runtime,
            framework=framework,
            framework_version=deps.get(framework) if framework else None,
            default_port=_DEFAULT_PORTS.get(framework or ""),
            dependencies=tuple(Dependency(n, v) for n, v in sorted(deps.items())),
            evidence=tuple(evidence),
        )
    return None


# ------------------------------------------------------------------ database configuration

_ERB = re.compile(r"<%=?\s*(.*?)\s*%>")
_ERB_ENV = re.compile(r"""ENV\[['"](\w+)['"]\]|ENV\.fetch\(['"](\w+)['"]""")


def _erb_to_yaml(text: str) -> str:
    def swap(match: re.Match[str]) -> str:
        env = _ERB_ENV.search(match.group(1))
        name = (env.group(1) or env.group(2)) if env else "erb"
        return "${" + name + "}"

    return _ERB.sub(swap, text)


def _port(value: Any) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def _database_yml(path: Path, text: str, secrets: set[str]) -> list[DbConfig]:
    try:
        doc = yaml.safe_load(_erb_to_yaml(text))
    except yaml.YAMLError:
        return []
    if not isinstance(doc, dict):
        return []
    out = []
    for env, conf in doc.items():
        if not isinstance(conf, dict) or ("adapter" not in conf and "database" not in conf):
            continue
        password = conf.get("password")
        if password not in (None, ""):
            secrets.add(str(password))
        out.append(
            DbConfig(
                source=str(path),
                environment=str(env),
                adapter=str(conf["adapter"]) if conf.get("adapter") else None,
                host=str(conf["host"]) if conf.get("host") else None,
                port=_port(conf.get("port")),
                database=str(conf["database"]) if conf.get("database") else None,
                username=str(conf["username"]) if conf.get("username") else None,
                password_set=password not in (None, ""),
            )
        )
    return out


def _url_config(source: str, env: str | None, url: str, secrets: set[str]) -> DbConfig | None:
    parts = urllib.parse.urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    if parts.password:
        secrets.add(parts.password)
        secrets.add(urllib.parse.unquote(parts.password))
    try:
        port = parts.port
    except ValueError:
        port = None
    return DbConfig(
        source=source,
        environment=env,
        adapter=parts.scheme,
        host=parts.hostname,
        port=port,
        database=parts.path.lstrip("/") or None,
        username=urllib.parse.unquote(parts.username) if parts.username else None,
        password_set=bool(parts.password),
    )


def _dotenv(path: Path, text: str, secrets: set[str]) -> list[DbConfig]:
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()  # noqa: PLW2901 - the stripped line replaces the raw one
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip().strip("'\"")
        key = key.strip()
        values[key] = value
        if is_secret_name(key) and value:
            secrets.add(value)
    out = []
    for key, value in values.items():
        if key.endswith("DATABASE_URL") or key == "DB_URL":
            conf = _url_config(str(path), key, value, secrets)
            if conf:
                out.append(conf)
    host = values.get("DB_HOST") or values.get("DATABASE_HOST") or values.get("MYSQL_HOST")
    name = values.get("DB_NAME") or values.get("DB_DATABASE") or values.get("DATABASE_NAME")
    if host or name:
        out.append(
            DbConfig(
                source=str(path),
                environment=None,
                adapter=values.get("DB_ADAPTER") or values.get("DB_CONNECTION") or values.get("DB_ENGINE"),
                host=host,
                port=_port(values.get("DB_PORT") or values.get("DATABASE_PORT")),
                database=name,
                username=values.get("DB_USER") or values.get("DB_USERNAME") or values.get("DATABASE_USER"),
                password_set=bool(values.get("DB_PASSWORD") or values.get("DATABASE_PASSWORD")),
            )
        )
    return out


_DJANGO_KEY = re.compile(r"""['"](ENGINE|NAME|HOST|PORT|USER|PASSWORD)['"]\s*:\s*['"]([^'"]*)['"]""")


def _settings_py(path: Path, text: str, secrets: set[str]) -> list[DbConfig]:
    if "DATABASES" not in text:
        return []
    found = dict(_DJANGO_KEY.findall(text.split("DATABASES", 1)[1]))
    if found.get("PASSWORD"):
        secrets.add(found["PASSWORD"])
    if "ENGINE" not in found:
        return []
    return [
        DbConfig(
            source=str(path),
            environment=None,
            adapter=found["ENGINE"].rsplit(".", 1)[-1],
            host=found.get("HOST") or None,
            port=_port(found.get("PORT")),
            database=found.get("NAME") or None,
            username=found.get("USER") or None,
            password_set=bool(found.get("PASSWORD")),
        )
    ]


def read_db_configs(app: Path, secrets: set[str]) -> list[DbConfig]:
    """Database settings of the app: config/database.yml, .env files, Django settings."""
    out: list[DbConfig] = []
    db_yml = app / "config" / "database.yml"
    text = _read(db_yml)
    if text is not None:
        out.extend(_database_yml(db_yml, text, secrets))
    for name in (".env", ".env.production", ".env.local"):
        text = _read(app / name)
        if text is not None:
            out.extend(_dotenv(app / name, text, secrets))
    for settings in [*app.glob("*/settings.py"), *app.glob("*/settings/production.py"), app / "settings.py"]:
        text = _read(settings)
        if text is not None:
            out.extend(_settings_py(settings, text, secrets))
    return out
