"""How the process is tuned while load generators run, and put back when the last one stops.

The generator is a thread of the `chaoskit run` (or monkey) process, and every
thread of a CPython process takes turns on one lock, the GIL. So what delays
the process's other threads delays dispatch too, and each setting here is
about the whole process:

* a short GIL switch interval, so a thread that computes (statistics, the
  journal) hands the GIL back within half a millisecond;
* a frozen heap, so a full garbage collection does not walk every object
  while holding the GIL;
* with ``load.realtime``, every thread SCHED_FIFO at the lowest real-time
  priority, not only the generator's (see :func:`raise_process`).

One setting is about the machine: with ``load.keep_cpus_awake`` the kernel is
asked to keep every CPU out of idle states that take time to leave (see
:func:`keep_cpus_awake`).

Counted: generators that overlap in any order (the monkey's and a run's)
leave the process as they found it only when the last one stops.
"""

from __future__ import annotations

import gc
import os
import struct
import sys
import threading

__all__ = ["CPU_LATENCY_DEVICE", "GIL_SWITCH_INTERVAL_S", "freeze_heap", "keep_cpus_awake", "let_cpus_sleep",
           "lower_process", "raise_process", "thaw_heap", "tune_process", "untune_process"]

# GIL switch interval while a generator runs (the default is 5 ms).
GIL_SWITCH_INTERVAL_S = 0.0005

_lock = threading.Lock()
_tuned = 0  # generators running in this process
_saved_switch_interval = 0.0
_raised = 0  # real-time generators running in this process
_saved_policies: dict[int, tuple[int, int]] = {}  # thread id -> (policy, priority) before raise_process
_seen: set[int] = set()  # every thread there was when raise_process raised them
# The kernel's PM QoS file: a CPU wake-up latency limit (microseconds, a native int)
# that holds while the file stays open, and no longer.
CPU_LATENCY_DEVICE = "/dev/cpu_dma_latency"
_awake = 0  # generators keeping the CPUs awake
_awake_fd: int | None = None


def freeze_heap() -> None:
    """Exempt every object alive now from the garbage collector's full passes, until thaw_heap().

    A full collection walks every tracked object of the process while holding
    the GIL, so the generator's thread stops with it: 60-80 ms for the ~130k
    objects of a `chaoskit run` process on the project's VM, long enough to
    invalidate a window. Frozen, a full pass walks only what was made since
    (about 3 ms for 60k new objects). Reference counting still frees
    everything that is not in a cycle.
    """
    gc.collect()  # what is garbage now should not be kept for the whole load
    gc.freeze()


def thaw_heap() -> None:
    gc.unfreeze()


def tune_process() -> None:
    """While any generator runs: a short GIL switch interval and a frozen heap (see untune_process).

    The run loop's thread may compute (statistics, journal) while the load
    runs; with the default 5 ms switch interval each such burst would delay
    dispatch by up to 5 ms, with GIL_SWITCH_INTERVAL_S at most that.
    """
    global _tuned, _saved_switch_interval
    with _lock:
        if not _tuned:
            _saved_switch_interval = sys.getswitchinterval()
            sys.setswitchinterval(min(_saved_switch_interval, GIL_SWITCH_INTERVAL_S))
            freeze_heap()
        _tuned += 1


def untune_process() -> None:
    global _tuned
    with _lock:
        _tuned -= 1
        if not _tuned:
            sys.setswitchinterval(_saved_switch_interval)
            thaw_heap()


def _threads() -> list[int]:
    return [int(tid) for tid in os.listdir("/proc/self/task")]


def _lowest_fifo() -> os.sched_param:
    return os.sched_param(os.sched_get_priority_min(os.SCHED_FIFO))


