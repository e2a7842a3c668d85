"""Sub-millisecond wake-ups for the generator's event loop.

uvloop (libuv) keeps time in whole milliseconds: ``asyncio.sleep(0.0005)``
returns at once and ``loop.call_at`` may fire up to 1 ms early or late, so a
schedule of one arrival every 50 us (20,000 req/s) cannot be kept with loop
timers, and spinning on ``sleep(0)`` burns a core even at 10 req/s. On Linux
a ``timerfd`` armed at an absolute CLOCK_MONOTONIC time (the clock behind
``time.monotonic`` and ``time.perf_counter``) becomes readable at that instant
(within the kernel's 50 us timer slack) and wakes the loop's epoll like any
socket. Python has ``os.timerfd_create`` only from 3.13, hence ctypes.

Elsewhere :class:`LoopTimer` falls back to loop timers: correct, but with
dispatch lag up to about a millisecond.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import os
import sys
import time
from collections.abc import Callable

__all__ = ["LoopTimer", "PreciseTimer", "make_timer"]

_CLOCK_MONOTONIC = 1
_TFD_NONBLOCK = os.O_NONBLOCK
_TFD_CLOEXEC = os.O_CLOEXEC
_TFD_TIMER_ABSTIME = 1


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.timerfd_create.argtypes = [ctypes.c_int, ctypes.c_int]
        libc.timerfd_settime.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.POINTER(_Itimerspec), ctypes.c_void_p]
        return libc
    except (OSError, AttributeError):
        return None


class PreciseTimer:
    """One-shot timer on a timerfd: ``arm(when)`` calls ``callback`` at monotonic time ``when``."""

    def __init__(self, loop: asyncio.AbstractEventLoop, callback: Callable[[], None], libc: ctypes.CDLL):
        self._loop = loop
        self._callback = callback
        self._libc = libc
        fd = libc.timerfd_create(_CLOCK_MONOTONIC, _TFD_NONBLOCK | _TFD_CLOEXEC)
        if fd < 0:
            raise OSError(ctypes.get_errno(), "timerfd_create failed")
        self._fd = fd
        self._spec = _Itimerspec()  # reused: arming allocates nothing
        self._spec_ref = ctypes.byref(self._spec)
        self._armed_at = -1.0
        self._period = 0.0
        loop.add_reader(fd, self._on_readable)

    def arm(self, when: float) -> None:
        """Fire once at ``when`` (ending a periodic mode); an infinite time leaves the timer as it is."""
        if when == self._armed_at or when == float("inf"):
            return
        self._armed_at = when
        self._period = 0.0
        self._settime(max(when, 1e-6), 0.0)  # an all-zero it_value would disarm the timer

    def arm_by(self, when: float) -> None:
        """Make sure of a wake-up at or before ``when``; an earlier pending one is kept.

        Re-arming costs a system call (a VM exit on virtual machines); keeping an
        earlier wake-up costs at most one early callback that finds nothing due.
        In periodic mode this does nothing: a wake-up is never more than a period away.
        """
        if self._period or 0 < self._armed_at <= when:
            return
        self.arm(when)

    def every(self, period: float, start: float) -> None:
        """Fire at ``start`` and every ``period`` after it, until ``arm`` or ``disarm``.

        At high rates a wake-up is due every period anyway; arming once saves the
        system call per wake-up that ``arm_by`` would make.
        """
        self._period = period
        self._armed_at = -1.0
        self._settime(max(start, 1e-6), period)

    def disarm(self) -> None:
        self._period = 0.0
        self._armed_at = -1.0
        self._settime(0.0, 0.0)

    def _settime(self, when: float, period: float) -> None:
        spec = self._spec
        sec = int(when)
        spec.it_value.tv_sec = sec
        spec.it_value.tv_nsec = int((when - sec) * 1e9)
        sec = int(period)
        spec.it_interval.tv_sec = sec
        spec.it_interval.tv_nsec = int((period - sec) * 1e9)
        self._libc.timerfd_settime(self._fd, _TFD_TIMER_ABSTIME, self._spec_ref, None)

    def _on_readable(self) -> None:
        try:
            os.read(self._fd, 8)  # the number of expirations: late ones coalesce into one call
        except BlockingIOError:
            return
        if not self._period:
            self._armed_at = -1.0
        self._callback()

    def close(self) -> None:
        if self._fd >= 0:
            self._loop.remove_reader(self._fd)
            os.close(self._fd)
            self._fd = -1


class LoopTimer:
    """The portable fallback: a loop timer (millisecond resolution)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, callback: Callable[[], None], clock: Callable[[], float]):
        self._loop = loop
        self._callback = callback
        self._clock = clock
        self._handle: asyncio.TimerHandle | None = None
        self._armed_at = -1.0
        self._period = 0.0

    def arm(self, when: float) -> None:
        if when == self._armed_at or when == float("inf"):
            return
        self._period = 0.0
        self._schedule(when)

    def arm_by(self, when: float) -> None:
        if self._period or 0 < self._armed_at <= when:
            return
        self.arm(when)

    def every(self, period: float, start: float) -> None:
        self._period = period
        self._schedule(start)

    def disarm(self) -> None:
        self._period = 0.0
        self._armed_at = -1.0
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _schedule(self, when: float) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._armed_at = when
        self._handle = self._loop.call_later(max(0.0, when - self._clock()), self._fire)

    def _fire(self) -> None:
        self._handle = None
        self._armed_at = -1.0
        if self._period:
            self._schedule(self._clock() + self._period)
        self._callback()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


def make_timer(loop: asyncio.AbstractEventLoop, callback: Callable[[], None],
               clock: Callable[[], float] = time.monotonic) -> PreciseTimer | LoopTimer:
    """A timerfd timer when ``clock`` reads the kernel's CLOCK_MONOTONIC, else a loop timer."""
    libc = _libc()
    names = {time.monotonic: "monotonic", time.perf_counter: "perf_counter"}
    name = names.get(clock)  # type: ignore[call-overload]
    monotonic = name is not None and time.get_clock_info(name).implementation == "clock_gettime(CLOCK_MONOTONIC)"
    if libc is not None and monotonic:
        try:
            return PreciseTimer(loop, callback, libc)
        except OSError:
            pass
    return LoopTimer(loop, callback, clock)
