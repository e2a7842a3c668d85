"""Wake-ups: the timer fires its callback once armed, and ignores 'never'."""

from __future__ import annotations

import asyncio
import time

from chaoskit.measure.wakeup import LoopTimer, make_timer


def run_timer(factory) -> tuple[list[float], float]:
    async def main() -> tuple[list[float], float]:
        loop = asyncio.get_running_loop()
        fired: list[float] = []
        timer = factory(loop, lambda: fired.append(time.monotonic()))
        timer.arm(float("inf"))  # nothing scheduled: must not raise nor fire
        armed_for = time.monotonic() + 0.02
        timer.arm(armed_for)
        for _ in range(200):
            if fired:
                break
            await asyncio.sleep(0.005)
        timer.close()
        return fired, armed_for

    return asyncio.run(main())


def test_precise_timer_fires_once_at_or_after_its_time():
    """The default timer (timerfd on Linux) calls back once, not before the armed time."""
    fired, armed_for = run_timer(lambda loop, cb: make_timer(loop, cb, time.perf_counter))
    assert len(fired) == 1 and fired[0] >= armed_for - 1e-4


def test_loop_timer_fallback_fires():
    """The portable fallback calls back too."""
    fired, _ = run_timer(lambda loop, cb: LoopTimer(loop, cb, time.monotonic))
    assert len(fired) == 1
