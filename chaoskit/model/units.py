"""Quantities as people write them in experiment files: ``500ms``, ``2m``, ``512MiB``, ``1%``.

Each parser takes what YAML produced (a number or a string) and returns a plain
number in one base unit: seconds, bytes, or a fraction (0..1). They raise
``ValueError`` with a message that says what was expected; the loader turns it
into a problem with file, line and key.
"""

from __future__ import annotations

import math

import re
import signal as _signal

__all__ = ["parse_bytes", "parse_duration", "parse_fraction", "parse_signal"]

_DURATION_UNITS = {"us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
# One or more number+unit terms, as in "1m30s" or "1.5s".
_DURATION_TERM = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*(us|µs|ms|s|m|h)")

_BYTE_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "m": 1000**2,
    "mb": 1000**2,
    "g": 1000**3,
    "gb": 1000**3,
    "t": 1000**4,
    "tb": 1000**4,
    "ki": 1024,
    "kib": 1024,
    "mi": 1024**2,
    "mib": 1024**2,
    "gi": 1024**3,
    "gib": 1024**3,
    "ti": 1024**4,
    "tib": 1024**4,
}
_BYTES = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*([a-zA-Z]*)")


def _is_number(value: object) -> bool:
    # bool is an int subclass; `true` is never a meaningful duration or size.
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def parse_duration(value: object) -> float:
    """Seconds from ``10s``, ``500ms``, ``2m``, ``1m30s``, ``250us`` or a number of seconds."""
    if _is_number(value):
        seconds = float(value)  # type: ignore[arg-type]
    elif isinstance(value, str):
        text = value.strip().replace(" ", "")
        pos, seconds = 0, 0.0
        for match in _DURATION_TERM.finditer(text):
            if match.start() != pos:
                break
            seconds += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
            pos = match.end()
        if pos == 0 or pos != len(text):
            try:
                seconds = float(text)  # "1.5" written as a string still means seconds
            except ValueError:
                raise ValueError(
                    f"expected a duration like 10s, 500ms, 2m or a number of seconds, got {value!r}"
                ) from None
    else:
        raise ValueError(f"expected a duration like 10s, 500ms, 2m or a number of seconds, got {value!r}")
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        raise ValueError(f"expected a finite duration, got {value!r}")
    if seconds < 0:
        raise ValueError(f"expected a duration >= 0, got {value!r}")
    return seconds


def parse_bytes(value: object) -> int:
    """Bytes from ``512MiB``, ``1.5GB``, ``4096`` (SI and binary prefixes, case-insensitive)."""
    if _is_number(value):
        amount = float(value)  # type: ignore[arg-type]
    elif isinstance(value, str):
        match = _BYTES.fullmatch(value.strip())
        unit = match.group(2).lower() if match else None
        if match is None or unit not in _BYTE_UNITS:
            raise ValueError(f"expected a size like 4096, 512MiB or 1.5GB, got {value!r}")
        amount = float(match.group(1)) * _BYTE_UNITS[unit]
    else:
        raise ValueError(f"expected a size like 4096, 512MiB or 1.5GB, got {value!r}")
    if amount < 0 or amount != amount or amount == float("inf"):
        raise ValueError(f"expected a size >= 0, got {value!r}")
    return int(amount)


def parse_fraction(value: object) -> float:
    """A fraction from ``0.05`` or ``5%`` (so ``5%`` == 0.05); not bounded here, but finite."""
    if _is_number(value) and math.isfinite(value):  # type: ignore[arg-type]
        return float(value)  # type: ignore[arg-type]
    if isinstance(value, str):
        text = value.strip()
        try:
            if text.endswith("%"):
                fraction = float(text[:-1].strip()) / 100.0
            else:
                fraction = float(text)
            if math.isfinite(fraction):
                return fraction
        except ValueError:
            pass
    raise ValueError(f"expected a fraction like 0.05 or a percentage like 5%, got {value!r}")


def parse_signal(value: object) -> str:
    """The canonical name (``SIGKILL``) of a signal given as ``SIGKILL``, ``kill``, ``KILL`` or ``9``."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) \
            and float(value) == int(value):
        try:
            return _signal.Signals(int(value)).name
        except ValueError:
            pass
    elif isinstance(value, str):
        text = value.strip().upper()
        if text.isdigit():
            return parse_signal(int(text))
        name = text if text.startswith("SIG") else "SIG" + text
        if name in _signal.Signals.__members__:
            return name
    raise ValueError(f"expected a signal name like SIGKILL or SIGTERM (or its number), got {value!r}")
