"""Shell completion: the scripts, the generated bash completion run on partial command lines."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from stackrig.cli.completion import completion_request

BIN = Path(sys.executable).parent

# The generated script, sourced in a real bash; COMP_WORDS/COMP_CWORD set as bash sets them at TAB.
BASH = """
source <(stackrig completion bash)
read -ra COMP_WORDS <<< "$LINE"
if [[ "$LINE" == *" " ]]; then COMP_WORDS+=(""); fi
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
_stackrig_completion stackrig
printf '%s\\n' "${COMPREPLY[@]}"
"""


def env(tmp_path: Path, **extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("_STACKRIG", "_TYPER", "COMP_"))}
    return {**base, "PATH": f"{BIN}:{base['PATH']}", "STACKRIG_HOME": str(tmp_path / "home"), **extra}


def bash_complete(tmp_path: Path, line: str) -> list[str]:
    bash = shutil.which("bash")
    assert bash, "bash is needed for the completion test"
    done = subprocess.run(
        [bash, "-c", BASH],
        env=env(tmp_path, LINE=line),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stderr == ""
    return [word for word in done.stdout.splitlines() if word]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("stackrig be", ["bench"]),
        ("stackrig ", ["doctor", "completion", "fleet", "bench", "tune", "qos", "migrate", "landscape"]),
        ("stackrig bench pl", ["plot"]),
        ("stackrig --data-dir /tmp/x bench pl", ["plot"]),
        ("stackrig bench run --runs", ["--runs-dir"]),
        ("stackrig bench plot --format ", ["png", "svg"]),
        ("stackrig completion ", ["bash", "zsh", "fish"]),
    ],
)
def test_bash_completion_of_a_partial_line(tmp_path: Path, line: str, expected: list[str]) -> None:
    assert bash_complete(tmp_path, line) == expected


def test_scripts_for_each_shell(cli: Any) -> None:
    for shell in ("bash", "zsh", "fish"):
        done = cli("completion", shell)
        assert done.returncode == 0, done.stderr
        assert f"_STACKRIG_COMPLETE=complete_{shell}" in done.stdout
    assert "complete -o default -F _stackrig_completion stackrig" in cli("completion", "bash").stdout
    assert cli("completion", "zsh").stdout.startswith("#compdef stackrig")
    bad = cli("completion", "tcsh")
    assert bad.returncode == 2
    assert "'tcsh' is not one of 'bash', 'zsh', 'fish'" in bad.stderr
    assert bad.stdout == ""


@pytest.mark.parametrize(
    ("shell", "extra", "expected"),
    [
        ("zsh", {}, '_arguments \'*: :(("plot":"Draw graphs of fio logs'),
        ("fish", {"_TYPER_COMPLETE_FISH_ACTION": "get-args"}, "plot\tDraw graphs of fio logs"),
    ],
)
def test_zsh_and_fish_answers(tmp_path: Path, shell: str, extra: dict[str, str], expected: str) -> None:
    """What the zsh and fish scripts ask (the line up to the cursor), answered by stackrig itself."""
    done = subprocess.run(
        [str(BIN / "stackrig")],
        env=env(
            tmp_path,
            _STACKRIG_COMPLETE=f"complete_{shell}",
            _TYPER_COMPLETE_ARGS="stackrig bench pl",
            **extra,
        ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(expected)


@pytest.mark.parametrize(
    ("environ", "words"),
    [
        ({}, None),
        (
            {"_STACKRIG_COMPLETE": "complete_bash", "COMP_WORDS": "stackrig bench pl", "COMP_CWORD": "2"},
            ["bench"],
        ),
        ({"_STACKRIG_COMPLETE": "complete_bash", "COMP_WORDS": "stackrig be", "COMP_CWORD": "1"}, []),
        ({"_STACKRIG_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": "stackrig bench pl"}, ["bench"]),
        ({"_STACKRIG_COMPLETE": "complete_fish", "_TYPER_COMPLETE_ARGS": "stackrig bench "}, ["bench"]),
        ({"_STACKRIG_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": "stackrig 'bench"}, []),
    ],
)
def test_which_words_a_shell_asks_about(environ: dict[str, str], words: list[str] | None) -> None:
    assert completion_request(environ) == words