def raise_process() -> None:
    """While any real-time generator runs: every thread of the process SCHED_FIFO at the lowest priority.

    Above every normal task (the system under test when it shares the
    machine, the kernel's worker threads such as the DAMON monitor), below
    the kernel's own real-time threads; the kernel's real-time throttling
    still leaves others 5% of a core should a thread spin. Every thread, not
    only the generator's: raised alone, it waits for the GIL held by the run
    loop's thread, which a busy machine preempts for tens of milliseconds (a
    priority inversion). With a CPU hog beside the sample stack, raising only
    the generator's thread left seconds with a lag p99 of 20-54 ms; raising
    the process, 0.8-7 ms. Threads started meanwhile inherit the policy.
    Threads already real-time are left as they are.

    Raises OSError (EPERM) without CAP_SYS_NICE or a real-time allowance,
    having put back any thread it had raised.
    """
    global _raised
    with _lock:
        if not _raised:
            fifo = _lowest_fifo()
            saved: dict[int, tuple[int, int]] = {}
            try:
                for tid in _threads():
                    try:
                        policy = os.sched_getscheduler(tid)
                        if policy in (os.SCHED_FIFO, os.SCHED_RR):
                            continue
                        priority = os.sched_getparam(tid).sched_priority
                        os.sched_setscheduler(tid, os.SCHED_FIFO, fifo)
                    except ProcessLookupError:
                        continue  # the thread ended meanwhile
                    saved[tid] = (policy, priority)
            except OSError:
                _restore(saved)
                raise
            _saved_policies.update(saved)
            _seen.update(_threads())
        _raised += 1


def lower_process() -> None:
    """Undo raise_process when the last real-time generator stops.

    Threads raised are put back as they were; threads started while raised
    (they inherited SCHED_FIFO at the lowest priority) get the normal policy,
    unless nothing was raised (the process was real-time already).
    """
    global _raised
    with _lock:
        _raised -= 1
        if _raised:
            return
        lowest = _lowest_fifo().sched_priority
        for tid in _threads() if _saved_policies else ():
            if tid in _seen:
                continue
            try:
                if os.sched_getscheduler(tid) == os.SCHED_FIFO and os.sched_getparam(tid).sched_priority == lowest:
                    _saved_policies[tid] = (os.SCHED_OTHER, 0)
            except ProcessLookupError:
                pass
        _restore(_saved_policies)
        _saved_policies.clear()
        _seen.clear()


def _restore(saved: dict[int, tuple[int, int]]) -> None:
    for tid, (policy, priority) in saved.items():
        try:
            os.sched_setscheduler(tid, policy, os.sched_param(priority))
        except ProcessLookupError:
            pass  # the thread ended meanwhile


def keep_cpus_awake() -> None:
    """While any generator asks it: every CPU kept out of idle states slower to leave than 0 us.

    The kernel's CPU latency request (PM QoS), held by keeping
    CPU_LATENCY_DEVICE open with 0 written to it, as cyclictest does: idle
    CPUs poll instead of halting. On a virtual machine a halted vCPU gives its
    physical core back to the host, and the timer that should wake the
    generator then waits until the host runs the vCPU again, 2-10 ms when the
    host is busy (it shows as steal). At 20,000 req/s on this project's VM
    the dispatch-lag p99 stayed within 1 ms in 22 runs of 22 with it, in 10
    of 12 alternated runs without (bench/loadgen_bench.py). The price: idle CPUs spin
    (to a hypervisor the VM looks busy; a laptop's cores stay out of deep
    sleep), for the system under test as much as for the generator.

    The request ends when the file is closed, by let_cpus_sleep() or by the
    kernel when the process dies, so a crash cannot leave it behind. Raises
    OSError where the file is missing or not writable (it is root's);
    nothing is held then.
    """
    global _awake, _awake_fd
    with _lock:
        if not _awake:
            fd = os.open(CPU_LATENCY_DEVICE, os.O_WRONLY | os.O_CLOEXEC)
            try:
                os.write(fd, struct.pack("=i", 0))
            except OSError:
                os.close(fd)
                raise
            _awake_fd = fd
        _awake += 1


def let_cpus_sleep() -> None:
    """Undo keep_cpus_awake when the last generator that asked for it stops."""
    global _awake, _awake_fd
    with _lock:
        _awake -= 1
        if not _awake and _awake_fd is not None:
            os.close(_awake_fd)
            _awake_fd = None
