"""A circuit breaker for the cache: stop waiting on a dependency that keeps failing.

Without it, a slow Redis costs every read the full cache timeout before the
SQL fallback starts; with it, once ``failures`` of the last ``window`` calls
failed, reads go straight to SQL for ``cooldown_s``, then one read probes the
cache again.

Why a share of recent calls and not N failures in a row: on a busy 2-core
machine a healthy Redis still misses a 100 ms deadline now and then, and a
breaker that opened on a handful of those would send the load to the SQL path,
which costs ten times more per read, making the machine busier still (a
fallback storm). A dead Redis fails every call and opens it just as fast.
The clock is passed in, so the state machine is tested without sleeping.
"""

from __future__ import annotations

from collections import deque

__all__ = ["Breaker"]


class Breaker:
    """closed -> (failures of the last window) -> open -> (cooldown) -> half-open -> success: closed / failure: open."""

    def __init__(self, failures: int, cooldown_s: float, enabled: bool = True, window: int = 20) -> None:
        if not 1 <= failures <= window:
            raise ValueError(f"failures must be within 1..window ({window}), got {failures}")
        self.failures = failures
        self.cooldown_s = cooldown_s
        self.enabled = enabled
        self.opened = 0  # how many times it opened: a counter for /metrics
        self._recent: deque[bool] = deque(maxlen=window)  # True = failed
        self._failed_recently = 0
        self._open_until: float | None = None
        self._probing_since: float | None = None

    def state(self, now: float) -> str:
        if self._open_until is None:
            return "closed"
        return "open" if now < self._open_until else "half-open"

    def allow(self, now: float) -> bool:
        """May this call use the dependency? In half-open, only one probe at a time."""
        if not self.enabled:
            return True
        state = self.state(now)
        if state == "closed":
            return True
        if state == "open":
            return False
        # A probe that never reported (its caller was cancelled) must not hold the breaker open.
        if self._probing_since is not None and now < self._probing_since + self.cooldown_s:
            return False
        self._probing_since = now
        return True

    def success(self) -> None:
        if self._open_until is not None:
            self._close()
            return
        self._record(False)

    def failure(self, now: float) -> None:
        if not self.enabled:
            return
        if self._open_until is not None:
            # A failed probe (or a call that started before the breaker opened): stay open.
            if self._open_until <= now or self._probing_since is not None:
                self._open(now)
            return
        self._record(True)
        if self._failed_recently >= self.failures:
            self._open(now)

    def _record(self, failed: bool) -> None:
        if len(self._recent) == self._recent.maxlen and self._recent[0]:
            self._failed_recently -= 1
        self._recent.append(failed)
        self._failed_recently += failed

    def _open(self, now: float) -> None:
        if self._open_until is None or now >= self._open_until:
            self.opened += 1
        self._open_until = now + self.cooldown_s
        self._probing_since = None

    def _close(self) -> None:
        self._open_until = None
        self._probing_since = None
        self._recent.clear()
        self._failed_recently = 0
