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
