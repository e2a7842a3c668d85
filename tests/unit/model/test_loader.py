"""The loader: valid files become frozen dataclasses; invalid ones list every problem with file:line and key."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

import pytest

from chaoskit.errors import ExperimentInvalid, Problem
from chaoskit.model import (
    CommandProbe,
    ContainerProbe,
    Experiment,
    HttpProbe,
    LoadProbe,
    MetricStop,
    ProbeStop,
    ToxiproxyProbe,
    VisibleProbe,
    WriteRequest,
    load_experiment,
    parse_experiment,
)
from chaoskit.model.tolerance import (
    AllOf,
    Check,
    Equals,
    InRange,
    JsonPath,
    OneOf,
    Regex,
    Relative,
    Threshold,
)
from chaoskit.targets import Selector

from .catalogue import SIGNATURES

EXPERIMENTS = Path(__file__).resolve().parents[3] / "experiments"

BASE = """\
title: t
environment: {compose_project: chaoskit}
phases: {warmup: 0s, baseline: 10s, fault: 20s, recovery: 10s}
load:
  rate: 100
  requests:
    - {name: read, url: "http://127.0.0.1:8080/timeline/{user}"}
steady_state:
  title: h
  probes:
    - {name: p99, type: load, metric: p99, tolerance: 250ms}
method:
  - fault: container.kill
    target: {service: redis}
"""


def parse(text: str, **kwargs: object) -> Experiment:
    return parse_experiment(textwrap.dedent(text), source="exp.yaml", fault_params=SIGNATURES, **kwargs)  # type: ignore[arg-type]


def problems(text: str, **kwargs: object) -> list[Problem]:
    with pytest.raises(ExperimentInvalid) as info:
        parse(text, **kwargs)
    return info.value.problems


def where(found: list[Problem]) -> set[tuple[int | None, str]]:
    return {(p.line, p.key) for p in found}


@pytest.mark.parametrize("name", ["cache-down.yaml", "database-latency.yaml", "api-replica-killed.yaml"])
def test_shipped_examples_are_valid(name: str) -> None:
    """Every shipped experiment loads against the fault catalogue."""
    experiment = load_experiment(EXPERIMENTS / name, fault_params=SIGNATURES)
    assert experiment.source.endswith(name) and experiment.method and experiment.load is not None


@pytest.mark.parametrize("name", ["cache-down.yaml", "database-latency.yaml", "api-replica-killed.yaml"])
def test_shipped_examples_are_valid_against_the_engine_catalogue(name: str) -> None:
    """Every shipped experiment also loads against the real fault catalogue of chaoskit.faults."""
    from chaoskit.faults.catalogue import signatures

    assert load_experiment(EXPERIMENTS / name, fault_params=signatures()).method


def test_cache_down_example_targets_redis_of_project_chaoskit() -> None:
    """The environment's compose project scopes a service selector that names none."""
    experiment = load_experiment(EXPERIMENTS / "cache-down.yaml", fault_params=SIGNATURES)
    step = experiment.method[0]
    assert step.fault == "container.kill" and step.params == {"signal": "SIGKILL"}
    assert step.target == Selector(service="redis", project="chaoskit")
    # No duration: the fault lasts the whole fault phase, whose length is a variable.
    assert step.duration is None and step.line is not None
    assert experiment.phases.fault == 30.0
    assert experiment.stop_conditions == (MetricStop("error_rate", ">", 0.5, 3.0), ProbeStop("api alive", 5))
    assert experiment.load.rate == 200.0 and experiment.load.requests[1].ok_status == (201,)


def test_variables_from_cli_keep_their_type_in_params() -> None:
    """--var latency_ms=450 reaches the fault as the integer 450; the seed variable as an int."""
    experiment = load_experiment(
        EXPERIMENTS / "database-latency.yaml", fault_params=SIGNATURES, variables={"latency_ms": 450}
    )
    assert experiment.method[0].params["latency_ms"] == 450
    assert experiment.method[0].params["proxy"] == "postgres"
    assert experiment.variables["latency_ms"] == 450
    replica = load_experiment(EXPERIMENTS / "api-replica-killed.yaml", fault_params=SIGNATURES)
    assert replica.seed == 7 and replica.method[0].target.count == 1 and replica.method[0].target.max_fraction == 0.5


