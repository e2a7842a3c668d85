"""Helpers shared by tests (not fixtures: those live in conftest.py)."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(ready: Callable[[], object], what: str, timeout_s: float = 20.0) -> None:
    """Poll ``ready`` until it returns truthy without raising.

    A published port accepts connections (docker-proxy) before the server
    behind it listens, so readiness is an answer, not an open port.
    """
    deadline = time.monotonic() + timeout_s
    last: BaseException | None = None
    while True:
        try:
            if ready():
                return
            last = None
        except Exception as exc:  # noqa: BLE001 - any failure means "not yet"
            last = exc
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not ready after {timeout_s} s") from last
        time.sleep(0.1)
