"""The stackrig command line: a thin Typer layer over the library."""

import sys


def _import_typer_without_rich() -> None:
    """Import typer as it would be imported where rich is not installed.

    typer 0.16 imports rich's markdown, syntax and traceback modules (about 40 ms of every
    command's start) only to offer rich help and tracebacks, both of which stackrig turns off:
    help is plain click, and errors go through one handler. ``sys.modules["rich"] = None``
    makes typer's ``import rich`` fail for that one import; rich stays importable after it,
    for our own output.
    """
    if "typer" in sys.modules:
        return
    saved = {name: mod for name, mod in sys.modules.items() if name == "rich" or name.startswith("rich.")}
    for name in saved:
        del sys.modules[name]
    sys.modules["rich"] = None  # type: ignore[assignment]
    try:
        import typer  # noqa: F401
    finally:
        del sys.modules["rich"]
        sys.modules.update(saved)


_import_typer_without_rich()
