"""Monkey configs: defaults, the shipped sample, and problems that name file:line: key."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaoskit.errors import ExperimentInvalid
from chaoskit.model.probes import HttpProbe
from chaoskit.schedule.monkey_config import (
    KillSpec,
    Schedule,
    is_monkey_config,
    load_monkey_config,
    parse_monkey_config,
)
from chaoskit.targets.selector import Selector

SHIPPED = Path(__file__).resolve().parents[3] / "experiments" / "monkey.yaml"

MINIMAL = """\
title: Monkey
opt_in: {chaoskit.monkey: true}
mean_time_between_kills: 10m
steady_state:
  title: up
  probes:
    - {name: alive, type: http, url: "http://127.0.0.1:8080/healthz"}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ExperimentInvalid) as info:
        parse_monkey_config(text, source="m.yaml")
    return [str(p) for p in info.value.problems]


def test_a_new_config_is_leashed_with_safe_defaults():
    """Without leashed:, a config only logs; defaults: service grouping, one at a time, always open, 10 s downtime."""
    config = parse_monkey_config(MINIMAL)
    policy = config.policy
    assert policy.leashed is True
    assert policy.opt_in == {"chaoskit.monkey": "true"}  # a YAML boolean is the label value "true"
    assert (policy.grouping, policy.max_concurrent, policy.min_time_between_kills_s) == ("service", 1, 0.0)
    assert policy.mean_time_between_kills_s == 600.0 and policy.schedule == Schedule()
    assert config.kill == KillSpec("SIGKILL", "chaoskit", 10.0)
    assert isinstance(config.steady_state.probes[0], HttpProbe)


def test_the_shipped_sample_config_loads():
    """experiments/monkey.yaml: leashed, project chaoskit, the opt-in label, office hours in Paris, with load."""
    config = load_monkey_config(SHIPPED)
    assert config.policy.leashed and config.policy.project == "chaoskit"
    assert config.policy.opt_in == {"chaoskit.monkey": "true"}
    assert config.policy.schedule == Schedule("Europe/Paris", (0, 1, 2, 3, 4), 9 * 60, 17 * 60)
    assert config.load is not None and {p.name for p in config.steady_state.probes} >= {"error rate", "api alive"}
    assert is_monkey_config(SHIPPED.read_text())


def test_every_problem_names_file_line_and_key():
    """A config with many mistakes reports each of them, with its line and key path, at once."""
    text = """\
title: Monkey
opt_in: {}
grouping: services
exclude:
  - {service: redis, count: 1}
mean_time_between_kills: 1m
min_time_between_kills: 5m
max_concurrent: 0
schedule:
  timezone: Mars/Olympus
  weekdays: [mon, funday]
  hours: "9-17"
kill: {restart: policy, downtime: 5s, signal: SIGNOPE}
leashd: false
steady_state:
  title: up
  probes:
    - {name: alive, type: http, url: "http://127.0.0.1:8080/healthz"}
"""
    found = problems(text)
    expected = [
        "m.yaml:2: opt_in: expected at least one label",
        "m.yaml:3: grouping: unknown grouping 'services'; did you mean 'service'?",
        "m.yaml:5: exclude[0].count: unknown key",
        "m.yaml:7: min_time_between_kills: 300s is above mean_time_between_kills (60s)",
        "m.yaml:8: max_concurrent: expected an integer >= 1",
        "m.yaml:10: schedule.timezone: unknown time zone 'Mars/Olympus'",
        "m.yaml:11: schedule.weekdays: unknown weekday 'funday'",
        "m.yaml:12: schedule.hours: expected a window like '09:00-17:00'",
        "m.yaml:13: kill.signal: expected a signal name",
        "m.yaml:13: kill.downtime: with restart: policy",
        "m.yaml:14: leashd: unknown key; did you mean 'leashed'?",
    ]
    for start in expected:
        assert any(p.startswith(start) for p in found), (start, found)
    assert len(found) == len(expected), found


def test_required_keys():
    """opt_in, mean_time_between_kills and steady_state are required (an opt-in label is the safety catch)."""
    found = problems("title: Monkey\n")
    for key in ("opt_in", "mean_time_between_kills", "steady_state"):
        assert any(f"m.yaml:1: {key}: missing required key" in p for p in found), found


