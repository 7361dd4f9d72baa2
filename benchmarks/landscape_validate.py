"""How long `landscape validate` and `render` take on a catalog the size of the CNCF landscape.

The CNCF landscape.yml holds a few thousand items; this generates one with 3,000 items in
the same layout (10 layers, 3 subcategories each, some second_path overlaps) and times, in
the same run and on the same text:

- PyYAML safe_load (pure Python), what a hand-written checker would start from;
- PyYAML CSafeLoader (libyaml), when available, the fastest plain parse;
- stackrig's check (safe parse with line numbers + every validation rule);
- stackrig render to HTML and Markdown of the checked catalog.

Each figure is the best of 5 runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import yaml

from stackrig.landscape import Format, render
from stackrig.landscape._yaml import dump
from stackrig.landscape.validate import check_text

ITEMS = 3000
RUNS = 5


def _catalog_text() -> str:
    per_layer = ITEMS // 10
    layers = []
    for layer in range(10):
        subs = []
        for sub in range(3):
            items = []
            for n in range(per_layer // 3):
                item = {
                    "item": None,
                    "name": f"tool-{layer}-{sub}-{n}",
                    "homepage_url": f"https://tool-{layer}-{sub}-{n}.example.org",
                    "repo_url": f"https://github.com/example/tool-{layer}-{sub}-{n}",
                    "description": "A tool that does one thing well for containers and microservices.",
                    "status": "active",
                    "logo": "tool.svg",
                }
                if n % 7 == 0:
                    item["second_path"] = [f"Layer {(layer + 1) % 10} / Sub {sub}"]
                items.append(item)
            subs.append({"subcategory": None, "name": f"Sub {sub}", "items": items})
        layers.append({"category": None, "name": f"Layer {layer}", "subcategories": subs})
    return dump({"landscape": layers})


def _best(action: Callable[[], object]) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    text = _catalog_text()
    catalog, problems = check_text(text, "bench.yml")
    if problems or not catalog.tools:
        raise SystemExit(f"generated catalog is not valid: {problems[:3]}")
    rows: list[tuple[str, float]] = [
        ("yaml.safe_load (pure Python)", _best(lambda: yaml.safe_load(text))),
    ]
    c_loader = getattr(yaml, "CSafeLoader", None)
    if c_loader is not None:
        rows.append(("yaml.load CSafeLoader (libyaml)", _best(lambda: yaml.load(text, Loader=c_loader))))  # noqa: S506
    rows.append(("stackrig landscape validate (check_text)", _best(lambda: check_text(text, "bench.yml"))))
    rows.append(("stackrig landscape render --format html", _best(lambda: render(catalog, Format.HTML))))
    rows.append(("stackrig landscape render --format md", _best(lambda: render(catalog, Format.MD))))
    print(f"catalog: {len(catalog.tools)} items, {len(text) / 1024:.0f} KiB of YAML; best of {RUNS} runs")
    width = max(len(name) for name, _ in rows)
    for name, seconds in rows:
        print(f"  {name:<{width}}  {seconds * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
