"""YAML text -> a tree of values that remember their key path and line, variables substituted.

PyYAML's ``yaml.compose`` keeps each node's ``start_mark``; we walk the nodes
ourselves and record, for every value, the path (``method[1].params.latency``)
and the line of its key, which is where a person looks when a problem names it.

Plain scalars are read as YAML 1.2's core schema reads them. PyYAML implements
YAML 1.1, where ``yes``/``on`` are booleans, ``010`` is 8 and ``1:30`` is 90:
where 1.1 and 1.2 disagree about a boolean or an integer the value is refused
with a hint (write ``true``, ``10`` or quote it) rather than guessed; where only
1.2 sees a number (``1e3``, ``0o10``) it is that number.

Hostile input stays cheap: nesting is capped, aliases are counted as they
expand (a "billion laughs" file is a problem, not a MemoryError) and integers
are bounded, so every file gets problems, never a traceback.

Variables: ``${name}`` in any string is replaced by the variable's value; a
string that is exactly ``${name}`` takes the value with its type (so
``latency_ms: ${latency}`` with ``latency: 300`` is the integer 300); ``$${``
is a literal ``${``. Values come from the file's ``variables:`` block,
overridden by the CLI's ``--var k=v`` (parsed as YAML scalars). A variable
declared ``{secret: true, default: ...}`` (``default`` optional) is a secret;
``${env:NAME}`` reads the environment and is always one. ``{env: NAME,
default: ...}`` is ``NAME``'s value when set, else the default: a secret only
with ``secret: true`` too (paths, hosts: values a problem should show). Values substituted
into a ``cmd:`` string (run with ``sh -c``) are shell-quoted. Both rules:
:mod:`chaoskit.model.secrets`.
"""

from __future__ import annotations

import math
import os
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from chaoskit.errors import Problem
from chaoskit.model.secrets import collect_secrets, is_shell_command

__all__ = ["MIN_SECRET", "Located", "parse_cli_vars", "read_source"]

# libyaml's composer when PyYAML has it: the same nodes and marks, several times faster on large files.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_VARIABLE = re.compile(r"\$\$\{|\$\{([^}]*)\}")
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\Z")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MAX_DEPTH = 64  # an alias loop or absurd nesting is a problem, not a RecursionError
_MAX_REPEATS = 10_000  # values walked again through an alias; a real file repeats a few dozen
_MAX_INT = 2**63  # beyond any count, port or byte size; larger ones overflow float() later
_MAX_SCALAR = 65_536  # characters in one scalar: a path or a URL, not a payload

# YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1032-tag-resolution).
_CORE_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_CORE_INT = re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+")
_CORE_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)")
_TAG = "tag:yaml.org,2002:"
# Shorter values ("3", "yes", "gzip") are not masked: as text they occur in every journal's stamps and numbers.
MIN_SECRET = 4


@dataclass(frozen=True)
class Located:
    """A value from the file: ``dict[str, Located]``, ``list[Located]`` or a scalar, with its place."""

    value: Any
    path: str
    line: int | None
    # Whether the string came (in whole or part) from a variable: messages then show what it became.
    substituted: bool = field(default=False, compare=False)
    # An undefined variable was already reported here: further complaints about this value are noise.
    broken: bool = field(default=False, compare=False)

    def child_path(self, key: str | int) -> str:
        if isinstance(key, int):
            return f"{self.path}[{key}]"
        return f"{self.path}.{key}" if self.path else key

    def plain(self) -> Any:
        """The value with positions stripped (dicts, lists, scalars)."""
        if isinstance(self.value, dict):
            return {k: v.plain() for k, v in self.value.items()}
        if isinstance(self.value, list):
            return [v.plain() for v in self.value]
        return self.value


def parse_cli_vars(pairs: Iterable[str]) -> dict[str, Any]:
    """``["latency=300", "api=http://x"]`` -> ``{"latency": 300, "api": "http://x"}``.

    Values are read as YAML 1.2 scalars (``300`` is an int, ``true`` a bool,
    ``yes`` the string "yes"); anything else stays the string given.
    ``ValueError`` for a pair without ``=``.
    """
    result: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        name = name.strip()
        if not sep or not _VARIABLE_NAME.match(name):
            raise ValueError(f"--var expects NAME=VALUE, got {pair!r}")
        result[name] = _core_scalar(raw.strip(), default=raw)
    return result


_NOT_CORE = object()
_UNDEFINED = object()  # a variable that has no value: already reported


