"""SIGINT and SIGTERM as an :class:`~chaoskit.errors.Aborted` raised in the main thread.

Isolated in one context manager that restores the previous handlers, so the
run loop's ``finally`` (revert everything, write the journal) runs on Ctrl-C
and on ``kill`` alike. Only the first signal raises: from then on SIGINT and
SIGTERM are both ignored until the block ends, so a SIGTERM that follows a
Ctrl-C within milliseconds (a supervisor, a CI runner) cannot cut the
revert or the journal short. A controller that really must go gets SIGKILL,
and its guard reverts (:mod:`chaoskit.run.guard`).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from chaoskit.errors import Aborted

__all__ = ["signals_abort"]


@contextmanager
def signals_abort() -> Iterator[None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)
        raise Aborted(f"interrupted by {signal.Signals(signum).name}")

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
