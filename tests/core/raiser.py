"""A stand-in command for exit-code tests: the real entry point (run) with one extra command."""

from __future__ import annotations

import os
import sys
import time

import typer

from stackrig import errors
from stackrig.cli.app import app, main


@app.command("raise-for-test", hidden=True)
def raise_for_test(kind: str, json_: bool = typer.Option(False, "--json")) -> None:
    if kind == "sleep":
        sys.stderr.write("sleeping\n")
        sys.stderr.flush()
        time.sleep(30)
    if kind == "bug":
        raise ZeroDivisionError("boom")
    if kind == "confirm":
        typer.confirm("go on?", abort=True)
    error = {
        "failed": errors.FailedError("a check failed"),
        "usage": errors.UsageError("bad input", hint="fix the input"),
        "missing": errors.MissingToolError("fio", install_hint="apt-get install fio"),
        "conflict": errors.ConflictError("would overwrite", hint="pass --force"),
        "timeout": errors.WaitTimeoutError("gave up waiting"),
        "interrupted": errors.InterruptError("interrupted, partial results kept"),
        "internal": errors.InternalError("the registry lost a tool"),
    }[kind]
    raise error


if __name__ == "__main__":
    os.environ.setdefault("COLUMNS", "100")
    main()
