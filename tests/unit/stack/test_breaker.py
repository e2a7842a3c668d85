"""The cache circuit breaker's state machine, on a fake clock."""

from __future__ import annotations

import pytest

from timeline.breaker import Breaker


def test_opens_once_enough_of_the_recent_calls_failed():
    """``failures`` failures among the last ``window`` calls open the breaker; calls are then refused."""
    breaker = Breaker(failures=3, cooldown_s=1.0, window=5)
    breaker.failure(0.0)
    breaker.success()
    breaker.failure(0.0)
    assert breaker.allow(0.0)
    breaker.failure(0.0)
    assert breaker.state(0.0) == "open"
    assert not breaker.allow(0.5)
    assert breaker.opened == 1


def test_sporadic_failures_never_open_it():
    """A failure now and then (a busy machine missing a deadline) leaves the breaker closed."""
    breaker = Breaker(failures=3, cooldown_s=1.0, window=5)
    for _ in range(50):
        breaker.failure(0.0)
        for _ in range(4):
            breaker.success()
    assert breaker.state(0.0) == "closed"
    assert breaker.opened == 0


def test_old_failures_slide_out_of_the_window():
    """Failures older than the last ``window`` calls no longer count."""
    breaker = Breaker(failures=2, cooldown_s=1.0, window=3)
    breaker.failure(0.0)
    breaker.success()
    breaker.success()
    breaker.success()
    breaker.failure(0.0)
    assert breaker.state(0.0) == "closed"


def test_half_open_allows_one_probe_then_closes_on_success():
    """After the cooldown one call probes; its success closes the breaker and forgets the failures."""
    breaker = Breaker(failures=1, cooldown_s=1.0)
    breaker.failure(0.0)
    assert breaker.state(1.0) == "half-open"
    assert breaker.allow(1.0)
    assert not breaker.allow(1.0)
    breaker.success()
    assert breaker.state(1.1) == "closed" and breaker.allow(1.1)


def test_failed_probe_reopens():
    """A probe that fails opens the breaker for another cooldown."""
    breaker = Breaker(failures=1, cooldown_s=1.0)
    breaker.failure(0.0)
    assert breaker.allow(1.0)
    breaker.failure(1.0)
    assert breaker.state(1.5) == "open"
    assert breaker.opened == 2


def test_late_failures_of_calls_made_before_opening_do_not_extend_it():
    """Calls in flight when the breaker opened may fail afterwards without keeping it open longer."""
    breaker = Breaker(failures=1, cooldown_s=1.0)
    breaker.failure(0.0)
    breaker.failure(0.9)
    assert breaker.state(1.0) == "half-open"


def test_a_probe_that_never_reports_expires():
    """A probe whose caller vanished does not keep the breaker shut forever."""
    breaker = Breaker(failures=1, cooldown_s=1.0)
    breaker.failure(0.0)
    assert breaker.allow(1.0)
    assert not breaker.allow(1.5)
    assert breaker.allow(2.0)


def test_disabled_breaker_never_refuses():
    """With the knob off every call goes to the dependency, however often it fails."""
    breaker = Breaker(failures=1, cooldown_s=1.0, enabled=False)
    for _ in range(10):
        breaker.failure(0.0)
    assert breaker.allow(0.0)
    assert breaker.opened == 0


def test_threshold_must_fit_the_window():
    """More failures than the window holds could never open it: refused."""
    with pytest.raises(ValueError):
        Breaker(failures=30, cooldown_s=1.0, window=20)
