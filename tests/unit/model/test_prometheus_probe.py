"""The ``type: prometheus`` probe's spec: parsed from located YAML, every problem with file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaoskit.errors import ExperimentInvalid, Problem
from chaoskit.model import parse_experiment
from chaoskit.model.checker import Checker
from chaoskit.model.prometheus_probe import PrometheusProbe, prometheus_probe
from chaoskit.model.source import read_source
from chaoskit.model.tolerance import AllOf, Check, Relative, Threshold


def _parse(yaml_text: str) -> tuple[PrometheusProbe | None, list[Problem]]:
    root, _, problems = read_source(yaml_text, "exp.yaml")
    assert root is not None and not problems
    found: list[Problem] = []
    return prometheus_probe(Checker("exp.yaml", found), root.value["probe"]), found


def test_a_full_probe():
    """Every key read; durations in seconds; min, max and relative parts combined."""
    probe, problems = _parse("""
probe:
  name: errors
  type: prometheus
  url: http://127.0.0.1:9090
  query: sum(rate(errors_total[5s]))
  every: 500ms
  timeout: 3s
  tolerance: {min: 0, max: 0.01, max_ratio: 2, max_increase: 0.005}
""")
    assert problems == []
    assert probe == PrometheusProbe("errors", "http://127.0.0.1:9090", "sum(rate(errors_total[5s]))",
                                    AllOf((Threshold(0.0, 0.01), Relative(max_ratio=2.0, max_increase=0.005))),
                                    every_s=0.5, timeout_s=3.0)
    assert probe.type == "prometheus"
    assert probe.checks == (Check("value", probe.tolerance),)


def test_defaults_and_a_bare_number():
    """The name defaults to the query, a bare tolerance is the max, every is left to the run loop."""
    probe, problems = _parse("probe: {type: prometheus, url: 'https://prom:9090/x', query: up, tolerance: 3}")
    assert problems == []
    assert probe is not None
    assert (probe.name, probe.tolerance, probe.every_s, probe.timeout_s) == ("up", Threshold(max=3.0), None, 2.0)


@pytest.mark.parametrize(("probe_yaml", "expected"), [
    ("{type: prometheus, query: up, tolerance: 1}", "exp.yaml:2: probe.url: missing required key 'url'"),
    ("{type: prometheus, url: http://p, tolerance: 1}", "exp.yaml:2: probe.query: missing required key 'query'"),
    ("{type: prometheus, url: http://p, query: up}", "exp.yaml:2: probe.tolerance: missing required key 'tolerance'"),
    ("{type: prometheus, url: p:9090, query: up, tolerance: 1}", "exp.yaml:2: probe.url: expected an http:// or"),
    ("{type: prometheus, url: http://p, query: '', tolerance: 1}", "exp.yaml:2: probe.query: expected a non-empty"),
    ("{type: prometheus, url: http://p, query: up, every: 0s, tolerance: 1}", "probe.every: expected a duration > 0"),
    ("{type: prometheus, url: http://p, query: up, tolerance: {maximum: 1}}",
     "probe.tolerance.maximum: unknown key; did you mean 'max'?"),
    ("{type: prometheus, url: http://p, query: up, tolerance: {min: 2, max: 1}}", "probe.tolerance.min: min 2 is above"),
    ("{type: prometheus, url: http://p, query: up, tolerance: {max_ratio: 0}}", "probe.tolerance.max_ratio: expected a number > 0"),
    ("{type: prometheus, url: http://p, query: up, tolerance: {}}", "probe.tolerance: expected at least one of min"),
    ("{type: prometheus, url: http://p, query: up, tolerance: ok}", "probe.tolerance: expected a number (the max)"),
    ("{type: prometheus, url: http://p, query: up, tolerance: 1, verb: GET}", "probe.verb: unknown key"),
])
def test_problems_name_file_line_and_key(probe_yaml, expected):
    """Each mistake is one problem, located, and no probe is built."""
    probe, problems = _parse(f"# an experiment\nprobe: {probe_yaml}\n")
    assert probe is None
    assert len(problems) == 1, problems
    assert expected in str(problems[0])


def test_the_shipped_prometheus_only_experiment_loads():
    """experiments/prometheus-only.yaml loads whole: two prometheus probes and no load."""
    path = Path(__file__).resolve().parents[3] / "experiments" / "prometheus-only.yaml"
    experiment = parse_experiment(path.read_text(), source=str(path))
    probes = experiment.steady_state.probes
    assert experiment.load is None
    assert all(isinstance(p, PrometheusProbe) for p in probes)
    assert [(p.name, p.every_s) for p in probes] == [("error ratio", 1.0), ("replicas up", 1.0)]
    assert probes[0].url == "http://127.0.0.1:9090"  # type: ignore[union-attr]


EXPERIMENT = """\
title: t
phases: {warmup: 0s, baseline: 10s, fault: 10s, recovery: 10s}
steady_state:
  title: h
  probes:
    - {name: up, type: http, url: "http://127.0.0.1:8080/"}
    - name: errors
      type: prometheus
      url: http://127.0.0.1:9090
      query: sum(rate(errors_total[5s]))
      tolerance: {max: 0.01}
method:
  - fault: network.down
    proxy: redis
"""


def test_the_loader_takes_a_prometheus_probe_without_load():
    """type: prometheus in steady_state needs no load: section; it sits beside other probe types."""
    experiment = parse_experiment(EXPERIMENT, source="exp.yaml")
    assert experiment.load is None
    assert experiment.steady_state.probes[1] == PrometheusProbe(
        "errors", "http://127.0.0.1:9090", "sum(rate(errors_total[5s]))", Threshold(max=0.01))


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("tolerance: {max: 0.01}", "tolerance: {equals: 0}",
     "exp.yaml:11: steady_state.probes[1].tolerance.equals: unknown key"),
    ("      query: sum(rate(errors_total[5s]))\n", "", "exp.yaml:7: steady_state.probes[1].query: missing required key"),
    ("type: prometheus", "type: prometeus", "exp.yaml:8: steady_state.probes[1].type: unknown probe type 'prometeus'; "
                                            "did you mean 'prometheus'?"),
])
def test_the_loader_locates_problems(old, new, expected):
    """A mistake in a prometheus probe of an experiment is reported at its file:line and key path."""
    with pytest.raises(ExperimentInvalid) as info:
        parse_experiment(EXPERIMENT.replace(old, new, 1), source="exp.yaml")
    assert [str(p) for p in info.value.problems if expected in str(p)], info.value.problems