def test_minimal_experiment_and_defaults() -> None:
    """A minimal valid file fills defaults: fault params, phases, environment, start offset."""
    experiment = parse(BASE)
    assert experiment.phases.fault == 20.0 and experiment.phases.warmup == 0.0
    assert experiment.environment.toxiproxy_url == "http://127.0.0.1:8474"
    step = experiment.method[0]
    assert (
        step.params == {"signal": "SIGKILL"}
        and step.start == 0.0
        and step.duration is None
        and step.label == "container.kill"
    )
    assert experiment.steady_state.probes[0] == LoadProbe("p99", "p99", (Check("p99", Threshold(max=0.25)),))
    with pytest.raises(dataclasses.FrozenInstanceError):
        experiment.title = "x"  # type: ignore[misc]


def test_probe_types_and_their_default_checks() -> None:
    """Each probe type parses its keys; defaults (2xx, exit 0, running, enabled) are added unless overridden."""
    text = BASE.replace(
        "    - {name: p99, type: load, metric: p99, tolerance: 250ms}\n",
        """\
    - name: health
      type: http
      url: http://127.0.0.1:8080/healthz
      tolerance:
        latency: 500ms
        body: ok
        json: [{path: status, equals: ok}, {path: "checks[0].ms", max: 50}]
    - {name: ping, type: command, target: "service=redis", cmd: [redis-cli, ping], tolerance: {output: PONG}}
    - {name: redis, type: container, target: {service: redis}, tolerance: {health: [healthy, starting]}}
    - {name: pg, type: toxiproxy, proxy: postgres, tolerance: {toxics: 0}}
    - {name: errors, type: load, metric: error_rate, tolerance: {max: 1%, max_increase_points: 0.5}}
    - {name: tput, type: load, metric: throughput, tolerance: {min_ratio: 0.9}}
    - {name: lag, type: writes.visible, write: {url: "http://api:8080/posts", json: {by: 3, text: "n{seq}"}},
       read: "http://api:8080/feed/7", within: 5s, every: 5s, tolerance: {max: 1s}}
""",
    )
    probes = {p.name: p for p in parse(text).steady_state.probes}
    health = probes["health"]
    assert isinstance(health, HttpProbe) and health.method == "GET" and health.timeout_s == 2.0
    assert health.checks == (
        Check("status", InRange(200, 299)),
        Check("latency", Threshold(max=0.5)),
        Check("body", Regex("ok")),
        Check("body", JsonPath("status", Equals("ok"))),
        Check("body", JsonPath("checks[0].ms", Threshold(max=50.0))),
    )
    ping = probes["ping"]
    assert isinstance(ping, CommandProbe) and ping.cmd == ("redis-cli", "ping") and ping.target.state == "running"
    assert ping.checks == (Check("exit_code", Equals(0)), Check("output", Regex("PONG")))
    redis = probes["redis"]
    # A container probe must see a killed container too, so its selector matches any state.
    assert isinstance(redis, ContainerProbe) and redis.target.state is None and redis.target.project == "chaoskit"
    assert redis.checks == (Check("state", Equals("running")), Check("health", OneOf(("healthy", "starting"))))
    assert isinstance(probes["pg"], ToxiproxyProbe) and probes["pg"].checks[1] == Check("toxics", Equals(0))
    assert probes["errors"].checks == (Check("error_rate", AllOf((Threshold(max=0.01), Relative(max_increase=0.005)))),)
    assert probes["tput"].checks == (Check("throughput", Relative(min_ratio=0.9)),)
    lag = probes["lag"]
    # Typed once, here, and completed with their defaults.
    assert isinstance(lag, VisibleProbe) and lag.every_s == 5.0
    assert lag.write == WriteRequest("http://api:8080/posts", "POST", {"by": 3, "text": "n{seq}"}, {}, "id")
    assert (lag.read, lag.within_s, lag.poll_every_s, lag.timeout_s, lag.tls) == ("http://api:8080/feed/7", 5.0, 0.05,
                                                                                   2.0, None)
    assert lag.checks == (Check("value", Threshold(max=1.0)),)


