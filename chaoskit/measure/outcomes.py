"""What became of each request: answered (ok or not), failed or timed out, recorded in its second.

Synchronous and called only from the generator's event loop: every outcome
goes through :meth:`Outcomes.now` first, which closes the second that ended
before the request stops being counted in flight. Values of successful
answers can be captured (``RequestSpec.capture``, e.g. the id of each created
tweet) for probes that check them afterwards.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from chaoskit.measure.buckets import FAILED, OK, TIMED_OUT
from chaoskit.measure.recorder import BucketRecorder
from chaoskit.measure.http1 import ResponseParser
from chaoskit.measure.mix import CompiledRequest

__all__ = ["Outcomes", "Request"]

# A request (intended time, request-kind index, bytes to write).
Request = tuple[float, int, bytes]


class Outcomes:
    """Records outcomes into the current :class:`BucketRecorder` and keeps captured values."""

    __slots__ = ("clock", "recorder", "ok_status", "capture", "captured", "captured_missing")

    def __init__(self, requests: Sequence[CompiledRequest], clock: Callable[[], float]):
        self.clock = clock
        self.recorder: BucketRecorder | None = None  # set when the schedule starts
        self.ok_status = [r.ok_status for r in requests]
        # Kinds whose successful answers give up a value (the id of what was created).
        self.capture = [re.compile(rb'"' + re.escape(r.capture.encode()) + rb'"\s*:\s*(-?\d+|"[^"]*")')
                        if r.capture else None for r in requests]
        self.captured: list[list[Any]] = [[] for _ in requests]
        self.captured_missing = 0  # successful answers without the value to capture

    def now(self) -> float:
        """The time, after closing the second that ended (before anything stops being in flight)."""
        now = self.clock()
        recorder = self.recorder
        if now >= recorder.end:  # type: ignore[union-attr]
            recorder.rotate(now)  # type: ignore[union-attr]
        return now

    def answered(self, req: Request, status: int, parser: ResponseParser, now: float) -> None:
        intended, kind, _ = req
        if status in self.ok_status[kind]:
            self.recorder.outcome(kind, OK, now - intended, now)  # type: ignore[union-attr]
            if self.capture[kind] is not None:
                self._capture(kind, parser.body())
        else:
            self.recorder.outcome(kind, FAILED, now - intended, now, f"status {status}")  # type: ignore[union-attr]

    def failed(self, req: Request, error: str, now: float) -> None:
        self.recorder.outcome(req[1], FAILED, now - req[0], now, error)  # type: ignore[union-attr]

    def timed_out(self, req: Request, now: float) -> None:
        self.recorder.outcome(req[1], TIMED_OUT, now - req[0], now)  # type: ignore[union-attr]

    def _capture(self, kind: int, body: bytes) -> None:
        match = self.capture[kind].search(body)  # type: ignore[union-attr]
        if match is None:
            self.captured_missing += 1
            return
        raw = match.group(1)
        self.captured[kind].append(int(raw) if raw[:1] != b'"' else raw[1:-1].decode("utf-8", "replace"))
