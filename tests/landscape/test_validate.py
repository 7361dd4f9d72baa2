"""validate: every planted defect found on its line; YAML errors with lines; safe loading only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stackrig import landscape as ls
from stackrig.landscape.validate import PROBLEM_CODES, check_text, url_problem

FIXTURES = Path(__file__).parent / "fixtures"


def _expected(path: Path) -> set[tuple[str, int]]:
    found = set()
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        match = re.search(r"# expect: ([a-z-]+)", line)
        if match:
            found.add((match.group(1), number))
    return found


def test_each_planted_defect_is_found_on_its_line() -> None:
    path = FIXTURES / "defects.yml"
    report = ls.validate_file(path)
    expected = _expected(path)
    assert len(expected) >= 12
    assert not report.valid
    assert {(p.code, p.line) for p in report.problems} == expected
    # the good tool and the ones whose defects do not hide them are still read
    assert report.tools >= 1


def test_problem_codes_are_kebab_and_known() -> None:
    assert len(set(PROBLEM_CODES)) == len(PROBLEM_CODES)
    for code in PROBLEM_CODES:
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", code)
    codes = {p.code for p in ls.validate_file(FIXTURES / "defects.yml").problems}
    assert codes <= set(PROBLEM_CODES)


def test_messages_say_what_is_wrong() -> None:
    problems = ls.validate_file(FIXTURES / "defects.yml").problems
    text = "\n".join(p.format("defects.yml") for p in problems)
    assert "defects.yml:15: [missing-field] item 'No Homepage' has no homepage_url" in text
    assert "defects.yml:19: [duplicate-name] tool 'good tool' appears twice (first at line 11)" in text
    assert "defects.yml:41: [duplicate-key] item 'Twice Keyed': key 'homepage_url' appears twice" in text
    assert "'Layer Nine / Nowhere' names no layer" in text
    assert "must start with http:// or https://" in text
    assert "is not one of active, archived, retired" in text


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("landscape:\n  - category:\n    name: [unclosed\n", 3),
        ("landscape:\n  - name: a\n   bad: indentation\n", 3),
        ("landscape:\n\tname: tab\n", 2),
        ('landscape:\n  - name: "open string\n', 2),
        ("landscape:\n  - name: x\n  bad\n", 3),
    ],
)
def test_yaml_errors_carry_their_line(text: str, line: int) -> None:
    _, problems = check_text(text, "t.yml")
    assert [(p.code, p.line) for p in problems] == [("yaml-syntax", line)]


def test_python_tags_are_refused_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = f"landscape: !!python/object/apply:os.system ['touch {marker}']\n"
    _, problems = check_text(text, "t.yml")
    assert problems[0].code == "yaml-syntax"
    assert problems[0].line == 1
    assert not marker.exists()


def test_aliases_are_refused_with_their_line() -> None:
    text = "a: &a [x, x, x]\nb: &b [*a, *a, *a]\nlandscape: [*b, *b]\n"
    _, problems = check_text(text, "laughs.yml")
    assert [p.code for p in problems] == ["yaml-syntax"]
    assert problems[0].line in (1, 2)  # where the anchored value starts
    assert "aliases" in problems[0].message


def test_merge_keys_are_aliases_too() -> None:
    text = "base: &b {name: x}\nlandscape:\n  - <<: *b\n    subcategories: []\n"
    _, problems = check_text(text, "merge.yml")
    assert [p.code for p in problems] == ["yaml-syntax"]


def test_terminal_escapes_in_text_are_refused() -> None:
    text = (
        "landscape:\n  - name: A\n    subcategories:\n      - name: S\n        items:\n"
        '          - name: "\\e]0;owned\\a\\e[2J"\n            homepage_url: https://t.example.org\n'
        '            description: "Two\\nlines are fine."\n'
    )
    _, problems = check_text(text, "t.yml")
    assert [(p.code, p.line) for p in problems] == [("control-character", 6)]
    assert "\x1b" not in problems[0].message
    assert "\\x1b" in problems[0].message


def test_deep_nesting_is_a_problem_not_a_crash() -> None:
    _, problems = check_text("landscape: " + "[" * 5000 + "]" * 5000 + "\n", "deep.yml")
    assert problems[0].code == "yaml-syntax"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "not-a-catalog"),
        ("- a\n- b\n", "not-a-catalog"),
        ("landscape:\n  - name: A/B\n    subcategories: []\n", "bad-name"),
        ("landscape: 3\n", "bad-type"),
        ("landscape:\n  - just text\n", "bad-type"),
        ("categories:\n  - name: A\n    subcategories:\n      - name: S\n", "missing-field"),
        (
            "landscape:\n  - name: A\n    subcategories:\n      - name: S\n        items:\n          - 7\n",
            "bad-type",
        ),
    ],
)
def test_structural_problems(text: str, code: str) -> None:
    _, problems = check_text(text, "t.yml")
    assert code in {p.code for p in problems}


def test_second_path_as_a_single_text_and_bad_entries() -> None:
    text = (
        "landscape:\n  - name: A\n    subcategories:\n      - name: S\n        items:\n"
        "          - name: T\n            homepage_url: https://t.example.org\n            second_path: B\n"
        "          - name: U\n            homepage_url: https://u.example.org\n"
        "            second_path: {x: 1}\n"
        "          - name: V\n            homepage_url: https://v.example.org\n            second_path: [3]\n"
        "  - name: B\n    subcategories: []\n"
    )
    catalog, problems = check_text(text, "t.yml")
    assert [(p.code, p.line) for p in problems] == [("bad-type", 11), ("bad-type", 14)]
    assert ls.find_tool(catalog, "T").layers == ("A", "B")


def test_a_second_path_to_the_home_layer_is_not_an_overlap() -> None:
    text = (
        "landscape:\n  - name: A\n    subcategories:\n      - name: S\n        items:\n"
        "          - name: T\n            homepage_url: https://t.example.org\n"
        "            second_path: [A / S]\n"
        "      - name: S2\n        items: []\n"
    )
    catalog, problems = check_text(text, "t.yml")
    assert problems == ()
    assert not ls.find_tool(catalog, "T").overlaps


@pytest.mark.parametrize(
    "url",
    [
        "https://kubernetes.io",
        "http://localhost:8080/x",
        "https://[::1]/",
        "https://a-b.example.org/path?q=1#frag",
    ],
)
def test_good_urls(url: str) -> None:
    assert url_problem(url) is None


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "ftp://example.org",
        "https://",
        "https://exa mple.org",
        "https://example.org/<script>",
        'https://example.org/"onmouseover=x',
        "https://-bad-.org",
        "https://nodot",
        "https://example.org:99999",
        "",
        3,
    ],
)
def test_bad_urls(url: object) -> None:
    assert url_problem(url) is not None


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_text_gives_problems_never_an_exception(text: str) -> None:
    catalog, problems = check_text(text, "fuzz.yml")
    for problem in problems:
        assert problem.code in PROBLEM_CODES
    assert isinstance(catalog, ls.Catalog)


_names = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30).filter(
    lambda s: s.strip() == s and "/" not in s
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_names, min_size=1, max_size=6, unique_by=str.casefold))
def test_any_tool_names_survive_dump_and_check(names: list[str]) -> None:
    from stackrig.landscape._yaml import dump

    tree = {
        "landscape": [
            {
                "category": None,
                "name": "L",
                "subcategories": [
                    {
                        "subcategory": None,
                        "name": "S",
                        "items": [
                            {"item": None, "name": n, "homepage_url": "https://x.example.org"} for n in names
                        ],
                    }
                ],
            }
        ]
    }
    catalog, problems = check_text(dump(tree), "gen.yml")
    assert problems == ()
    assert [t.name for t in catalog.tools] == names
