"""Numbers as people read them in a report: latencies in ms, error rates in %, durations in s.

A journal stores values in the experiment model's units (latencies in seconds,
error rates as fractions) and only the *subject* name says which is which, so
the unit is inferred from that name once, here, and every renderer agrees.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from chaoskit.verdict import recovery_text

__all__ = [
    "UNIT_PERCENT",
    "UNIT_PLAIN",
    "UNIT_RATE",
    "UNIT_SECONDS",
    "describe_selector",
    "describe_tolerance",
    "format_duration",
    "format_recovery",
    "format_interval",
    "format_shift",
    "format_value",
    "is_number",
    "unit_of",
]

UNIT_SECONDS = "s"  # shown in ms
UNIT_PERCENT = "ratio"  # a fraction, shown in %
UNIT_RATE = "req/s"
UNIT_PLAIN = ""

_LATENCY = re.compile(r"^(p\d+(\.\d+)?|max|mean|latency|.*_latency|.*lag.*|.*_s)$")
_RATES = ("throughput", "achieved_rate", "target_rate")


def is_number(value: Any) -> bool:
    """A finite int or float (bool is not a number here, whatever Python says)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def unit_of(subject: str) -> str:
    """The unit of a probe subject or load metric, from its name (``p99`` -> seconds, ``error_rate`` -> ratio)."""
    name = subject.strip().lower()
    if name in _RATES:
        return UNIT_RATE
    if name == "error_rate" or name.endswith("error_rate") or name.endswith("_ratio"):
        return UNIT_PERCENT
    if _LATENCY.match(name):
        return UNIT_SECONDS
    return UNIT_PLAIN


def format_value(value: Any, unit: str = UNIT_PLAIN) -> str:
    """One value in its unit: ``12.3 ms``, ``0.52 %``, ``200``; non-numbers as written, None as an em dash."""
    if value is None:
        return "\u2014"
    if not is_number(value):
        if isinstance(value, float):  # nan / inf
            return str(value)
        text = str(value)
        return text if len(text) <= 60 else text[:57] + "..."
    if unit == UNIT_SECONDS:
        return _milliseconds(float(value))
    if unit == UNIT_PERCENT:
        return f"{value * 100:.3g} %"
    if unit == UNIT_RATE:
        return f"{value:.4g} req/s"
    if isinstance(value, int):
        return str(value)
    return f"{value:.4g}"


def format_shift(value: Any, unit: str = UNIT_PLAIN) -> str:
    """A difference against the baseline, signed: ``+12.3 ms``, ``+0.4 points``."""
    if not is_number(value):
        return format_value(value, unit)
    sign = "+" if value >= 0 else "-"
    magnitude = abs(float(value))
    if unit == UNIT_PERCENT:
        return f"{sign}{magnitude * 100:.3g} points"
    return sign + format_value(magnitude, unit)


def format_interval(low: Any, high: Any, unit: str = UNIT_PLAIN, confidence: Any = None) -> str:
    """A confidence interval of a shift: ``[+8 ms, +15 ms] (98 %)``."""
    text = f"[{format_shift(low, unit)}, {format_shift(high, unit)}]"
    if is_number(confidence):
        text += f" ({confidence * 100:g} %)" if confidence <= 1 else f" ({confidence:g} %)"
    return text


def format_duration(seconds: Any) -> str:
    """Seconds for times to detect and other durations: ``3.2 s``, ``450 ms``, ``2 min 05 s``; None as an em dash."""
    if not is_number(seconds):
        return "\u2014"
    seconds = float(seconds)
    if seconds < 1:
        return _milliseconds(seconds)
    if seconds < 120:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def format_recovery(seconds: Any) -> str:
    """A time to recover, written as the verdict's reason writes it (:func:`chaoskit.verdict.recovery_text`)."""
    return recovery_text(float(seconds)) if is_number(seconds) else "\u2014"


def _milliseconds(seconds: float) -> str:
    ms = seconds * 1000
    if abs(ms) >= 10_000:
        return f"{seconds:.3g} s"
    if abs(ms) >= 100:
        return f"{ms:.0f} ms"
    return f"{ms:.3g} ms"


def describe_tolerance(tolerance: Any, unit: str = UNIT_PLAIN) -> str:
    """A tolerance as the journal stores it (a dataclass made plain) in words: ``<= 150 ms``.

    The journal drops the tolerance's class name, so its kind is read from
    its keys (``min``/``max``, ``value``, ``values``, ``low``/``high``,
    ``pattern``, ``path``/``expect``, ratios, ``parts``).
    """
    if not isinstance(tolerance, Mapping):
        return "" if tolerance is None else str(tolerance)
    keys = set(tolerance)
    if "parts" in keys:
        return " and ".join(describe_tolerance(p, unit) for p in tolerance.get("parts") or ())
    if "path" in keys and "expect" in keys:
        return f"{tolerance['path']} {describe_tolerance(tolerance['expect'], unit)}"
    if keys == {"value"}:
        return f"= {tolerance['value']!r}" if isinstance(tolerance["value"], str) else f"= {tolerance['value']}"
    if "values" in keys:
        return "one of " + ", ".join(str(v) for v in tolerance.get("values") or ())
    if "low" in keys or "high" in keys:
        return f"in [{format_value(tolerance.get('low'), unit)}, {format_value(tolerance.get('high'), unit)}]"
    if "pattern" in keys:
        return f"matches /{tolerance['pattern']}/"
    parts = []
    if tolerance.get("min") is not None:
        parts.append(f">= {format_value(tolerance['min'], unit)}")
    if tolerance.get("max") is not None:
        parts.append(f"<= {format_value(tolerance['max'], unit)}")
    if tolerance.get("max_ratio") is not None:
        parts.append(f"<= {tolerance['max_ratio']:g}x baseline")
    if tolerance.get("min_ratio") is not None:
        parts.append(f">= {tolerance['min_ratio']:g}x baseline")
    if tolerance.get("max_increase") is not None:
        parts.append(f"<= baseline {format_shift(tolerance['max_increase'], unit)}")
    if parts:
        return " and ".join(parts)
    return ", ".join(f"{k} {v}" for k, v in tolerance.items() if v is not None)


def describe_selector(selector: Any) -> str:
    """A target selector as the journal stores it, in the ``key=value`` form of ``chaoskit targets``."""
    if not isinstance(selector, Mapping):
        return "" if selector is None else str(selector)
    parts: list[str] = []
    for key, value in selector.items():
        if value in (None, "", {}, ()) or (key == "state" and value == "running"):
            continue
        if isinstance(value, Mapping):
            parts.extend(f"label:{k}={v}" for k, v in value.items())
        elif isinstance(value, Sequence) and not isinstance(value, str):
            parts.append(f"{key}={','.join(str(v) for v in value)}")
        else:
            parts.append(f"{key}={value}")
    return " ".join(parts)