def test_all_problems_are_collected_with_lines_and_keys() -> None:
    """One pass reports every problem, each with its line and dotted/indexed key path."""
    text = """\
    title: t
    phases: {baseline: 10s, fault: 20s}
    steady_state:
      title: h
      probes:
        - {name: a, type: http, url: "ftp://x", tolerance: {status: ok}}
        - {name: a, type: htp}
    method:
      - fault: container.kil
        target: {service: redis}
      - fault: network.latency
        proxy: postgres
        params:
          latency: 300
          jitter_ms: -1
      - fault: disk.fill
        params: {path: /data, percent: 90, bytes: 1GiB}
        start: 25s
    extra: 1
    """
    found = problems(text)
    assert where(found) == {
        (6, "steady_state.probes[0].url"),
        (6, "steady_state.probes[0].tolerance.status"),
        (7, "steady_state.probes[1].type"),
        (9, "method[0].fault"),
        (13, "method[1].params.latency_ms"),
        (14, "method[1].params.latency"),
        (15, "method[1].params.jitter_ms"),
        (17, "method[2].params"),
        (18, "method[2].start"),
        (19, "extra"),
    }
    by_key = {p.key: p.message for p in found}
    assert "did you mean 'container.kill'" in by_key["method[0].fault"]
    assert "did you mean 'latency_ms'" in by_key["method[1].params.latency"]
    assert "exactly one of percent | bytes" in by_key["method[2].params"]
    assert "after the fault phase (20s)" in by_key["method[2].start"]
    assert "did you mean 'http'" in by_key["steady_state.probes[1].type"]
    assert str(found[0]).startswith("exp.yaml:6: steady_state.probes[0].")


def test_missing_required_keys() -> None:
    """title, steady_state and method are required, and say so at the mapping's line."""
    found = problems("description: nothing else\n")
    assert {p.key for p in found} == {"title", "steady_state", "method"}
    assert all("missing required key" in p.message for p in found)


def test_unknown_keys_get_a_suggestion() -> None:
    """A misspelt key names the close match and the keys expected there."""
    found = problems(BASE.replace("phases:", "phasse:"))
    assert len(found) == 1 and "did you mean 'phases'" in found[0].message and found[0].line == 3


def test_target_and_proxy_rules_follow_the_signature() -> None:
    """Container faults need target:, network faults refuse it and take proxy:, which params cannot repeat."""
    no_target = problems(BASE.replace("    target: {service: redis}\n", ""))
    assert [p.key for p in no_target] == ["method[0].target"]
    net = BASE.replace("container.kill\n    target: {service: redis}", "network.down\n    target: {service: redis}")
    found = problems(net)
    assert {p.key for p in found} == {"method[0].target", "method[0].params.proxy"}
    assert "use proxy:" in next(p.message for p in found if p.key == "method[0].target")
    twice = BASE.replace(
        "container.kill\n    target: {service: redis}", "network.down\n    proxy: pg\n    params: {proxy: pg}"
    )
    assert "given twice" in problems(twice)[0].message
    wrong = BASE.replace("    target: {service: redis}\n", "    target: {service: redis}\n    proxy: pg\n")
    assert "takes no proxy" in problems(wrong)[0].message


