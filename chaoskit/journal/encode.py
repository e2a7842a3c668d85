"""Turning what chaoskit's objects hold into plain JSON values, the one way every journal writes them."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

__all__ = ["now", "plain"]


def now() -> str:
    """The wall-clock stamp every journal record carries (UTC, milliseconds)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def plain(value: Any) -> Any:
    """JSON-ready copy: dataclasses as mappings, enums by name, datetimes as ISO text, sets sorted."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list) and getattr(value, "streamed", False):
        return value  # produced item by item when written (a day of load buckets): not copied, not held
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((plain(v) for v in value), key=str)
    return value
