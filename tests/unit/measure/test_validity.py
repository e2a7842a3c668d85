"""Validity: a window where the generator fell behind is not trusted, with the reason said."""

from __future__ import annotations

from chaoskit.measure.validity import ValidityLimits, assess_validity

from .factory import bucket


def on_time(index: int, **kwargs: object):
    return bucket(index, [0.002] * 100, lags_s=[0.0001] * 100, **kwargs)  # type: ignore[arg-type]


def test_a_generator_that_kept_up_is_valid():
    """On-time dispatch at the target rate: valid, no reasons."""
    validity = assess_validity([on_time(i) for i in range(5)])
    assert validity.valid and validity.reasons == ()
    assert validity.achieved_fraction == 1.0


def test_too_few_sent_is_invalid():
    """Sending under 95 % of the scheduled requests invalidates the window and says how many."""
    validity = assess_validity([on_time(i, target=110) for i in range(5)])
    assert not validity.valid
    assert "sent 500 of 550" in validity.reasons[0]


def test_late_dispatch_is_invalid():
    """A dispatch lag p99 over the limit invalidates the window."""
    late = [bucket(i, [0.002] * 100, lags_s=[0.0001] * 90 + [0.050] * 10) for i in range(3)]
    validity = assess_validity(late, ValidityLimits(max_lag_p99_s=0.005))
    assert not validity.valid
    assert "dispatch lag p99 50" in validity.reasons[0]


def test_missing_seconds_are_invalid():
    """A hole in the bucket sequence means the generator stopped recording."""
    validity = assess_validity([on_time(0), on_time(1), on_time(4)])
    assert not validity.valid and "2 second(s) of load missing (seconds 2, 3)" in validity.reasons[0]


def test_an_empty_window_is_invalid():
    """No bucket at all cannot support any verdict."""
    assert not assess_validity([]).valid


def test_draining_seconds_do_not_count_against_the_rate():
    """Seconds with nothing scheduled (after the load stopped) do not lower the achieved fraction."""
    assert assess_validity([on_time(0), bucket(1, [0.002], sent=0, target=0)]).valid


def test_a_saturated_generator_is_invalid():
    """A generator thread busy over the limit of the window's time is not trusted, even when on time."""
    busy = [on_time(i, cpu_s=cpu) for i, cpu in enumerate((0.97, 0.93, 0.95))]
    validity = assess_validity(busy)
    assert not validity.valid
    assert validity.reasons == ("generator saturated: its thread used 95% of a core (> 90%), "
                                "so its own queueing is in the latencies",)
    assert assess_validity([on_time(i, cpu_s=0.6) for i in range(3)]).valid


def test_an_invalid_window_names_the_hypervisors_steal():
    """When the generator fell behind while the hypervisor took CPU, the reasons say how much, and what may help."""
    late = [bucket(i, [0.002] * 100, lags_s=[0.0001] * 90 + [0.050] * 10, steal=steal)
            for i, steal in enumerate((0.02, 0.06, 0.04))]
    validity = assess_validity(late)
    assert not validity.valid and validity.steal == 0.04
    assert validity.reasons[-1].startswith("meanwhile the hypervisor took 4.0% of the machine's CPU")
    assert validity.reasons[-1].endswith("or with load.keep_cpus_awake")


def test_steal_alone_neither_invalidates_nor_is_mentioned_below_the_note():
    """Steal is an explanation, not a reason: a window that kept up stays valid; a trace of it is not named."""
    assert assess_validity([on_time(i, steal=0.2) for i in range(3)]).valid
    late = [bucket(i, [0.002] * 100, lags_s=[0.050] * 100, steal=0.004) for i in range(3)]
    assert not any("hypervisor" in r for r in assess_validity(late).reasons)
