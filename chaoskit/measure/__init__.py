"""Measuring the steady state as users see it: open-model load, per-second HDR buckets, sound statistics.

=====================  ==========================================================
module                 what it is for
=====================  ==========================================================
``arrivals``           when each request is due (pure: rate, ramp -> times)
``mix``                which request each arrival sends, as bytes (pure, seeded)
``http1``              just enough HTTP/1.1 response framing (pure)
``wakeup``             sub-millisecond loop wake-ups (timerfd)
``loadgen``            the generator's thread side: start, stop, read buckets
``engine``             the generator's event-loop side: schedule, ticks, drain
``dispatch``           sending each arrival when it is due
``pool``               keep-alive connections per host:port, waiting requests
``tls``                TLS contexts, session resumption, failures in one line
``outcomes``           what became of each request, captured values
``tuning``             while generators run: GIL, heap, real-time, CPUs awake
``buckets``            one second of load: HDR histograms and counts, JSON
``recorder``           the second being recorded (the generator's thread only)
``store``              completed seconds: the latest in memory, older ones spilled
``window``             a span of buckets summarised (merged histograms), or tallied
``validity``           did the generator keep up? (pure)
``stats``              Mann-Whitney U, Hodges-Lehmann shift and interval (pure)
``intervals``          a window's quantile and error-rate intervals (pure)
``pairwise``           order statistics of m*n differences in O(m+n) memory (pure)
``judge``              a metric of a fault window against its tolerance (pure)
``detection``          time to detect, time to recover (pure)
``readings``           a Prometheus probe's readings judged per window (pure)
``prometheus_poll``    a Prometheus probe's query polled into readings
=====================  ==========================================================

Only ``loadgen``, ``engine``, ``pool``, ``tls``, ``wakeup``, ``tuning`` and
``prometheus_poll`` act on the world; everything else is a function of its arguments.
"""

from __future__ import annotations

from chaoskit.measure.arrivals import ArrivalSchedule
from chaoskit.measure.buckets import Bucket
from chaoskit.measure.detection import Limit, baseline_band, limit_for, time_to_detect, time_to_recover
from chaoskit.measure.judge import MetricJudgement, judge_metric, per_second
from chaoskit.measure.loadgen import LoadGenerator, LoadGeneratorFailed
from chaoskit.measure.stats import ShiftEstimate, compare, decide_shift
from chaoskit.measure.validity import Validity, ValidityLimits, assess_validity
from chaoskit.measure.window import WindowStats, WindowTally, select, summarize, tally

__all__ = [
    "ArrivalSchedule",
    "Bucket",
    "Limit",
    "LoadGenerator",
    "LoadGeneratorFailed",
    "MetricJudgement",
    "ShiftEstimate",
    "Validity",
    "ValidityLimits",
    "WindowStats",
    "WindowTally",
    "assess_validity",
    "baseline_band",
    "compare",
    "decide_shift",
    "judge_metric",
    "limit_for",
    "per_second",
    "select",
    "summarize",
    "tally",
    "time_to_detect",
    "time_to_recover",
]
