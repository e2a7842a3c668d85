"""Tolerances: what a probe's observed value must satisfy for the steady state to hold.

Each kind is a small frozen dataclass, judged by one small function registered
on :func:`evaluate` (``functools.singledispatch``, as chaostoolkit-lib does), so
each is read and tested on its own. A probe's tolerance is a tuple of
:class:`Check` s, each naming the *subject* it looks at (``status``,
``latency``, ``body``, ``exit_code``, ``value``...) in the observations the
probe produced.

Relative tolerances compare with the baseline value of the same subject; when
there is no baseline the judgement is *inconclusive*, never a guess.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "AllOf",
    "Check",
    "Equals",
    "InRange",
    "JsonPath",
    "Judgement",
    "OneOf",
    "Regex",
    "Relative",
    "Threshold",
    "Tolerance",
    "absolute_part",
    "evaluate",
    "evaluate_checks",
    "json_path_lookup",
    "valid_json_path",
]


class Tolerance:
    """Base class of every tolerance kind (a marker: dispatch is on the concrete class)."""

    __slots__ = ()


@dataclass(frozen=True)
class Judgement:
    """The outcome of one tolerance: ``ok``, and in words why not (or what held)."""

    ok: bool
    reason: str = ""
    inconclusive: bool = False


@dataclass(frozen=True)
class Equals(Tolerance):
    value: Any

    def __str__(self) -> str:
        return f"== {self.value!r}"


@dataclass(frozen=True)
class OneOf(Tolerance):
    values: tuple[Any, ...]

    def __str__(self) -> str:
        return "in {" + ", ".join(repr(v) for v in self.values) + "}"


@dataclass(frozen=True)
class InRange(Tolerance):
    """low <= value <= high."""

    low: float
    high: float

    def __str__(self) -> str:
        return f"in [{self.low:g}, {self.high:g}]"


@dataclass(frozen=True)
class Threshold(Tolerance):
    """value >= min and/or value <= max (an SLO)."""

    min: float | None = None
    max: float | None = None

    def __str__(self) -> str:
        parts = ([f">= {self.min:g}"] if self.min is not None else []) + (
            [f"<= {self.max:g}"] if self.max is not None else []
        )
        return " and ".join(parts)


@dataclass(frozen=True)
class Regex(Tolerance):
    """re.search(pattern, str(value)) finds a match."""

    pattern: str

    def __str__(self) -> str:
        return f"matches /{self.pattern}/"


@dataclass(frozen=True)
class JsonPath(Tolerance):
    """The value (JSON text or already-parsed JSON) at ``path`` satisfies ``expect``."""

    path: str
    expect: Tolerance

    def __str__(self) -> str:
        return f"{self.path} {self.expect}"


@dataclass(frozen=True)
class Relative(Tolerance):
    """Against the baseline value of the same subject.

    value <= max_ratio x baseline, value >= min_ratio x baseline (throughput
    must not drop), value <= baseline + max_increase. ``max_increase`` is in the
    subject's own unit (for an error rate, a fraction: 0.5 points is 0.005).
    """

    max_ratio: float | None = None
    min_ratio: float | None = None
    max_increase: float | None = None

    def __str__(self) -> str:
        parts = []
        if self.max_ratio is not None:
            parts.append(f"<= {self.max_ratio:g}x baseline")
        if self.min_ratio is not None:
            parts.append(f">= {self.min_ratio:g}x baseline")
        if self.max_increase is not None:
            parts.append(f"<= baseline + {self.max_increase:g}")
        return " and ".join(parts)


@dataclass(frozen=True)
class AllOf(Tolerance):
    parts: tuple[Tolerance, ...]

    def __str__(self) -> str:
        return " and ".join(str(p) for p in self.parts)


@dataclass(frozen=True)
class Check:
    """One tolerance applied to one subject of a probe's observations."""

    subject: str
    tolerance: Tolerance

    def __str__(self) -> str:
        return f"{self.subject} {self.tolerance}"


def absolute_part(tolerance: Tolerance) -> Tolerance | None:
    """The tolerance without its relative parts (what a baseline can be held to), or None if nothing is left."""
    if isinstance(tolerance, Relative):
        return None
    if isinstance(tolerance, AllOf):
        parts = tuple(p for p in (absolute_part(t) for t in tolerance.parts) if p is not None)
        return None if not parts else parts[0] if len(parts) == 1 else AllOf(parts)
    return tolerance


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        return None
    return float(value)


def _same(a: Any, b: Any) -> bool:
    # In Python True == 1; in a tolerance `status: 1` must not accept `true`.
    return isinstance(a, bool) == isinstance(b, bool) and a == b


@functools.singledispatch
def evaluate(tolerance: Tolerance, value: Any, baseline: Any = None) -> Judgement:
    """Judge ``value`` (and, for relative kinds, ``baseline``) against ``tolerance``."""
    raise TypeError(f"no evaluator for tolerance {type(tolerance).__name__}")


@evaluate.register
def _equals(tolerance: Equals, value: Any, baseline: Any = None) -> Judgement:
    ok = _same(value, tolerance.value)
    return Judgement(ok, f"{value!r} {'==' if ok else '!='} {tolerance.value!r}")


@evaluate.register
def _one_of(tolerance: OneOf, value: Any, baseline: Any = None) -> Judgement:
    ok = any(_same(value, v) for v in tolerance.values)
    return Judgement(ok, f"{value!r} {'in' if ok else 'not in'} {{{', '.join(repr(v) for v in tolerance.values)}}}")


