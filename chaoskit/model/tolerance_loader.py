"""Tolerances: what a probe's observed values are judged against (a bare value, a list, or a mapping)."""

from __future__ import annotations

import re
from typing import Any

from chaoskit.model.checker import describe_kind
from chaoskit.model.source import Located
from chaoskit.model.target_loader import TargetChecker
from chaoskit.model.tolerance import AllOf, Equals, InRange, OneOf, Regex, Relative, Threshold, Tolerance
from chaoskit.model.units import parse_fraction

__all__ = ["TOLERANCE_KEYS", "ToleranceChecker"]

# Keys of a value tolerance, by the kind of value it judges.
_NUMERIC_TOLERANCE = ("equals", "one_of", "min", "max", "range", "max_ratio", "min_ratio", "max_increase")
TOLERANCE_KEYS: dict[str, tuple[str, ...]] = {
    "int": _NUMERIC_TOLERANCE,
    "number": _NUMERIC_TOLERANCE,
    "duration": _NUMERIC_TOLERANCE,
    "fraction": (*_NUMERIC_TOLERANCE, "max_increase_points"),
    "text": ("equals", "one_of", "matches"),
    "bool": ("equals",),
    "any": ("equals", "one_of", "min", "max", "range", "matches"),
}


class ToleranceChecker(TargetChecker):
    """The checker, taught tolerances."""

    def tolerance(self, node: Located, kind: str, bare: str) -> Tolerance | None:
        """A value tolerance: a bare value, a list (one of), or a mapping of tolerance keys."""
        if isinstance(node.value, list):
            values = [self.tolerance_value(item, kind) for item in node.value]
            if not values:
                self.problem(node, "expected at least one value")
            return OneOf(tuple(values)) if values and all(v is not None for v in values) else None
        if not isinstance(node.value, dict):
            if bare == "regex":
                return self.regex(node)
            value = self.tolerance_value(node, kind)
            if value is None:
                return None
            return Threshold(max=value) if bare == "max" else Equals(value)
        keys = self.mapping(node, TOLERANCE_KEYS[kind])
        if keys is None:
            return None
        if not keys:
            self.problem(node, f"expected at least one of {', '.join(TOLERANCE_KEYS[kind])}")
            return None
        before = self.count()
        parts: list[Tolerance] = []
        if "equals" in keys:
            parts.append(Equals(self.tolerance_value(keys["equals"], kind)))
        if "one_of" in keys:
            one_of = (
                self.tolerance(keys["one_of"], kind, "equals")
                if isinstance(keys["one_of"].value, list)
                else OneOf((self.tolerance_value(keys["one_of"], kind),))
            )
            if one_of is not None:
                parts.append(one_of)
        if "min" in keys or "max" in keys:
            low = self.tolerance_number(keys["min"], kind) if "min" in keys else None
            high = self.tolerance_number(keys["max"], kind) if "max" in keys else None
            if low is not None and high is not None and low > high:
                self.problem(keys["min"], f"min {low:g} is above max {high:g}")
            parts.append(Threshold(low, high))
        if "range" in keys:
            bounds = keys["range"].value
            if not isinstance(bounds, list) or len(bounds) != 2:
                self.problem(keys["range"], f"expected [low, high]; got {describe_kind(bounds)}")
            else:
                low, high = (self.tolerance_number(b, kind) for b in bounds)
                if low is not None and high is not None and low > high:
                    self.problem(keys["range"], f"low {low:g} is above high {high:g}")
                parts.append(InRange(low, high))  # type: ignore[arg-type]
        if "matches" in keys:
            regex = self.regex(keys["matches"])
            if regex is not None:
                parts.append(regex)
        relative = self.relative(keys, kind)
        if relative is not None:
            parts.append(relative)
        if self.count() != before:
            return None
        return parts[0] if len(parts) == 1 else AllOf(tuple(parts))

    def tolerance_value(self, node: Located, kind: str) -> Any:
        if kind in ("int", "number", "duration", "fraction"):
            return self.tolerance_number(node, kind)
        if kind == "text":
            return self.text(node, nonempty=False)
        if kind == "bool":
            return self.boolean(node)
        return node.plain()

    def tolerance_number(self, node: Located, kind: str) -> float | None:
        if kind == "duration":
            return self.duration(node)
        if kind == "fraction":
            return self.convert(node, parse_fraction)
        return self.number(node, integer=kind == "int")

    def regex(self, node: Located) -> Regex | None:
        pattern = self.text(node)
        if pattern is None:
            return None
        try:
            re.compile(pattern)
        except re.error as exc:
            self.problem(node, f"not a valid regular expression: {exc}")
            return None
        return Regex(pattern)

    def relative(self, keys: dict[str, Located], kind: str) -> Relative | None:
        """The part of a tolerance relative to the baseline (ratios, increases), if any."""
        relative: dict[str, float | None] = {}
        for key in ("max_ratio", "min_ratio"):
            if key in keys:
                relative[key] = self.number(keys[key], above=0)
        if "max_increase" in keys:
            relative["max_increase"] = self.tolerance_number(keys["max_increase"], kind)
        if "max_increase_points" in keys:
            points = self.number(keys["max_increase_points"], minimum=0)
            if "max_increase" in keys:
                self.problem(keys["max_increase_points"], "give max_increase or max_increase_points, not both")
            relative["max_increase"] = points / 100 if points is not None else None
        # None only with a problem recorded, which discards the whole tolerance.
        return Relative(**relative) if relative else None  # type: ignore[arg-type]
