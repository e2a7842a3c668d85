"""The YAML source layer: positions, duplicate keys, YAML errors and variables."""

from __future__ import annotations

import pytest

from chaoskit.model.source import parse_cli_vars, read_source


def test_values_remember_path_and_key_line() -> None:
    """Every value knows its dotted/indexed key path and the line of its key."""
    text = "a:\n  b:\n    - x: 1\n    - x:\n        deep: 2\n"
    root, _, problems = read_source(text, "f.yaml")
    assert problems == []
    item = root.value["a"].value["b"].value[1]
    assert item.path == "a.b[1]" and item.line == 4
    deep = item.value["x"].value["deep"]
    assert deep.path == "a.b[1].x.deep" and deep.line == 5 and deep.value == 2


def test_yaml_syntax_error_names_the_line() -> None:
    """Invalid YAML is one problem with the line PyYAML points at."""
    _, _, problems = read_source("a: 1\nb: [1, 2\nc: 3\n", "f.yaml")
    assert len(problems) == 1 and problems[0].line is not None and "not valid YAML" in problems[0].message


def test_duplicate_keys_are_problems() -> None:
    """A key given twice is reported at the second occurrence, pointing to the first."""
    _, _, problems = read_source("a: 1\nb: 2\na: 3\n", "f.yaml")
    assert [(p.line, p.key) for p in problems] == [(3, "a")]
    assert "first at line 1" in problems[0].message


def test_top_level_must_be_a_mapping() -> None:
    """An empty file or a top-level list is refused with what was expected."""
    assert "empty" in read_source("", "f.yaml")[2][0].message
    assert "mapping" in read_source("- a\n", "f.yaml")[2][0].message


def test_variables_substitute_with_types_and_escapes() -> None:
    """A whole ${v} keeps the variable's type, an embedded one is text, and $${ is a literal."""
    text = "variables:\n  n: 300\n  host: example\nwhole: ${n}\npart: http://${host}:${n}/x\nlit: $${n}\n"
    root, variables, problems = read_source(text, "f.yaml")
    assert problems == [] and variables == {"n": 300, "host": "example"}
    assert root.value["whole"].value == 300
    assert root.value["part"].value == "http://example:300/x"
    assert root.value["lit"].value == "${n}"


def test_cli_overrides_win_and_must_be_declared() -> None:
    """--var overrides a declared default; an undeclared --var is a problem (a typo otherwise passes silently)."""
    text = "variables:\n  n: 1\nv: ${n}\n"
    root, variables, problems = read_source(text, "f.yaml", {"n": 5})
    assert problems == [] and root.value["v"].value == 5
    _, _, problems = read_source(text, "f.yaml", {"m": 5})
    assert len(problems) == 1 and problems[0].key == "--var m" and "declared: n" in problems[0].message


def test_undefined_variable_is_reported_with_its_line() -> None:
    """A reference to an undeclared variable names the variable, the key path and its line."""
    _, _, problems = read_source("variables: {a: 1}\nx:\n  y: pre-${b}\n", "f.yaml")
    assert [(p.line, p.key) for p in problems] == [(3, "x.y")]
    assert "${b}" in problems[0].message and "defined: a" in problems[0].message


def test_null_default_must_be_given_on_the_command_line() -> None:
    """A variable declared with no default must come from --var."""
    _, _, problems = read_source("variables:\n  token: null\n", "f.yaml")
    assert problems[0].key == "variables.token" and "--var token=" in problems[0].message
    assert read_source("variables:\n  token: null\n", "f.yaml", {"token": "x"})[2] == []


def test_merge_keys_and_anchors_resolve() -> None:
    """YAML anchors and merge keys work as in any YAML loader."""
    text = "base: &b {rate: 1, ramp: 2}\nload:\n  <<: *b\n  rate: 5\n"
    root, _, problems = read_source(text, "f.yaml")
    assert problems == [] and root.value["load"].plain() == {"rate": 5, "ramp": 2}


def test_parse_cli_vars_types_values() -> None:
    """--var values are read as YAML scalars; a pair without '=' is refused."""
    assert parse_cli_vars(["n=300", "u=http://x:1/y", "b=true", "e="]) == {
        "n": 300,
        "u": "http://x:1/y",
        "b": True,
        "e": "",
    }
    assert parse_cli_vars(["l=[1, 2]"]) == {"l": "[1, 2]"}
    with pytest.raises(ValueError, match="NAME=VALUE"):
        parse_cli_vars(["oops"])


@pytest.mark.parametrize("text", ["yes", "no", "on", "off", "Y", "ON"])
def test_yaml11_only_booleans_are_refused_with_a_hint(text: str) -> None:
    """`yes`/`on` are booleans only in YAML 1.1: refused with the fix, never read as true silently."""
    root, _, problems = read_source(f"a: {text}\n", "f.yaml")
    if text == "Y":  # PyYAML's 1.1 resolver never took single letters: a plain string in both
        assert problems == [] and root.value["a"].value == "Y"
        return
    assert [(p.line, p.key) for p in problems] == [(1, "a")]
    assert "write true or false" in problems[0].message


def test_leading_zero_integers_are_refused_with_both_readings() -> None:
    """`010` is 8 in YAML 1.1 and 10 in 1.2: the problem names both and how to write each."""
    _, _, problems = read_source("a: 010\n", "f.yaml")
    assert len(problems) == 1 and "octal 8" in problems[0].message and "write 10, 0o10" in problems[0].message


@pytest.mark.parametrize("text", ["1_000", "1:30", "0b11", "1_0.5"])
def test_yaml11_only_numbers_are_refused(text: str) -> None:
    """Underscores, sexagesimal and binary numbers exist only in YAML 1.1."""
    _, _, problems = read_source(f"a: {text}\n", "f.yaml")
    assert len(problems) == 1 and "only in YAML 1.1" in problems[0].message


def test_yaml12_numbers_and_quoted_strings_are_read_as_written() -> None:
    """`1e3` and `0o10` are numbers as in YAML 1.2; quoted `yes` and `010` stay strings."""
    root, _, problems = read_source("a: 1e3\nb: 0o10\nc: 'yes'\nd: \"010\"\ne: true\nf: 0x1F\n", "f.yaml")
    assert problems == []
    assert root.plain() == {"a": 1000.0, "b": 8, "c": "yes", "d": "010", "e": True, "f": 31}


def test_hostile_files_are_problems_not_crashes() -> None:
    """Deep nesting, an alias bomb, a scalar merge key and huge numbers each give a problem quickly."""
    for levels in (500, 5000):
        deep = "a: " + "[" * levels + "]" * levels + "\n"
        assert "nest" in read_source(deep, "f.yaml")[2][0].message
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(8))
    assert any("alias bomb" in p.message for p in read_source(bomb, "f.yaml")[2])
    assert "bad merge key" in read_source("a:\n  <<: 3\n", "f.yaml")[2][0].message
    assert "out of range" in read_source("a: " + "9" * 300 + "\n", "f.yaml")[2][0].message
    assert "too large" in read_source("a: 1e400\n", "f.yaml")[2][0].message
    assert "NUL" in read_source('a: "x\\0y"\n', "f.yaml")[2][0].message


def test_cli_vars_are_read_as_yaml12() -> None:
    """--var values follow YAML 1.2: `yes` is a string, `010` the integer 10."""
    assert parse_cli_vars(["a=yes", "b=010", "c=true", "d=1e3", "e="]) == {
        "a": "yes", "b": 10, "c": True, "d": 1000.0, "e": ""}
