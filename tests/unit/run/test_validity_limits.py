"""How late the generator may dispatch: derived from the tightest latency SLO, or set by load.max_lag."""

from __future__ import annotations

import pytest

from chaoskit.errors import ExperimentInvalid
from chaoskit.measure.validity import ValidityLimits
from chaoskit.model import parse_experiment
from chaoskit.run.wiring import validity_limits

EXPERIMENT = """\
title: t
environment: {{compose_project: chaoskit}}
phases: {{warmup: 0s, baseline: 10s, fault: 20s, recovery: 10s}}
load:
  rate: 100
  requests:
    - {{name: read, url: "http://127.0.0.1:8080/"}}
{extra}
steady_state:
  title: h
  probes:
    - {{name: p99, type: load, metric: p99, tolerance: {p99}}}
    - {{name: p50, type: load, metric: p50, tolerance: {{max: 400ms}}}}
    - {{name: errors, type: load, metric: error_rate, tolerance: {{max: 1%}}}}
method:
  - {{fault: container.kill, target: {{service: redis}}}}
"""


def limits(p99: str, extra: str = "") -> ValidityLimits:
    experiment = parse_experiment(EXPERIMENT.format(p99=p99, extra=extra), source="exp.yaml")
    return validity_limits(experiment.load, experiment.steady_state)


def test_a_tenth_of_the_tightest_latency_threshold() -> None:
    assert limits("{max: 300ms}").max_lag_p99_s == pytest.approx(0.030)
    assert limits("{max: 2s}").max_lag_p99_s == pytest.approx(0.040)  # the p50's 400 ms is tighter


def test_never_below_the_generators_default() -> None:
    assert limits("{max: 20ms}").max_lag_p99_s == ValidityLimits().max_lag_p99_s


def test_load_max_lag_overrides_the_derived_limit_both_ways() -> None:
    assert limits("{max: 300ms}", "  max_lag: 100ms").max_lag_p99_s == pytest.approx(0.100)
    assert limits("{max: 300ms}", "  max_lag: 2ms").max_lag_p99_s == pytest.approx(0.002)
    assert limits("{max: 300ms}", "  max_lag: 2ms").min_achieved_fraction == ValidityLimits().min_achieved_fraction


def test_a_max_lag_that_is_not_a_positive_duration_is_a_problem_on_its_line() -> None:
    with pytest.raises(ExperimentInvalid) as info:
        limits("{max: 300ms}", "  max_lag: 0s")
    assert [(p.line, p.key) for p in info.value.problems] == [(8, "load.max_lag")]
