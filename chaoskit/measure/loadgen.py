"""The open-model load generator: requests go out on schedule, however slowly the server answers.

A :class:`LoadGenerator` runs its own uvloop event loop in a background
thread; the (synchronous) run loop calls :meth:`~LoadGenerator.start`, reads
completed per-second buckets while the load runs, and calls
:meth:`~LoadGenerator.stop`. This module is the thread side; everything in
the loop is :class:`chaoskit.measure.engine.Engine`'s.

Why not aiohttp: an open-model aiohttp+uvloop generator collapsed at 14k
req/s on this project's machines, and the target is 20k req/s on one core.
The hot path is therefore a raw ``asyncio.Protocol`` speaking HTTP/1.1 on
keep-alive connections (:mod:`.pool`, over TLS for ``https://`` with
:mod:`.tls`): requests rendered from precompiled templates (:mod:`.mix`),
sent when due (:mod:`.dispatch`, woken by :mod:`.wakeup`), responses parsed
only as far as framing needs (:mod:`.http1`), and per-request bookkeeping
reduced to list appends (:mod:`.outcomes`) flushed into HDR histograms once a
second (:mod:`.buckets`). Measured (bench/loadgen_bench.py): about 23-29 us of
CPU per request at 20k req/s, of which about half is the kernel's send and
receive; wrk needs 10-15 us.

Latency is measured from each request's *intended* send time (no
coordinated omission); dispatch lag (actual minus intended dispatch) measures
the generator's own lateness: when it grows, the window is invalid, not the
system guilty.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import uvloop

from chaoskit.errors import LoadGeneratorFailed
from chaoskit.log import get_logger
from chaoskit.measure.arrivals import ArrivalSchedule
from chaoskit.measure.buckets import Bucket
from chaoskit.measure.engine import Engine
from chaoskit.measure.mix import RequestMix
from chaoskit.measure.tls import client_context
from chaoskit.measure.tuning import (
    CPU_LATENCY_DEVICE,
    keep_cpus_awake,
    let_cpus_sleep,
    lower_process,
    raise_process,
    tune_process,
    untune_process,
)
from chaoskit.measure.store import BucketDicts, BucketStore, Seconds
from chaoskit.measure.validity import ValidityLimits, assess_validity
from chaoskit.measure.window import WindowStats, summarize, summarize_slices
from chaoskit.model.load import LoadSpec

__all__ = ["LoadGenerator", "LoadGeneratorFailed"]

log = get_logger("chaoskit.measure")


def _apply(key: str, setting: bool | str, tune: Callable[[], None], what: str, remedy: str, **fallback: str) -> bool:
    """Apply a ``load.<key>`` tuning set to true, false or auto; whether it was applied.

    Refused, ``true`` fails the load with one line saying what to do, and
    ``auto`` logs ``load.<key>_refused`` and goes on without it.
    """
    if not setting:
        return False
    try:
        tune()
        return True
    except OSError as exc:
        if setting != "auto":
            raise LoadGeneratorFailed(
                f"load.{key} is set but {what} was refused ({exc.strerror}): {remedy}, or set {key}: auto") from exc
        log.warning(f"load.{key}_refused", error=exc.strerror, **fallback)
        return False


class LoadGenerator:
    """Open-model HTTP load in a background thread, measured per second.

    ``clock`` must be monotonic (seconds) and ``wall_clock`` epoch seconds;
    both are injectable. With the default clock (``time.monotonic``) buckets'
    ``start_mono`` compares directly with ``time.monotonic()`` in the run loop.
    ``steal_time`` reads the CPU-seconds the hypervisor has taken since boot
    (``chaoskit.adapters.host.machine_steal_s``); without it no steal is recorded.
    """

    def __init__(self, spec: LoadSpec, *, clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time, max_duration_s: float = 3600.0,
                 validity: ValidityLimits = ValidityLimits(), steal_time: Callable[[], float] | None = None):
        if spec.timeout_s <= 0:
            raise ValueError(f"load timeout must be > 0, got {spec.timeout_s}")
        if spec.max_connections < 1:
            raise ValueError(f"load max_connections must be >= 1, got {spec.max_connections}")
        self.spec = spec
        self.mix = RequestMix(spec.requests, spec.users, spec.seed)
        ArrivalSchedule(spec.rate, spec.ramp_s)  # validates rate and ramp now, not in the thread
        if any(r.https for r in self.mix.requests):
            client_context(spec.tls)  # unreadable CA or client certificate: fail now, in one line
        self.validity_limits = validity
        self._clock = clock
        self._wall_clock = wall_clock
        self._steal_time = steal_time
        self._max_duration_s = max_duration_s
        self._store = BucketStore()
        self._engine: Engine | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._stopped = False
        self._realtime = False  # the process was raised for this load (see tuning.raise_process)
        self._cpus_awake = False  # the CPUs are kept awake for this load (see tuning.keep_cpus_awake)

    # -- lifecycle -----------------------------------------------------------

    def start(self, timeout_s: float | None = None) -> None:
        """Open connections and start the schedule; returns once the first arrival is due."""
        if self._thread is not None:
            raise RuntimeError("a LoadGenerator starts once")
        # Logged before the thread starts, so rendering the log line does not hold the
        # GIL while the first arrivals are due.
        log.info("load.started", rate=self.spec.rate, ramp_s=self.spec.ramp_s, kinds=list(self.mix.names),
                 connections=self.spec.connections)
        # First: the generator's thread inherits the policy.
        self._realtime = _apply("realtime", self.spec.realtime, raise_process, "real-time scheduling",
                                "run chaoskit as root or with CAP_SYS_NICE", scheduling="normal")
        try:
            self._cpus_awake = _apply("keep_cpus_awake", self.spec.keep_cpus_awake, keep_cpus_awake,
                                      f"the CPU latency request ({CPU_LATENCY_DEVICE})",
                                      f"run chaoskit as root (it writes {CPU_LATENCY_DEVICE})", cpus="normal idle")
        except LoadGeneratorFailed:
            self._untune()
            raise
        tune_process()
        self._thread = threading.Thread(target=self._thread_main, name="chaoskit-loadgen", daemon=True)
        self._thread.start()
        wait = timeout_s if timeout_s is not None else self.spec.timeout_s + 10.0
        if not self._ready.wait(wait):
            self.stop()
            raise LoadGeneratorFailed(f"load generator not ready after {wait:g} s")
        error = self._error
        if error is not None:
            self.stop()
            if isinstance(error, LoadGeneratorFailed):
                raise LoadGeneratorFailed(str(error)) from error
            raise LoadGeneratorFailed(f"load generator failed to start: {error}") from error

    def _thread_main(self) -> None:
        loop = uvloop.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            self._engine = Engine(self.spec, self.mix, self._store, self._clock, self._wall_clock,
                                  self._max_duration_s, self._steal_time)
            loop.run_until_complete(self._engine.run(self._ready.set))
        except BaseException as exc:  # noqa: BLE001 - recorded and surfaced by start()/stop()/error
            self._error = exc
            log.error("load.failed", error=str(exc) if isinstance(exc, LoadGeneratorFailed) else repr(exc))
        finally:
            self._ready.set()
            self._store.wake_all()
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()

    def stop(self, timeout_s: float | None = None) -> None:
        """Stop dispatching, let outstanding requests end (by their timeout at worst)."""
        if self._thread is None or self._stopped:
            return
        self._stopped = True
        loop, engine = self._loop, self._engine
        if loop is not None and engine is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(engine.request_stop)
            except RuntimeError:
                pass  # the loop already ended
        self._thread.join(timeout_s if timeout_s is not None else self.spec.timeout_s + 5.0)
        untune_process()
        self._untune()
        total = summarize(self._store)
        log.info("load.stopped", seconds=round(total.seconds, 3), sent=total.sent, succeeded=total.succeeded,
                 failed=total.failed, timed_out=total.timed_out)

    def _untune(self) -> None:
        # The flags stay: the journal says how this load ran.
        if self._realtime:
            lower_process()
        if self._cpus_awake:
            let_cpus_sleep()

    def __enter__(self) -> LoadGenerator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def captured(self, kind: str) -> list[Any]:
        """Values captured from successful answers of request ``kind`` so far (see RequestSpec.capture)."""
        engine = self._engine
        if engine is None:
            return []
        return list(engine.outcomes.captured[self.mix.names.index(kind)])

    def diagnostics(self) -> dict[str, Any]:
        """Counters about the generator itself: connections opened, connect failures, timer wake-ups."""
        engine = self._engine
        if engine is None:
            return {}
        links, outcomes = engine.links, engine.outcomes
        tls = {"tls_resumed": links.tls_resumed} if any(p.tls is not None for p in engine.pools) else {}
        return {"connects": links.connects, "connect_failures": links.connect_failures, **tls,
                "scheduling": "SCHED_FIFO" if self._realtime else "normal",
                "cpus": "kept awake" if self._cpus_awake else "normal idle",
                "timer_wakeups": engine.dispatcher.timer_wakeups, "timer": type(engine.dispatcher.timer).__name__,
                "captured": {name: len(values) for name, values in zip(self.mix.names, outcomes.captured)
                             if self.mix.requests[self.mix.names.index(name)].capture},
                "captured_missing": outcomes.captured_missing}

    @property
    def error(self) -> BaseException | None:
        """Why the generator's thread died, if it did."""
        return self._error

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._stopped

    # -- live reading (any thread) -----------------------------------------------

    def buckets(self) -> tuple[Bucket, ...]:
        """Every completed per-second bucket so far (a snapshot; spilled seconds are read back: not for live use)."""
        return self._store.snapshot()

    def seconds_between(self, start: float, end: float) -> Seconds:
        """The whole seconds inside [start, end) on the ``mono`` clock (those it overlaps if none is whole).

        Read back a second at a time as they are iterated: a window of any length is judged in bounded memory.
        """
        return self._store.seconds(start, end)

    def seconds_from(self, start: float) -> Iterator[Bucket]:
        """The completed seconds starting at or after ``start`` (``mono`` clock), read one at a time."""
        return (b for b in self._store if b.start_mono >= start - 1e-6)

    def wait_for_buckets(self, count: int, timeout_s: float) -> bool:
        """Block until ``count`` buckets are complete (False on timeout or if the generator died)."""
        return self._store.wait_for(count, timeout_s) and len(self._store) >= count

    def latest_window(self, seconds: int = 1) -> WindowStats | None:
        """The last ``seconds`` completed buckets, summarised; None before the first one completes."""
        buckets = self._store.latest(seconds)
        return summarize(buckets) if buckets else None

    def trailing(self, span_s: float) -> WindowStats | None:
        """The load over its last ``span_s`` seconds, in tenths while they are kept (whole seconds beyond)."""
        if span_s <= self._store.slices_s:
            slices = self._store.slices(span_s)
            return summarize_slices(slices) if slices else None
        return self.latest_window(math.ceil(span_s))

    def invalid_reason(self, buckets: Iterable[Bucket] | None = None) -> str | None:
        """Why the measurement cannot be trusted (all buckets, or the ones given), or None."""
        if self._error is not None:
            return f"load generator failed: {self._error!r}"
        validity = assess_validity(self._store if buckets is None else buckets, self.validity_limits)
        return None if validity.valid else "; ".join(validity.reasons)

    def journal(self, t0: float | None = None) -> dict[str, Any]:
        """The load's record for the journal: its spec, every bucket, the whole-run summary, validity.

        The store is read a bucket at a time, and the buckets are produced as the journal writes them
        (:class:`~chaoskit.measure.store.BucketDicts`), so a day's seconds are never all in memory.
        ``t0``: each bucket gets ``t``, its start on the caller's clock (``mono`` seconds since ``t0``).
        """
        validity = assess_validity(self._store, self.validity_limits)
        return {
            "spec": {"rate": self.spec.rate, "ramp_s": self.spec.ramp_s, "timeout_s": self.spec.timeout_s,
                     "connections": self.spec.connections, "max_connections": self.spec.max_connections,
                     "seed": self.spec.seed, "realtime": self.spec.realtime,
                     "keep_cpus_awake": self.spec.keep_cpus_awake, "requests": list(self.mix.names)},
            "summary": summarize(self._store).to_dict(),
            "generator": self.diagnostics(),
            "validity": {"valid": validity.valid and self._error is None,
                         "reasons": list(validity.reasons) + ([f"load generator failed: {self._error!r}"]
                                                              if self._error is not None else [])},
            "buckets": BucketDicts(self._store, t0),
        }
