"""How a fault (or a rollback action) declares the parameters it accepts.

Each fault in the catalogue declares a :class:`FaultSignature` made of
:class:`ParamSpec` s; the experiment loader takes a mapping ``fault type ->
signature`` and checks every step against it, so an unknown fault type or a bad
parameter is reported with its file, line and key before anything runs.

``coerce_param`` is the one place a raw YAML value becomes a typed value, and
:meth:`FaultSignature.complete` the one place defaults are applied: the loader
parses each experiment file's values once into a frozen :class:`Params`, and
:meth:`FaultSignature.parse` does the same for values that come from elsewhere
(a ledger record, a caller building a fault in code).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from chaoskit.model.units import (
    parse_bytes,
    parse_duration,
    parse_fraction,
    parse_signal,
)

__all__ = [
    "PARAM_TYPES",
    "PROXY_NAME_PATTERN",
    "FaultSignature",
    "ParamSpec",
    "ParamType",
    "Params",
    "TargetKind",
    "coerce_param",
    "param_table",
    "signature_of",
]

# str, int, float, bool: as in YAML (an int is accepted where a float is wanted).
# duration: 10s / 500ms / number of seconds -> float seconds.
# bytes: 512MiB / 1GB / number -> int bytes.
# fraction: 0.05 or 5% -> float.
# signal: SIGKILL / KILL / 9 -> "SIGKILL".
# list[str]: a list of strings (a single string is accepted as a one-item list) -> tuple.
# argv: a command: a list of strings (an argv, -> tuple) or one string (for ``sh -c``, kept a str).
# any: whatever YAML gave (a JSON body, say), unchecked.
ParamType = Literal[
    "str", "int", "float", "bool", "duration", "bytes", "fraction", "signal", "list[str]", "argv", "any"
]
PARAM_TYPES: tuple[str, ...] = (
    "str",
    "int",
    "float",
    "bool",
    "duration",
    "bytes",
    "fraction",
    "signal",
    "list[str]",
    "argv",
    "any",
)

# A Toxiproxy proxy name: it becomes part of API URLs, so nothing that could change their path or query.
PROXY_NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}"

# Whether a fault step takes a container selector (``target:``): container and
# in-container faults require one; process and disk faults may run on the host
# (no target); network faults address a Toxiproxy proxy by a parameter instead.
TargetKind = Literal["required", "optional", "none"]


@dataclass(frozen=True)
class ParamSpec:
    """One parameter: its name, type, whether it is required, its default and its bounds."""

    name: str
    type: ParamType = "str"
    required: bool = False
    default: Any = None
    min: float | None = None
    max: float | None = None
    choices: tuple[Any, ...] = ()
    # A regular expression a string value must match whole (names that go into URLs).
    pattern: str | None = None
    doc: str = ""

    def __post_init__(self) -> None:
        if self.type not in PARAM_TYPES:
            raise ValueError(
                f"ParamSpec {self.name!r}: unknown type {self.type!r}; expected one of {', '.join(PARAM_TYPES)}"
            )
        if self.required and self.default is not None:
            raise ValueError(f"ParamSpec {self.name!r}: a required parameter has no default")

    def describe(self) -> str:
        """One line for ``chaoskit faults``: ``latency_ms (int, required, >= 0): added delay``."""
        facts = [
            self.type,
            "required" if self.required else f"default {self.default!r}" if self.default is not None else "optional",
        ]
        if self.min is not None:
            facts.append(f">= {self.min:g}")
        if self.max is not None:
            facts.append(f"<= {self.max:g}")
        if self.choices:
            facts.append("one of " + "|".join(str(c) for c in self.choices))
        text = f"{self.name} ({', '.join(facts)})"
        return f"{text}: {self.doc}" if self.doc else text


@dataclass(frozen=True)
class FaultSignature:
    """Everything the loader needs to validate one fault type's steps."""

    params: tuple[ParamSpec, ...] = ()
    target: TargetKind = "required"
    # Groups of parameter names of which exactly one must be given (disk.fill: percent | bytes).
    one_of: tuple[tuple[str, ...], ...] = ()
    # Without a target it acts on the whole host (process.kill): a step must then say ``scope: host``.
    host_wide: bool = False
    doc: str = ""

    def param(self, name: str) -> ParamSpec | None:
        return next((p for p in self.params if p.name == name), None)

    def unmet(self, given: Collection[str]) -> list[tuple[str | None, str]]:
        """What ``given`` (the names supplied) lacks: (the parameter concerned or None, what it needs) each."""
        missing: list[tuple[str | None, str]] = [
            (spec.name, f"needs parameter {spec.describe()}") for spec in self.params
            if spec.required and spec.name not in given
        ]
        for group in self.one_of:
            named = [name for name in group if name in given]
            if len(named) != 1:
                got = f"got {' and '.join(named)}" if named else "got none"
                missing.append((None, f"needs exactly one of {' | '.join(group)}; {got}"))
        return missing

    def complete(self, typed: Mapping[str, Any]) -> Params:
        """``typed`` (values already checked) with every default filled in: the one place defaults are applied."""
        defaults = {spec.name: spec.default for spec in self.params if spec.default is not None}
        return Params({**defaults, **{k: v for k, v in typed.items() if v is not None}})

    def parse(self, raw: Mapping[str, Any]) -> Params:
        """Check, type and complete plain values (a ledger record's, a caller's); ``ValueError`` names the problem.

        A :class:`Params` is returned as it is: it was parsed when it was made.
        """
        if isinstance(raw, Params):
            return raw
        typed: dict[str, Any] = {}
        for name, value in raw.items():
            spec = self.param(name)
            if spec is None:
                expected = ", ".join(p.name for p in self.params) or "no parameters"
                raise ValueError(f"unknown parameter {name!r} (expected: {expected})")
            if value is not None:
                try:
                    typed[name] = coerce_param(spec, value)
                except ValueError as exc:
                    raise ValueError(f"{name}: {exc}") from None
        for _, problem in self.unmet(typed):
            raise ValueError(problem)
        return self.complete(typed)


