"""Blast-radius and input guards of fault steps, as the loader applies them with the real catalogue."""

from __future__ import annotations

import textwrap

import pytest

from chaoskit.adapters.backends import Backends
from chaoskit.errors import ApplyFailed, ExperimentInvalid, Problem
from chaoskit.faults.catalogue import build, signatures
from chaoskit.model import Experiment
from chaoskit.model.loader import parse_experiment
from chaoskit.targets import Selector
from chaoskit.testing import FakeTargetBackend

BASE = """\
title: t
environment: {compose_project: chaoskit}
phases: {warmup: 0s, baseline: 10s, fault: 20s, recovery: 10s}
steady_state:
  title: h
  probes:
    - {name: up, type: http, url: "http://127.0.0.1:8080/", tolerance: {status: 200}}
method:
  - fault: container.kill
    target: {service: redis}
"""


def parse(text: str) -> Experiment:
    return parse_experiment(textwrap.dedent(text), source="exp.yaml", fault_params=signatures())


def problems(text: str) -> list[Problem]:
    with pytest.raises(ExperimentInvalid) as info:
        parse(text)
    return info.value.problems


def with_step(step: str) -> str:
    return BASE.replace("  - fault: container.kill\n    target: {service: redis}\n", textwrap.indent(step, "  "))


def test_a_wildcard_with_no_cap_is_refused_unless_the_file_says_uncapped() -> None:
    """name: "*" alone is refused with its file:line; a count, a cap or uncapped: true lets it through."""
    found = problems(BASE.replace("{service: redis}", '{name: "*"}'))
    assert len(found) == 1 and found[0].key == "method[0].target" and found[0].line == 10
    assert "uncapped: true" in found[0].message
    assert "may match many services" in problems(BASE.replace("{service: redis}", "{labels: {tier: db}}"))[0].message
    for ok in ('{name: "*", count: 1}', '{name: "*redis*", max_fraction: 0.5}', '{name: "*", uncapped: true}'):
        assert parse(BASE.replace("{service: redis}", ok)).method[0].target is not None


def test_every_fault_selector_is_scoped_to_the_project_unless_scope_any() -> None:
    """A name glob gets the experiment's compose project; scope: any keeps the whole engine."""
    scoped = parse(BASE.replace("{service: redis}", '{name: "*redis*", count: 1}')).method[0].target
    assert scoped == Selector(name="*redis*", project="chaoskit", count=1)
    anywhere = parse(BASE.replace("{service: redis}", '{name: "*redis*", count: 1, scope: any}')).method[0].target
    assert anywhere is not None and anywhere.project is None
    assert "scope must be one of" in problems(BASE.replace("{service: redis}", "{service: redis, scope: all}"))[0].message


def test_host_wide_process_kill_needs_an_explicit_host_scope() -> None:
    """process.kill without a target is refused unless params say scope: host; with a target, scope: host is wrong."""
    found = problems(with_step("- fault: process.kill\n  params: {name: redis-server}\n"))
    assert "scope: host" in found[0].message and found[0].key == "method[0].params"
    step = parse(with_step("- fault: process.kill\n  params: {name: redis-server, scope: host}\n")).method[0]
    assert step.target is None and step.params["scope"] == "host"
    found = problems(with_step("- fault: process.kill\n  target: {service: redis}\n"
                               "  params: {name: redis-server, scope: host}\n"))
    assert "for a step without a target" in found[0].message


def test_process_kill_refuses_the_host_without_scope_even_when_built_in_code() -> None:
    """A fault built without the loader (a caller, a record) checks the host scope too, before touching anything."""
    with pytest.raises(ApplyFailed, match="every 'sleep' process of the host"):
        build("process.kill", {"name": "sleep"}).prepare(Backends(targets=FakeTargetBackend()))


def test_required_labels_are_added_to_every_fault_target() -> None:
    """environment.require_label adds the opt-in label to fault selectors (not to probes); a clash is a problem."""
    text = BASE.replace("{compose_project: chaoskit}", "{compose_project: chaoskit, require_label: chaoskit.enabled=true}")
    experiment = parse(text)
    assert experiment.environment.require_labels == {"chaoskit.enabled": "true"}
    assert experiment.method[0].target is not None
    assert experiment.method[0].target.labels == {"chaoskit.enabled": "true"}
    clash = text.replace("{service: redis}", '{service: redis, labels: {chaoskit.enabled: "no"}}')
    assert "requires chaoskit.enabled=true" in problems(clash)[0].message
    bad = BASE.replace("{compose_project: chaoskit}", "{compose_project: chaoskit, require_label: enabled}")
    assert "expected KEY=VALUE" in problems(bad)[0].message


@pytest.mark.parametrize("name", ["a/b", "../reset", "web?x=1", "web#", "", ".hidden", "x" * 200])
def test_unsafe_proxy_names_are_refused_at_load_time(name: str) -> None:
    """A proxy name that could change a Toxiproxy URL's path or query is a validation problem, in steps,
    probes and rollbacks alike."""
    step = with_step(f"- fault: network.down\n  proxy: {name!r}\n")
    assert any("expected a name matching" in p.message for p in problems(step))
    probe = BASE.replace('{name: up, type: http, url: "http://127.0.0.1:8080/", tolerance: {status: 200}}',
                         f"{{name: px, type: toxiproxy, proxy: {name!r}}}")
    assert any("expected a name matching" in p.message for p in problems(probe))
    rollback = BASE + f"rollbacks:\n  - {{type: toxiproxy.enable, proxy: {name!r}}}\n"
    assert any("expected a name matching" in p.message for p in problems(rollback))


def test_hog_lifetimes_are_capped_at_an_hour() -> None:
    """max_duration above 1 h is refused: a hog must not outlive a dead controller by days."""
    step = "- fault: process.cpu_hog\n  target: {service: api}\n  params: {max_duration: %s}\n"
    assert parse(with_step(step % "1h")).method[0].params["max_duration"] == 3600.0
    assert "<= 3600" in problems(with_step(step % "2h"))[0].message
    assert "<= 3600" in problems(with_step(step % "1e8"))[0].message