def _core_scalar(text: str, default: Any = _NOT_CORE) -> Any:
    """What YAML 1.2's core schema makes of a plain scalar; ``default`` when it is a string there."""
    if text in ("", "~", "null", "Null", "NULL"):
        return None if text or default is _NOT_CORE else default
    if text in _CORE_BOOL:
        return _CORE_BOOL[text]
    if _CORE_INT.fullmatch(text):
        return int(text, 8) if text.startswith("0o") else int(text, 16) if text.startswith("0x") else int(text)
    if _CORE_FLOAT.fullmatch(text):
        return float(text.replace(".", "", 1) if text.lstrip("+-")[1:2].isalpha() else text)  # .inf -> inf
    return text if default is _NOT_CORE else default


def read_source(
    text: str, source: str, overrides: Mapping[str, Any] | None = None, *,
    environ: Mapping[str, str] | None = None, secrets: set[str] | None = None,
) -> tuple[Located | None, dict[str, Any], list[Problem]]:
    """Parse ``text``; returns the located root, the variables in force, and every problem found.

    ``environ`` (default ``os.environ``) serves ``${env:NAME}``; ``secrets``, when given, receives the file's
    secret values (:mod:`chaoskit.model.secrets`)."""
    problems: list[Problem] = []
    try:
        root = yaml.compose(text, Loader=_LOADER)
    except RecursionError:
        return None, {}, [Problem(source, None, "", f"nested too deeply (more than {_MAX_DEPTH} levels are refused)")]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        detail = " ".join(
            str(part) for part in (getattr(exc, "context", None), getattr(exc, "problem", None)) if part
        ) or str(exc)
        return None, {}, [Problem(source, line, "", f"not valid YAML: {detail}")]
    if root is None:
        return (
            None,
            {},
            [Problem(source, None, "", "the file is empty; expected a mapping with title, steady_state and method")],
        )
    walker = _Walker(source, problems, os.environ if environ is None else environ)
    if not isinstance(root, yaml.MappingNode):
        return (
            None,
            {},
            [
                Problem(
                    source,
                    root.start_mark.line + 1,
                    "",
                    "expected a mapping (title:, steady_state:, method:, ...) at the top",
                )
            ],
        )

    entry = next(((k, v) for k, v in root.value if isinstance(k, yaml.ScalarNode) and k.value == "variables"), None)
    variables = walker.variables(entry, overrides or {})
    walker.variables_in_force = variables
    located = walker.walk(root, "", 1, 0)
    if secrets is not None:
        secrets.update(value for value in walker.secrets | collect_secrets(located) if len(value) >= MIN_SECRET)
    return located, variables, problems