@evaluate.register
def _in_range(tolerance: InRange, value: Any, baseline: Any = None) -> Judgement:
    number = _number(value)
    if number is None:
        return Judgement(False, f"{value!r} is not a number (expected {tolerance})")
    ok = tolerance.low <= number <= tolerance.high
    return Judgement(ok, f"{number:g} {'in' if ok else 'outside'} [{tolerance.low:g}, {tolerance.high:g}]")


@evaluate.register
def _threshold(tolerance: Threshold, value: Any, baseline: Any = None) -> Judgement:
    number = _number(value)
    if number is None:
        return Judgement(False, f"{value!r} is not a number (expected {tolerance})")
    if tolerance.max is not None and number > tolerance.max:
        return Judgement(False, f"{number:g} > max {tolerance.max:g}")
    if tolerance.min is not None and number < tolerance.min:
        return Judgement(False, f"{number:g} < min {tolerance.min:g}")
    return Judgement(True, f"{number:g} {tolerance}")


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


@evaluate.register
def _regex(tolerance: Regex, value: Any, baseline: Any = None) -> Judgement:
    if value is None:
        return Judgement(False, f"no value to match /{tolerance.pattern}/")
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    ok = _compiled(tolerance.pattern).search(text) is not None
    shown = text if len(text) <= 80 else text[:77] + "..."
    return Judgement(ok, f"{shown!r} {'matches' if ok else 'does not match'} /{tolerance.pattern}/")


@evaluate.register
def _json_path(tolerance: JsonPath, value: Any, baseline: Any = None) -> Judgement:
    document = value
    if isinstance(value, (str, bytes)):
        try:
            document = json.loads(value)
        except ValueError:
            return Judgement(False, f"not JSON, so no {tolerance.path}")
    found, inner = json_path_lookup(document, tolerance.path)
    if not found:
        return Judgement(False, f"{tolerance.path} not found")
    base_found, base_inner = json_path_lookup(baseline, tolerance.path) if baseline is not None else (False, None)
    judged = evaluate(tolerance.expect, inner, base_inner if base_found else None)
    return Judgement(judged.ok, f"{tolerance.path}: {judged.reason}", judged.inconclusive)


@evaluate.register
def _relative(tolerance: Relative, value: Any, baseline: Any = None) -> Judgement:
    number, base = _number(value), _number(baseline)
    if number is None:
        return Judgement(False, f"{value!r} is not a number (expected {tolerance})")
    if base is None:
        return Judgement(False, f"no baseline to compare {number:g} with", inconclusive=True)
    ratio = f"x{number / base:.2f}" if base > 0 else "baseline 0"
    if tolerance.max_ratio is not None and number > tolerance.max_ratio * base:
        return Judgement(False, f"{number:g} vs baseline {base:g} ({ratio} > x{tolerance.max_ratio:g})")
    if tolerance.min_ratio is not None and number < tolerance.min_ratio * base:
        return Judgement(False, f"{number:g} vs baseline {base:g} ({ratio} < x{tolerance.min_ratio:g})")
    if tolerance.max_increase is not None and number > base + tolerance.max_increase:
        return Judgement(False, f"{number:g} vs baseline {base:g} (+{number - base:g} > +{tolerance.max_increase:g})")
    return Judgement(True, f"{number:g} vs baseline {base:g}")


@evaluate.register
def _all_of(tolerance: AllOf, value: Any, baseline: Any = None) -> Judgement:
    reasons, inconclusive = [], False
    for part in tolerance.parts:
        judged = evaluate(part, value, baseline)
        if not judged.ok and not judged.inconclusive:
            return judged  # a clear violation outweighs an undecidable part
        inconclusive = inconclusive or judged.inconclusive
        reasons.append(judged.reason)
    return Judgement(not inconclusive, "; ".join(reasons), inconclusive)


def evaluate_checks(
    checks: tuple[Check, ...] | list[Check],
    observed: Mapping[str, Any],
    baseline: Mapping[str, Any] | None = None,
) -> Judgement:
    """Judge every check of a probe; the first clear violation decides, named by its subject."""
    reasons, inconclusive = [], False
    for check in checks:
        if check.subject not in observed:
            return Judgement(False, f"{check.subject}: not observed")
        base = baseline.get(check.subject) if baseline is not None else None
        judged = evaluate(check.tolerance, observed[check.subject], base)
        if not judged.ok and not judged.inconclusive:
            return Judgement(False, f"{check.subject}: {judged.reason}")
        inconclusive = inconclusive or judged.inconclusive
        reasons.append(f"{check.subject}: {judged.reason}")
    return Judgement(not inconclusive, "; ".join(reasons), inconclusive)


_PATH_TOKEN = re.compile(r"\.?([^.\[\]]+)|\[(-?\d+)\]")


def json_path_lookup(document: Any, path: str) -> tuple[bool, Any]:
    """A tiny JSON path: ``data.items[0].id`` (a leading ``$`` or ``$.`` is allowed).

    Returns ``(found, value)``; a missing key, a bad index or walking into a
    scalar is ``(False, None)``.
    """
    text = path.strip()
    if text.startswith("$"):
        text = text[1:]
    current, pos = document, 0
    while pos < len(text):
        match = _PATH_TOKEN.match(text, pos)
        if match is None:
            return False, None
        key, index = match.group(1), match.group(2)
        if key is not None:
            if not isinstance(current, Mapping) or key not in current:
                return False, None
            current = current[key]
        else:
            if not isinstance(current, list):
                return False, None
            try:
                current = current[int(index)]
            except IndexError:
                return False, None
        pos = match.end()
    return True, current


def valid_json_path(path: str) -> bool:
    """Whether ``path`` parses as a tiny JSON path (for the loader's checks)."""
    text = path.strip()
    if text.startswith("$"):
        text = text[1:]
    pos = 0
    while pos < len(text):
        match = _PATH_TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            return False
        pos = match.end()
    return True