def test_weekdays_ranges_lists_and_wrapping():
    """'mon-fri', [sat, sunday] and the wrapping 'fri-mon' all name the days meant."""
    def days(value: str) -> tuple[int, ...]:
        text = MINIMAL + f"schedule: {{weekdays: {value}}}\n"
        return parse_monkey_config(text).policy.schedule.weekdays

    assert days("mon-fri") == (0, 1, 2, 3, 4)
    assert days("[sat, sunday]") == (5, 6)
    assert days("fri-mon") == (0, 4, 5, 6)


def test_hours_overnight_and_all_day():
    """'22:00-06:00' is an overnight window; '00:00-24:00' all day; an empty window is a problem."""
    def hours(value: str) -> tuple[int, int]:
        schedule = parse_monkey_config(MINIMAL + f"schedule: {{hours: '{value}'}}\n").policy.schedule
        return schedule.start_minute, schedule.end_minute

    assert hours("22:00-06:00") == (22 * 60, 6 * 60)
    assert hours("00:00-24:00") == (0, 24 * 60)
    assert any("is empty" in p for p in problems(MINIMAL + "schedule: {hours: '10:00-10:00'}\n"))


def test_exclusions_are_selectors_scoped_to_the_project():
    """A service exclusion is scoped to the environment's compose project and matches any state."""
    text = MINIMAL + "environment: {compose_project: shop}\nexclude:\n  - service=redis\n  - labels: {team: core}\n"
    rules = parse_monkey_config(text).policy.exclusions
    assert rules == (Selector(service="redis", project="shop", state=None), Selector(labels={"team": "core"}, project="shop", state=None))


def test_variables_are_substituted():
    """${name} takes the file's default, and an override given as --var wins."""
    text = MINIMAL.replace("10m", "${mean}") + "variables: {mean: 10m}\n"
    assert parse_monkey_config(text).policy.mean_time_between_kills_s == 600
    assert parse_monkey_config(text, variables={"mean": "30s"}).policy.mean_time_between_kills_s == 30


def test_is_monkey_config_tells_it_from_an_experiment():
    """A file with a top-level opt_in: is a monkey config; an experiment is not."""
    assert is_monkey_config(MINIMAL)
    assert not is_monkey_config("title: x\nmethod:\n  - fault: container.kill\n    target: {labels: {opt_in: x}}\n")


def test_the_environments_required_label_joins_the_opt_in():
    """environment.require_label is required of the monkey's candidates too, beside opt_in."""
    text = MINIMAL + "environment: {compose_project: shop, require_label: chaoskit.enabled=true}\n"
    assert parse_monkey_config(text).policy.opt_in == {"chaoskit.monkey": "true", "chaoskit.enabled": "true"}


CLUSTER = MINIMAL + "environment: {kubernetes: {namespace: timeline}}\n"


def test_on_kubernetes_the_cluster_brings_kills_back():
    """With environment.kubernetes, restart defaults to policy; pod.delete is a kill fault there."""
    assert parse_monkey_config(CLUSTER).kill == KillSpec("SIGKILL", "policy", 10.0, "container.kill")
    assert parse_monkey_config(CLUSTER + "kill: {fault: pod.delete}\n").kill.fault == "pod.delete"
    assert parse_monkey_config(CLUSTER + "kill: {signal: SIGTERM}\n").kill.restart == "policy"


def test_kill_faults_that_cannot_work_where_they_run():
    """restart: chaoskit on a cluster, pod.delete on Docker, an unknown fault: each a problem with its key."""
    assert any("kill.restart" in p and "restart: policy" in p
               for p in problems(CLUSTER + "kill: {restart: chaoskit}\n"))
    assert any("kill.fault" in p and "environment.kubernetes" in p for p in problems(MINIMAL + "kill: {fault: pod.delete}\n"))
    assert any("unknown kill fault 'pod.kill'" in p for p in problems(CLUSTER + "kill: {fault: pod.kill}\n"))


def test_the_shipped_kubernetes_config_loads():
    """experiments/kubernetes/monkey.yaml: the cluster's timeline namespace, pods deleted by default."""
    config = load_monkey_config(SHIPPED.parent / "kubernetes" / "monkey.yaml")
    assert config.environment.kubernetes is not None and config.environment.kubernetes.namespace == "timeline"
    assert config.kill.fault == "pod.delete" and config.kill.restart == "policy" and config.policy.project is None