class Params(Mapping[str, Any]):
    """Parameters checked against a signature: typed values, defaults applied, read-only.

    Built by :meth:`FaultSignature.complete` or :meth:`FaultSignature.parse`;
    a parameter neither given nor defaulted is absent (``params.get(name)`` is None).
    """

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, Any] | None = None):
        self._values = dict(values or {})

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Params({self._values!r})"

    def plain(self) -> dict[str, Any]:
        """A JSON-ready copy (tuples become lists), as the ledger stores it."""
        return {name: list(v) if isinstance(v, tuple) else v for name, v in self._values.items()}


def signature_of(declared: FaultSignature | Sequence[ParamSpec]) -> FaultSignature:
    """Accept a bare list of ParamSpecs as a signature whose target is optional."""
    if isinstance(declared, FaultSignature):
        return declared
    return FaultSignature(params=tuple(declared), target="optional")


def coerce_param(spec: ParamSpec, value: Any) -> Any:
    """The typed value of ``value`` for ``spec``; ``ValueError`` says what was expected."""
    typed = _coerce_type(spec, value)
    numeric = isinstance(typed, (int, float)) and not isinstance(typed, bool)
    if spec.min is not None and numeric and typed < spec.min:
        raise ValueError(f"expected {spec.type} >= {spec.min:g}, got {value!r}")
    if spec.max is not None and numeric and typed > spec.max:
        raise ValueError(f"expected {spec.type} <= {spec.max:g}, got {value!r}")
    if spec.choices and typed not in spec.choices:
        raise ValueError(f"expected one of {', '.join(str(c) for c in spec.choices)}, got {value!r}")
    if spec.pattern is not None and isinstance(typed, str) and not re.fullmatch(spec.pattern, typed):
        raise ValueError(f"expected a name matching {spec.pattern}, got {value!r}")
    return typed


def _coerce_type(spec: ParamSpec, value: Any) -> Any:
    kind = spec.type
    if kind == "str":
        # Numbers are fine as strings (a network name "1"), containers and bools are not.
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ValueError(f"expected a string, got {value!r}")
        return str(value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"expected true or false, got {value!r}")
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
            raise ValueError(f"expected an integer, got {value!r}")
        return int(value)
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"expected a number, got {value!r}")
        return float(value)
    if kind == "duration":
        return parse_duration(value)
    if kind == "bytes":
        return parse_bytes(value)
    if kind == "fraction":
        return parse_fraction(value)
    if kind == "signal":
        return parse_signal(value)
    if kind == "list[str]":
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)) or not all(isinstance(i, str) for i in items):
            raise ValueError(f"expected a list of strings, got {value!r}")
        return tuple(items)
    if kind == "argv":
        if isinstance(value, str) and value.strip():
            return value
        if isinstance(value, (list, tuple)) and value and all(isinstance(i, str) for i in value):
            return tuple(value)
        raise ValueError(f"expected a command: a non-empty list of strings, or a string for sh -c, got {value!r}")
    if kind == "any":
        return value
    raise AssertionError(kind)  # __post_init__ rejects other types


def param_table(signatures: Mapping[str, FaultSignature | Sequence[ParamSpec]]) -> dict[str, FaultSignature]:
    """Normalise a catalogue mapping so every value is a FaultSignature."""
    return {name: signature_of(sig) for name, sig in signatures.items()}
