"""The design and the contributor's guide live in the repository and say what the code does."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from stackrig.errors import ExitCode

ROOT = Path(__file__).resolve().parents[2]
DESIGN = ROOT / "docs" / "design.md"


def test_design_exit_code_table_is_the_one_errors_py_has() -> None:
    rows = re.findall(r"^\| (\d+) \| (\w+) \| (.+) \|$", DESIGN.read_text(), re.MULTILINE)
    table = {int(code): name for code, name, _ in rows}
    expected = {int(member): member.name for member in ExitCode}
    assert table == expected, "docs/design.md's exit-code table differs from stackrig.errors.ExitCode"


def test_design_envelope_names_the_fields_the_code_writes() -> None:
    from stackrig import output

    text = DESIGN.read_text()
    report = output.envelope("x", output.Report({}))
    error = output.error_envelope("x", type_name="T", message="m", exit_code=2, hint="h")
    for key in [*report, *error, *error["error"]]:
        assert f'"{key}"' in text, f"docs/design.md does not show the envelope field {key!r}"


def test_readme_and_errors_point_into_the_repository() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "(docs/design.md)" in readme
    assert "(CONTRIBUTING.md)" in readme
    assert "shared/DESIGN.md" not in readme
    errors = (ROOT / "src" / "stackrig" / "errors.py").read_text()
    assert "docs/design.md" in errors
    assert "DESIGN.md" not in errors.replace("design.md", "")
    for doc in (DESIGN, ROOT / "CONTRIBUTING.md"):
        for target in re.findall(r"\]\(([^)#:]+)\)", doc.read_text()):
            assert (doc.parent / target).exists(), f"{doc.name} links to missing {target}"


def test_no_text_speaks_of_the_seed() -> None:
    """User-visible text speaks of stackrig and its users' tools, not of where it came from."""
    done = subprocess.run(
        ["grep", "-rniI", "--", "the seed", "src", "docs", "README.md"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1, f"'the seed' found:\n{done.stdout}{done.stderr}"


def test_design_extras_table_is_the_one_the_cli_checks() -> None:
    from stackrig._extras import NEEDS

    rows = re.findall(
        r"^\| `([a-z ]+)` \| `(\w+)` \| ([^|]+) \| [^|]+ \| (before it starts|when it gets there) \|$",
        DESIGN.read_text(),
        re.MULTILINE,
    )
    table = [(command, extra, when.strip(), checked) for command, extra, when, checked in rows]
    expected = [
        (n.command, n.extra, n.when or "always", "before it starts" if n.modules else "when it gets there")
        for n in NEEDS
    ]
    assert table == expected, "docs/design.md's extras table differs from stackrig._extras.NEEDS"


def test_extras_modules_match_pyproject() -> None:
    import tomllib

    from stackrig._extras import EXTRAS, NEEDS

    import_name = {
        "ansible-core": "ansible",
        "boto3": "boto3",
        "numpy": "numpy",
        "matplotlib": "matplotlib",
        "pillow": "PIL",
        "networkx": "networkx",
        "jsonschema": "jsonschema",
        "PyMySQL": "pymysql",
        "psycopg[binary]": "psycopg",
        "uvicorn": "uvicorn",
        "starlette": "starlette",
        "httptools": "httptools",
        "uvloop": "uvloop",
    }
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for name, modules in EXTRAS.items():
        declared = {import_name[re.split(r"[<>=]", req)[0]] for req in extras[name]}
        assert declared <= set(modules), name
        assert set(modules) - declared <= {"botocore"}, name  # botocore comes with boto3
    assert extras["all"] == ["stackrig[fleet,bench,qos,migrate,tune,landscape]"]
    for need in NEEDS:
        assert set(need.modules) <= set(EXTRAS[need.extra]), need
