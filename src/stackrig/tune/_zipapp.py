"""Pack the checks into one file that any host with Python 3.9+ runs: a shell prefix, then a zip.

The file is what Ansible's ``script`` module copies to each host and runs. Its
first part is a POSIX shell script that finds a Python (the interpreter the
inventory names for the host, else the newest ``python3`` it finds) and runs
the file again with it; Python skips the prefix and runs the zip's
``__main__.py``. That one stays valid Python 2 so that an old interpreter says
"too old" as JSON instead of a syntax error. Only stdlib modules are packed:
nothing of stackrig (or its dependencies) is installed on the host.

Its first argument is the interpreter to use ('' or 'auto…' = look for one);
the rest go to :func:`stackrig.tune.remote.main`.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import stackrig

__all__ = ["MINIMUM_PYTHON", "PACKED", "build"]

MINIMUM_PYTHON = (3, 9)

# Relative to the stackrig package; everything the remote entry imports, and nothing else.
PACKED = (
    "errors.py",
    "_io.py",
    "_fileset.py",
    "paths.py",
    "tune/_model.py",
    "tune/_host.py",
    "tune/audit.py",
    "tune/apply.py",
    "tune/remote.py",
    "tune/checks/*.py",
)

_VERSIONED = [f"python3.{minor}" for minor in range(15, MINIMUM_PYTHON[1] - 1, -1)]
_CANDIDATES = " ".join(["python3", *_VERSIONED, "/usr/libexec/platform-python", "python"])

_NO_PYTHON = '{"stackrig_tune_remote": 1, "ok": false, "error": {"kind": "no-python", "message": "%s"}}'

PREFIX = f"""#!/bin/sh
# stackrig tune: find a Python on this host, then run the zip that follows with it.
want=$1
shift
case $want in auto*) want= ;; esac
if [ -n "$want" ]; then
    command -v "$want" >/dev/null 2>&1 && exec "$want" -E -s "$0" "$@"
    shown=$(printf '%s' "$want" | tr -d '"\\\\[:cntrl:]')
    printf '{_NO_PYTHON}\\n' "no Python at $shown (ansible_python_interpreter)"
    exit 3
fi
first=
for py in {_CANDIDATES}; do
    command -v "$py" >/dev/null 2>&1 || continue
    "$py" -c 'import sys; sys.exit(sys.version_info[:2] < {MINIMUM_PYTHON!r})' >/dev/null 2>&1
    case $? in
        0) exec "$py" -E -s "$0" "$@" ;;
        1) [ -n "$first" ] || first=$py ;;  # too old: kept to say so if nothing newer is found
    esac
done
[ -n "$first" ] && exec "$first" -E -s "$0" "$@"
printf '{_NO_PYTHON}\\n' "no python3 or python on PATH"
exit 3
"""

MAIN = f"""# stackrig tune remote entry; valid Python 2 and 3 up to the version check.
import json
import platform
import sys

if sys.version_info[:2] < {MINIMUM_PYTHON!r}:
    sys.stdout.write(json.dumps({{
        "stackrig_tune_remote": 1, "ok": False, "python": platform.python_version(),
        "executable": sys.executable,
        "error": {{"kind": "python-too-old", "message": "Python %s at %s is too old: "
                   "stackrig tune needs {MINIMUM_PYTHON[0]}.{MINIMUM_PYTHON[1]} or newer"
                   % (platform.python_version(), sys.executable)}},
    }}) + "\\n")
    sys.exit(3)

from stackrig.tune.remote import main

sys.exit(main(sys.argv[1:]))
"""

_INIT = '"""stackrig, packed for one run of tune on a host (stdlib only)."""\n__version__ = {version!r}\n'
_STAMP = (2020, 1, 1, 0, 0, 0)  # fixed times: the same stackrig packs to the same bytes


def _entry(archive: zipfile.ZipFile, name: str, text: str) -> None:
    info = zipfile.ZipInfo(name, date_time=_STAMP)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    archive.writestr(info, text)


def build(target: Path) -> Path:
    """Write the runnable file to ``target`` (mode 0755) and return it."""
    package = Path(stackrig.__file__).parent
    sources = sorted({path for pattern in PACKED for path in package.glob(pattern)})
    with open(target, "wb") as handle:
        handle.write(PREFIX.encode("utf-8"))
        with zipfile.ZipFile(handle, "w") as archive:
            _entry(archive, "__main__.py", MAIN)
            _entry(archive, "stackrig/__init__.py", _INIT.format(version=stackrig.__version__))
            _entry(archive, "stackrig/tune/__init__.py", "")
            for path in sources:
                rel = path.relative_to(package).as_posix()
                _entry(archive, f"stackrig/{rel}", path.read_text(encoding="utf-8"))
    target.chmod(0o755)
    return target
