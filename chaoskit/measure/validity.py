"""Was the measurement itself sound? A window where the generator fell behind judges nothing (pure).

Latency is timed from the intended send time, so a generator that dispatches
late inflates every latency it reports; one that cannot keep the rate offers
the system less load than the experiment claims. A generator whose thread
is busy nearly all the time reads answers late, so its own queueing shows in
the latencies even while it dispatches on time. Either way a violation in
such a window could be the generator's doing, so the window is *invalid* and
the verdict INCONCLUSIVE, with the reasons below, never blamed on the system.

On a virtual machine the usual cause is the hypervisor running other guests
on our cores (steal): an invalid window says how much it took, so a user
knows whether to look at chaoskit's settings or at the machine.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from chaoskit.measure.buckets import Bucket
from chaoskit.measure.window import summarize

__all__ = ["Validity", "ValidityLimits", "assess_validity"]


@dataclass(frozen=True)
class ValidityLimits:
    """How far behind the generator may fall before a window is not trusted.

    The lag default (10 ms) sits above what the generator shows when it keeps
    up with a core to itself (p99 0.6-2 ms at 20k req/s on the project's VM)
    and above the scheduler's jitter on a busy machine (p99 of 7-10 ms at 20k
    req/s when other work shares the core), yet far below a generator that is
    falling behind, whose lag grows without bound. Tighten it for SLOs of a
    few ms.

    The busy limit: past about 90% of a core the generator's own queue grows
    with every hiccup (a 10 ms stall takes ten times as long to work off), and
    its latencies with it.
    """

    max_lag_p99_s: float = 0.010
    min_achieved_fraction: float = 0.95
    max_busy_fraction: float = 0.90
    # Steal worth naming as a cause: 0.5% is one 10 ms tick of /proc/stat per second on 2 CPUs.
    steal_note_fraction: float = 0.005


@dataclass(frozen=True)
class Validity:
    valid: bool
    reasons: tuple[str, ...] = ()
    lag_p99_s: float | None = None
    achieved_fraction: float | None = None  # sent / scheduled over the window
    steal: float = 0.0  # share of the machine's CPU time the hypervisor took over the window


def _missing(indices: list[int]) -> list[int]:
    present = set(indices)
    return [i for i in range(indices[0], indices[-1] + 1) if i not in present]


def assess_validity(buckets: Iterable[Bucket], limits: ValidityLimits = ValidityLimits()) -> Validity:
    """Whether the generator kept its schedule over ``buckets``, and if not, why (read in one pass)."""
    indices: list[int] = []
    lag_overflow = 0

    def tallied(stream: Iterable[Bucket]) -> Iterator[Bucket]:
        nonlocal lag_overflow
        for bucket in stream:
            indices.append(bucket.index)
            lag_overflow += bucket.lag_overflow
            yield bucket

    total = summarize(tallied(buckets))
    if not total.buckets:
        return Validity(False, ("no completed second of load in the window",))
    reasons: list[str] = []
    missing = _missing(sorted(indices))
    if missing:
        shown = ", ".join(str(i) for i in missing[:5]) + (" ..." if len(missing) > 5 else "")
        reasons.append(f"{len(missing)} second(s) of load missing (seconds {shown}): the generator stopped recording")
    target, sent = total.target, total.sent
    fraction = sent / target if target else None
    if fraction is not None and fraction < limits.min_achieved_fraction:
        reasons.append(f"generator fell behind: sent {sent} of {target} scheduled requests "
                       f"({fraction:.1%} < {limits.min_achieved_fraction:.0%})")
    lag_p99 = total.lag_p99
    if lag_p99 is not None and lag_p99 > limits.max_lag_p99_s:
        reasons.append(f"generator fell behind: dispatch lag p99 {lag_p99 * 1e3:.2f} ms > "
                       f"{limits.max_lag_p99_s * 1e3:g} ms")
    busy = total.cpu_s / total.seconds if total.seconds > 0 else 0.0
    if busy > limits.max_busy_fraction:
        reasons.append(f"generator saturated: its thread used {busy:.0%} of a core "
                       f"(> {limits.max_busy_fraction:.0%}), so its own queueing is in the latencies")
    if lag_overflow:
        reasons.append(f"generator fell behind: {lag_overflow} request(s) dispatched over a minute late")
    steal = total.steal
    if reasons and steal >= limits.steal_note_fraction:
        reasons.append(f"meanwhile the hypervisor took {steal:.1%} of the machine's CPU for other guests (steal), "
                       "a likely cause: rerun on a quieter or dedicated machine, or with load.keep_cpus_awake")
    return Validity(not reasons, tuple(reasons), lag_p99, fraction, steal)
