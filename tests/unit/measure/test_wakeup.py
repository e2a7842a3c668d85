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


def run_periodic(factory) -> tuple[int, int]:
    """Fires of a 5 ms periodic timer in 60 ms, then after disarm() in another 30 ms."""
    async def main() -> tuple[int, int]:
        loop = asyncio.get_running_loop()
        fired: list[float] = []
        timer = factory(loop, lambda: fired.append(time.monotonic()))
        timer.every(0.005, time.monotonic())
        timer.arm_by(time.monotonic() + 10.0)  # periodic: a wake-up is already due within the period
        await asyncio.sleep(0.06)
        timer.disarm()
        during = len(fired)
        await asyncio.sleep(0.03)
        timer.close()
        return during, len(fired) - during

    return asyncio.run(main())


def test_precise_timer_periodic_mode_fires_until_disarmed():
    """every() keeps firing without re-arming; disarm() stops it."""
    during, after = run_periodic(lambda loop, cb: make_timer(loop, cb, time.perf_counter))
    assert during >= 6 and after == 0


def test_loop_timer_periodic_mode_fires_until_disarmed():
    during, after = run_periodic(lambda loop, cb: LoopTimer(loop, cb, time.monotonic))
    assert during >= 4 and after == 0
