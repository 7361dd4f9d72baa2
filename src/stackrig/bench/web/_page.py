"""What the dashboard sends besides JSON: the HTML shell of each page, content types, policies."""

from __future__ import annotations

import html
import mimetypes
from pathlib import Path

__all__ = ["CSP", "RAW_CSP", "STATIC_TYPES", "file_type", "page"]

STATIC_TYPES = {
    "uPlot.iife.min.js": "text/javascript; charset=utf-8",
    "uPlot.min.css": "text/css; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
    "uPlot.LICENSE": "text/plain; charset=utf-8",
}
# raw files never run code in our origin: a sandbox and no scripts at all
RAW_CSP = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'"
CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'"


def page(title: str, name: str) -> bytes:
    """The shell of a page; ``static/app.js`` draws it from the JSON API."""
    title = html.escape(title)
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{title}</title><link rel='icon' href='data:,'>"
        "<link rel='stylesheet' href='/static/uPlot.min.css'>"
        "<link rel='stylesheet' href='/static/style.css'></head>"
        f"<body data-page='{name}'><header><a href='/'>stackrig bench</a></header>"
        "<main id='main'><p class='note'>loading…</p></main>"
        "<script src='/static/uPlot.iife.min.js'></script><script src='/static/app.js'></script>"
        "</body></html>"
    ).encode()


def file_type(path: Path) -> str:
    """The content type a raw file is sent with: text, a report, an image, or plain bytes."""
    if path.suffix in (".log", ".fio", ".stderr") or ".log." in path.name:
        return "text/plain; charset=utf-8"
    if path.suffix == ".html":
        return "text/html; charset=utf-8"  # a stackrig report: self-contained, no script
    guessed, _ = mimetypes.guess_type(path.name)
    if guessed in ("image/png", "image/svg+xml", "application/json", "text/csv"):
        return guessed
    return "application/octet-stream"