class _Walker:
    def __init__(self, source: str, problems: list[Problem], environ: Mapping[str, str]):
        self.source = source
        self.problems = problems
        self.environ = environ
        self.secret_names: set[str] = set()
        self.secrets: set[str] = set()  # values from the environment (${env:NAME}) and of secret variables
        self.env_names: dict[str, str] = {}  # variable -> the environment variable it is read from
        self.variables_in_force: dict[str, Any] | None = None  # None while reading the variables block
        self.variables_block: Located | None = None  # walked once, without substitution
        self._constructor = yaml.SafeLoader("")
        self._walked: set[int] = set()  # ids of the nodes walked, to count what aliases repeat
        self._repeats = 0

    def problem(self, line: int | None, key: str, message: str) -> None:
        self.problems.append(Problem(self.source, line, key, message))

    def variables(self, entry: tuple[yaml.Node, yaml.Node] | None, overrides: Mapping[str, Any]) -> dict[str, Any]:
        declared: dict[str, Any] = {}
        malformed: set[str] = set()  # a declaration already reported: no second problem about its value
        node = entry[1] if entry is not None else None
        if entry is not None:
            block = self.walk(entry[1], "variables", entry[0].start_mark.line + 1, 1)
            self.variables_block = block
            if isinstance(block.value, dict):
                for name, item in block.value.items():
                    if not _VARIABLE_NAME.match(name):
                        self.problem(
                            item.line,
                            item.path,
                            "expected a variable name of letters, digits, _ . - (not starting with a digit)",
                        )
                    elif isinstance(item.value, dict):
                        declared[name] = self.declared(name, item)
                        if declared[name] is _UNDEFINED:
                            declared[name] = None
                            malformed.add(name)
                    elif isinstance(item.value, list):
                        self.problem(
                            item.line,
                            item.path,
                            "expected a scalar value (string, number, boolean) or null for 'must be given with --var'",
                        )
                    else:
                        declared[name] = item.value
            elif block.value is not None:
                self.problem(block.line, "variables", "expected a mapping of variable names to default values")
        for name in overrides:
            if name not in declared:
                known = ", ".join(sorted(declared)) or "none"
                self.problem(None, f"--var {name}", f"not declared in the file's variables: block (declared: {known})")
        merged = {**declared, **{k: v for k, v in overrides.items() if k in declared}}
        for name, value in merged.items():
            if value is None and name not in overrides and name not in malformed:
                line = next((i.line for k, i in block.value.items() if k == name), None) if node is not None else None
                env = f"set {self.env_names[name]} or " if name in self.env_names else ""
                self.problem(line, f"variables.{name}", f"has no default; {env}give it with --var {name}=VALUE")
        for name in self.secret_names & merged.keys():
            if merged[name] is not None and len(str(merged[name])) < MIN_SECRET:
                self.problem(None, f"variables.{name}", f"a secret of fewer than {MIN_SECRET} characters would be "
                                                        f"masked wherever those characters occur; give a real one")
            elif merged[name] is not None:
                self.secrets.add(str(merged[name]))
        return merged

    def declared(self, name: str, item: Located) -> Any:
        """``{secret: true, env: NAME, default: VALUE}`` (secret or env at least): ``NAME``'s value when set, else
        the default (None: must be given with --var); ``_UNDEFINED`` once a problem is reported."""
        entries: dict[str, Located] = item.value
        before = len(self.problems)
        for key, entry in entries.items():
            if key not in ("secret", "env", "default"):
                self.problem(entry.line, entry.path, "unknown key; a variable's mapping takes secret, env and default")
        flag, env = entries.get("secret"), entries.get("env")
        if (flag is None and env is None) or (flag is not None and flag.value is not True):
            self.problem(flag.line if flag else item.line, f"{item.path}.secret",
                         "expected secret: true or env: NAME (a plain variable is written as its default value)")
        if env is not None and not (isinstance(env.value, str) and _ENV_NAME.fullmatch(env.value)):
            self.problem(env.line, env.path, f"expected the name of an environment variable; got {env.value!r}")
        default = entries.get("default")
        if default is not None and isinstance(default.value, (dict, list)):
            self.problem(default.line, default.path, "expected a scalar value (string, number, boolean) or null")
        if flag is not None:
            self.secret_names.add(name)  # even when malformed: a value given with --var is still kept out of sinks
        if len(self.problems) != before:
            return _UNDEFINED
        if env is not None and env.value in self.environ:
            return _core_scalar(self.environ[env.value], default=self.environ[env.value])
        if env is not None:
            self.env_names[name] = env.value  # named if there is no default either
        return default.value if default is not None else None

    def walk(self, node: yaml.Node, path: str, line: int, depth: int) -> Located:
        if depth > _MAX_DEPTH:
            self.problem(line, path, f"nested deeper than {_MAX_DEPTH} levels (an alias loop?)")
            return Located(None, path, line)
        if id(node) in self._walked:
            self._repeats += 1
            if self._repeats == _MAX_REPEATS:
                self.problem(line, path, f"aliases repeat more than {_MAX_REPEATS} values (an alias bomb?)")
        self._walked.add(id(node))
        if self._repeats >= _MAX_REPEATS:
            return Located(None, path, line)
        if isinstance(node, yaml.MappingNode):
            explicit = sum(1 for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge")
            try:
                self._constructor.flatten_mapping(node)  # resolves YAML merge keys (<<): merged pairs come first
            except yaml.YAMLError as exc:
                self.problem(line, path, f"bad merge key (<<): {getattr(exc, 'problem', None) or exc}")
                return Located(None, path, line)
            merged = len(node.value) - explicit
            entries: dict[str, Located] = {}
            from_merge: set[str] = set()
            for index, (key_node, value_node) in enumerate(node.value):
                key_line = key_node.start_mark.line + 1
                key = self._scalar(key_node, path) if isinstance(key_node, yaml.ScalarNode) else None
                if not isinstance(key, str):
                    self.problem(key_line, path, f"expected a string key, got {key_node.value!r}"[:200])
                    continue
                child_path = f"{path}.{key}" if path else key
                # An explicit key may override one merged in by <<; two explicit ones are a mistake.
                if key in entries and index >= merged and key not in from_merge:
                    self.problem(key_line, child_path, f"duplicate key (first at line {entries[key].line})")
                    continue
                if index < merged:
                    from_merge.add(key)
                else:
                    from_merge.discard(key)
                if depth == 0 and key == "variables" and self.variables_block is not None:
                    # Defaults are taken literally: a variable does not refer to another.
                    entries[key] = Located(self.variables_block.value, child_path, key_line)
                    continue
                entries[key] = self.walk(value_node, child_path, key_line, depth + 1)
            return Located(entries, path, line)
        if isinstance(node, yaml.SequenceNode):
            items = [
                self.walk(item, f"{path}[{i}]", item.start_mark.line + 1, depth + 1)
                for i, item in enumerate(node.value)
            ]
            return Located(items, path, line)
        value = self._scalar(node, path)
        if isinstance(value, str) and self.variables_in_force is not None and "$" in value:
            return self._substitute(value, path, line)
        return Located(value, path, line)

    def _scalar(self, node: yaml.Node, path: str) -> Any:
        line = node.start_mark.line + 1
        if not isinstance(node, yaml.ScalarNode):  # an alias to a collection used as a key
            self.problem(line, path, "expected a scalar")
            return None
        if len(node.value) > _MAX_SCALAR:
            self.problem(line, path, f"a value of {len(node.value)} characters (at most {_MAX_SCALAR})")
            return None
        if "\0" in node.value:
            self.problem(line, path, "a value with a NUL character")
            return None
        if not node.style and node.tag.startswith(_TAG):  # plain: PyYAML says None, libyaml ""
            return self._plain_scalar(node, path)
        try:
            return self._constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, OverflowError) as exc:
            self.problem(line, path, f"bad scalar: {exc}")
            return None

    def _plain_scalar(self, node: yaml.ScalarNode, path: str) -> Any:
        """An unquoted scalar, as YAML 1.2 reads it; refused where YAML 1.1 would read it otherwise."""
        text, line, kind = node.value, node.start_mark.line + 1, node.tag[len(_TAG):]
        value = _core_scalar(text)
        if kind == "bool" and not isinstance(value, bool):
            self.problem(line, path, f"{text!r} is a boolean only in YAML 1.1; write true or false, "
                                     f"or quote it for the string")
            return None
        if kind in ("int", "float") and (isinstance(value, str) or isinstance(value, bool)):
            self.problem(line, path, f"{text!r} is a number only in YAML 1.1 (underscores, 1:30 or 0b...); "
                                     f"write it in decimal, or quote it for the string")
            return None
        if kind == "int" and text.lstrip("+-").startswith("0") and text.lstrip("+-") != "0" and value is not None \
                and not text.startswith(("0o", "0x")):
            self.problem(line, path, f"{text!r} has a leading zero: YAML 1.1 reads it as octal {int(text, 8)}, "
                                     f"YAML 1.2 as {value}; write {value}, 0o{text.lstrip('+-0') or '0'} or quote it")
            return None
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= _MAX_INT:
            self.problem(line, path, f"an integer of {len(text)} digits is out of range")
            return None
        if isinstance(value, float) and math.isinf(value) and not text.lstrip("+-").startswith("."):
            self.problem(line, path, f"{text[:20]}... is too large a number")
            return None
        return value

    def _substitute(self, text: str, path: str, line: int) -> Located:
        assert self.variables_in_force is not None
        shell = is_shell_command(path)
        whole = _VARIABLE.fullmatch(text)
        if whole and whole.group(1) is not None and not shell:
            value = self._value(whole.group(1).strip(), path, line)
            if value is _UNDEFINED:
                return Located(text, path, line, substituted=True, broken=True)
            return Located(value, path, line, substituted=True)

        def replace(match: re.Match[str]) -> str:
            if match.group(1) is None:
                return "${"  # $${ escapes a literal ${
            value = self._value(match.group(1).strip(), path, line)
            if value is _UNDEFINED:
                return match.group(0)
            text = "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
            return shlex.quote(text) if shell else text

        before = len(self.problems)
        result = _VARIABLE.sub(replace, text)
        return Located(result, path, line, substituted=result != text, broken=len(self.problems) != before)

    def _value(self, name: str, path: str, line: int) -> Any:
        """The value of ``name`` (a variable or ``env:NAME``); ``_UNDEFINED``, reported, when there is none."""
        if name.startswith("env:"):
            key = name[len("env:"):].strip()
            if key not in self.environ:
                self.problem(line, path, f"environment variable {key} is not set (${{{name}}})")
                return _UNDEFINED
            self.secrets.add(self.environ[key])
            return _core_scalar(self.environ[key], default=self.environ[key])
        if name not in self.variables_in_force:  # type: ignore[operator]
            self._undefined(name, path, line)
            return _UNDEFINED
        return self.variables_in_force[name]  # type: ignore[index]

    def _undefined(self, name: str, path: str, line: int) -> None:
        known = ", ".join(sorted(self.variables_in_force or {})) or "none"
        self.problem(line, path, f"undefined variable ${{{name}}}; declare it under variables: (defined: {known})")