def test_without_a_catalogue_params_pass_through() -> None:
    """Without fault_params, any well-formed fault name loads and its params are kept as written."""
    text = BASE.replace("container.kill", "future.fault").replace(
        "    target: {service: redis}\n", "    target: {service: redis}\n    params: {anything: [1, 2]}\n"
    )
    experiment = parse_experiment(text, source="exp.yaml")
    assert experiment.method[0].fault == "future.fault" and experiment.method[0].params == {"anything": [1, 2]}
    with pytest.raises(ExperimentInvalid, match="fault type name"):
        parse_experiment(BASE.replace("container.kill", "Kill It"), source="exp.yaml")


def test_step_must_end_inside_the_fault_phase() -> None:
    """start + duration past the fault phase is reported at duration."""
    found = problems(
        BASE.replace(
            "    target: {service: redis}\n", "    target: {service: redis}\n    start: 15s\n    duration: 10s\n"
        )
    )
    assert [(p.key, "past the end of the fault phase (20s)" in p.message) for p in found] == [
        ("method[0].duration", True)
    ]


def test_selectors_string_form_and_validation() -> None:
    """A string selector works like a mapping; selector rules (count vs percent, bounds) are problems."""
    experiment = parse(BASE.replace("{service: redis}", '"service=api count=1 max_fraction=50%"'))
    assert experiment.method[0].target == Selector(service="api", project="chaoskit", count=1, max_fraction=0.5)
    found = problems(BASE.replace("{service: redis}", "{service: api, count: 1, percent: 50}"))
    assert found[0].key == "method[0].target" and "not both" in found[0].message
    assert "max_fraction" in problems(BASE.replace("{service: redis}", "{service: api, max_fraction: 2}"))[0].message
    misspelt = problems(BASE.replace("{service: redis}", "{servce: api}"))
    assert len(misspelt) == 1 and "did you mean 'service'" in misspelt[0].message
    assert parse(BASE.replace("{service: redis}", "{labels: {chaos.monkey: true}, percent: 50%}")).method[
        0
    ].target == Selector(labels={"chaos.monkey": "true"}, project="chaoskit", percent=50.0)


def test_load_probe_and_metric_stop_need_a_load_block() -> None:
    """Load probes and metric stop conditions are problems when there is no load: block."""
    text = BASE.split("load:")[0] + "steady_state:" + BASE.split("steady_state:")[1] + "stop_conditions: [p99 > 2s]\n"
    found = problems(text)
    assert {p.key for p in found} == {"steady_state.probes[0].type", "stop_conditions[0]"}


def test_stop_conditions_reference_existing_probes() -> None:
    """A probe stop condition must name a steady-state probe; both forms parse."""
    ok = parse(
        BASE
        + "stop_conditions:\n  - {when: error_rate > 10% for 2s}\n  - {probe: p99, failures: 3, consecutive: false}\n"
    )
    assert ok.stop_conditions == (MetricStop("error_rate", ">", 0.1, 2.0), ProbeStop("p99", 3, False))
    found = problems(BASE + "stop_conditions:\n  - {probe: p90}\n  - {when: x, probe: p99}\n")
    assert where(found) == {(16, "stop_conditions[0].probe"), (17, "stop_conditions[1]")}
    assert "did you mean 'p99'" in found[0].message


def test_duplicate_probe_names_are_problems() -> None:
    """Probe names must be unique: stop conditions and reports refer to them."""
    text = BASE.replace(
        "    - {name: p99, type: load, metric: p99, tolerance: 250ms}\n",
        "    - {name: p99, type: load, metric: p99, tolerance: 250ms}\n" * 2,
    )
    assert "duplicate probe name" in problems(text)[0].message


def test_substituted_values_show_what_they_became() -> None:
    """A problem in a value that came from a variable shows the substituted value."""
    text = "variables: {d: soon}\n" + BASE.replace("fault: 20s", "fault: '${d}'")
    found = problems(text)
    assert found[0].key == "phases.fault" and "after variable substitution: 'soon'" in found[0].message


def test_undefined_variable_is_reported_once() -> None:
    """An undefined variable is one problem, not also a knock-on type error for the same value."""
    found = problems(BASE.replace('url: "http://127.0.0.1:8080/timeline/{user}"', 'url: "${api}/timeline/{user}"'))
    assert len(found) == 1 and "undefined variable ${api}" in found[0].message and found[0].line == 7


