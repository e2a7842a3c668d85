"""Checks on a located YAML tree: each records a problem with file:line and key path, and reading carries on.

Shared by the file formats built on :mod:`chaoskit.model.source` (experiments,
the monkey config), so their problems read alike. Knows nothing of experiments:
subclasses add the parts of their own format.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

from chaoskit.errors import Problem
from chaoskit.model.source import Located
from chaoskit.model.units import parse_duration

__all__ = ["Checker", "describe_kind", "suggest"]

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


def describe_kind(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"the string {value!r}" if len(value) <= 60 else "a long string"
    return f"{type(value).__name__} {value!r}"


def suggest(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


class Checker:
    """Walks the located tree, builds the dataclasses, and records every problem on the way.

    Each check returns None when its part had a problem; the caller carries on
    with the rest so one run reports everything.
    """

    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.problems = problems
        self._suppressed = 0  # problems not shown because their cause is already reported

    # -- recording -----------------------------------------------------------------

    def problem(self, node: Located, message: str, path: str | None = None) -> None:
        if node.broken:
            # Its undefined variable is already reported; count it so the part is still invalid.
            self._suppressed += 1
            return
        if node.substituted:
            message += f" (after variable substitution: {node.value!r})"
        self.problems.append(Problem(self.source, node.line, path if path is not None else node.path, message))

    def count(self) -> int:
        return len(self.problems) + self._suppressed

    # -- shapes ----------------------------------------------------------------------

    def mapping(self, node: Located, keys: Sequence[str], required: Sequence[str] = ()) -> dict[str, Located] | None:
        if not isinstance(node.value, dict):
            self.problem(node, f"expected a mapping with keys {', '.join(keys)}; got {describe_kind(node.value)}")
            return None
        for key, child in node.value.items():
            if key not in keys:
                self.problem(child, f"unknown key{suggest(key, keys)} (expected one of {', '.join(keys)})")
        for key in required:
            if key not in node.value or node.value[key].value is None:
                self.problem(node, f"missing required key '{key}'", path=node.child_path(key))
        return {k: v for k, v in node.value.items() if k in keys and v.value is not None}

    def items(self, node: Located, *, nonempty: bool = False) -> list[Located] | None:
        if not isinstance(node.value, list):
            self.problem(node, f"expected a list; got {describe_kind(node.value)}")
            return None
        if nonempty and not node.value:
            self.problem(node, "expected at least one item")
            return None
        return node.value

    def convert(self, node: Located, parse: Callable[[Any], Any]) -> Any:
        """``parse(node.value)``; a ValueError becomes a problem (its message says what was expected)."""
        try:
            return parse(node.value)
        except ValueError as exc:
            self.problem(node, str(exc))
            return None

    def text(self, node: Located, *, nonempty: bool = True) -> str | None:
        if not isinstance(node.value, str) or (nonempty and not node.value.strip()):
            self.problem(node, f"expected {'a non-empty' if nonempty else 'a'} string; got {describe_kind(node.value)}")
            return None
        return node.value

    def boolean(self, node: Located) -> bool | None:
        if not isinstance(node.value, bool):
            self.problem(node, f"expected true or false; got {describe_kind(node.value)}")
            return None
        return node.value

    def url(self, node: Located) -> str | None:
        value = self.text(node)
        if value is not None and not re.match(r"https?://[^/\s]+", value):
            self.problem(node, f"expected an http:// or https:// URL; got {value!r}")
            return None
        return value

    def http_method(self, node: Located) -> str | None:
        value = self.text(node)
        if value is not None and value.upper() not in HTTP_METHODS:
            self.problem(node, f"expected an HTTP method ({', '.join(HTTP_METHODS)}); got {value!r}")
            return None
        return value.upper() if value else None

    def number(
        self, node: Located, *, minimum: float | None = None, above: float | None = None, integer: bool = False,
        maximum: float | None = None,
    ) -> Any:
        value = node.value
        what = "an integer" if integer else "a number"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.problem(node, f"expected {what}; got {describe_kind(value)}")
            return None
        if not math.isfinite(value):
            self.problem(node, f"expected a finite number; got {value!r}")
            return None
        if integer and int(value) != value:
            self.problem(node, f"expected {what}; got {describe_kind(value)}")
            return None
        if minimum is not None and value < minimum:
            self.problem(node, f"expected {what} >= {minimum:g}; got {value!r}")
            return None
        if above is not None and value <= above:
            self.problem(node, f"expected {what} > {above:g}; got {value!r}")
            return None
        if maximum is not None and value > maximum:
            limit = f"{maximum:,.0f}" if float(maximum).is_integer() else f"{maximum:g}"
            self.problem(node, f"expected {what} <= {limit}; got {value!r}")
            return None
        return int(value) if integer else float(value)

    def duration(self, node: Located, *, positive: bool = False) -> float | None:
        seconds = self.convert(node, parse_duration)
        if seconds is not None and positive and seconds <= 0:
            self.problem(node, f"expected a duration > 0; got {node.value!r}")
            return None
        return seconds

    def strings(self, node: Located) -> tuple[str, ...] | None:
        items = self.items(node)
        if items is None:
            return None
        before = self.count()
        values = tuple(self.text(item) for item in items)
        return values if self.count() == before else None  # type: ignore[return-value]

    def string_map(self, node: Located) -> dict[str, str] | None:
        if not isinstance(node.value, dict):
            self.problem(node, f"expected a mapping of strings; got {describe_kind(node.value)}")
            return None
        result = {}
        for key, child in node.value.items():
            if isinstance(child.value, bool):
                result[key] = str(child.value).lower()  # `chaos.monkey: true` means the label value "true"
            elif not isinstance(child.value, (str, int, float)):
                self.problem(child, f"expected a string; got {describe_kind(child.value)}")
            else:
                result[key] = str(child.value)
        return result
