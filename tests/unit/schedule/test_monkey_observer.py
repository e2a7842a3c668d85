"""The monkey's observer judges a kill's whole window of load against the baseline's (no engine, no network)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from chaoskit.errors import ChaoskitError
from chaoskit.measure.window import seconds_of
from chaoskit.model.probes import Hypothesis, LoadProbe, PrometheusProbe
from chaoskit.model.tolerance import Check, Threshold
from chaoskit.schedule.monkey_observer import SteadyStateObserver
from tests.unit.measure.factory import MONO0, steady

ERRORS = LoadProbe("error rate", "error_rate", (Check("error_rate", Threshold(max=0.01)),))


def observer_with(seconds: list) -> SteadyStateObserver:
    load = SimpleNamespace(buckets=lambda: tuple(seconds), spec=SimpleNamespace(ramp_s=2.0),
                           seconds_between=lambda start, end: seconds_of(seconds, start, end))
    return SteadyStateObserver(Hypothesis("users are served", (ERRORS,)), backends=None, project=None,  # type: ignore[arg-type]
                               load=load)


def test_a_kill_is_judged_on_its_whole_window():
    """5% errors in one second of ten is 0.5% over the kill's window: held; three such seconds of five: broken."""
    seconds = [steady(i, 0.010, n=300) for i in range(12)]  # 2 s of ramp, 10 s of baseline
    observer = observer_with(seconds)
    observer.fix_baseline()
    seconds += [steady(12 + i, 0.010, n=300, failed=15 if i == 4 else 0) for i in range(10)]
    (held,) = observer.judge_kill(MONO0 + 12, MONO0 + 22)
    assert held.ok and not held.inconclusive and not held.detection, held.detail
    assert "whole fault window (10 s)" in held.detail
    seconds += [steady(22 + i, 0.010, n=300, failed=15 if i % 2 == 0 else 0) for i in range(5)]
    (broken,) = observer.judge_kill(MONO0 + 22, MONO0 + 27)
    assert not broken.ok and not broken.inconclusive, broken.detail


def test_no_load_measured_over_the_kill_gives_no_judgement():
    observer = observer_with([steady(i, 0.010) for i in range(12)])
    observer.fix_baseline()
    assert observer.judge_kill(MONO0 + 100, MONO0 + 110) == ()
    assert SteadyStateObserver(Hypothesis("none", ()), None, None).judge_kill(0.0, 10.0) == ()  # type: ignore[arg-type]


def test_a_prometheus_probe_is_refused_with_a_reason():
    """Prometheus probes are judged over an experiment's phase windows: the monkey says so rather than crash."""
    probe = PrometheusProbe("errors", "http://127.0.0.1:9090", "up", Threshold(min=1.0))
    with pytest.raises(ChaoskitError, match="'errors': prometheus probes run in experiments"):
        SteadyStateObserver(Hypothesis("up", (probe,)), None, None)  # type: ignore[arg-type]