def test_rollback_actions_are_validated() -> None:
    """Rollback actions have their own small catalogue: known types, required params, targets."""
    ok = parse(
        BASE
        + "rollbacks:\n  - type: toxiproxy.reset\n  - {type: container.start, target: {service: redis}}\n  - {type: http, params: {url: 'http://127.0.0.1:8080/x'}}\n"
    )
    assert [a.type for a in ok.rollbacks] == ["toxiproxy.reset", "container.start", "http"]
    assert ok.rollbacks[1].target.state is None  # a stopped container must be selectable to be started
    assert ok.rollbacks[2].params == {"url": "http://127.0.0.1:8080/x", "method": "POST", "timeout": 5.0}
    found = problems(BASE + "rollbacks:\n  - type: toxiproxy.rest\n  - type: container.start\n  - {type: http}\n")
    assert {p.key for p in found} == {"rollbacks[0].type", "rollbacks[1].target", "rollbacks[2].params.url"}


def test_load_block_is_parsed_into_loadspec() -> None:
    """The load: block becomes a LoadSpec with seconds and typed request specs, or problems."""
    experiment = parse(
        BASE.replace(
            "  rate: 100\n",
            "  rate: 100\n  ramp: 2s\n  timeout: 500ms\n  connections: 8\n  max_connections: 16\n"
            "  users: {count: 50, zipf_exponent: 0}\n",
        )
    )
    load = experiment.load
    assert (load.connections, load.max_connections) == (8, 16)
    assert load.ramp_s == 2.0 and load.timeout_s == 0.5 and load.users.count == 50 and load.users.zipf_exponent == 0.0
    assert (
        load.requests[0].name == "read"
        and load.requests[0].method == "GET"
        and load.requests[0].ok_status == (200, 201)
    )
    found = problems(
        BASE.replace("rate: 100", "rate: 0").replace("{name: read,", "{name: read, method: FETCH, weight: -1,")
    )
    assert {p.key for p in found} == {"load.rate", "load.requests[0].method", "load.requests[0].weight"}
    few = problems(BASE.replace("  rate: 100\n", "  rate: 100\n  connections: 8\n  max_connections: 4\n"))
    assert [p.key for p in few] == ["load.max_connections"]


@pytest.mark.parametrize("key", ["realtime", "keep_cpus_awake"])
def test_load_tunings_are_opt_in_true_false_or_auto(key: str) -> None:
    assert getattr(parse(BASE).load, key) is False
    assert getattr(parse(BASE.replace("  rate: 100\n", f"  rate: 100\n  {key}: true\n")).load, key) is True
    assert getattr(parse(BASE.replace("  rate: 100\n", f"  rate: 100\n  {key}: auto\n")).load, key) == "auto"
    (found,) = problems(BASE.replace("  rate: 100\n", f"  rate: 100\n  {key}: yes please\n"))
    assert found.key == f"load.{key}" and "expected true, false or auto" in found.message


def test_unreadable_file_is_one_problem(tmp_path: Path) -> None:
    """A missing file is reported as an ExperimentInvalid naming it, not an OSError."""
    with pytest.raises(ExperimentInvalid, match="cannot read the file") as info:
        load_experiment(tmp_path / "nope.yaml")
    assert info.value.problems[0].file.endswith("nope.yaml")


def test_invalid_regex_and_tolerance_bounds() -> None:
    """A regex that does not compile and min above max are problems."""
    text = BASE.replace("tolerance: 250ms", "tolerance: {min: 2s, max: 1s}")
    assert "above max" in problems(text)[0].message
    http = BASE.replace(
        "{name: p99, type: load, metric: p99, tolerance: 250ms}",
        "{name: h, type: http, url: 'http://x', tolerance: {body: '('}}",
    )
    assert "regular expression" in problems(http)[0].message
