"""A plugin's probe in an experiment file: checked against the plugin's ProbeSignature with file:line, parsed once
into a frozen value, its secrets collected; the JSON Schema knows it."""

from __future__ import annotations

import dataclasses

import jsonschema
import pytest
import yaml

from chaoskit.errors import ExperimentInvalid
from chaoskit.model import parse_experiment
from chaoskit.model.params import ParamSpec
from chaoskit.model.plugin_probe import PluginProbeSpec, ProbeSignature
from chaoskit.model.schema import experiment_schema
from chaoskit.model.tolerance import AllOf, Relative, Threshold

from .catalogue import SIGNATURES

PROBES = {
    "acme.latency": ProbeSignature(params=(ParamSpec("host", "str", required=True, doc="the host"),
                                           ParamSpec("port", "int", required=True, min=1, max=65535),
                                           ParamSpec("password", "str"),
                                           ParamSpec("timeout", "duration", default=1.0)),
                                   reading="duration", secret=("password",), doc="connect time"),
    "acme.queue_depth": ProbeSignature(params=(ParamSpec("queue", "str", required=True),), reading="number"),
    "acme.reachable": ProbeSignature(params=(ParamSpec("host", "str", required=True),), reading="pass_fail"),
}

FILE = """\
title: plugin probes
variables:
  db_password: {{secret: true, default: s3cret-pass}}
steady_state:
  title: the db answers
  probes:
{probe}
method:
  - {{fault: container.kill, target: {{service: db}}}}
"""

LATENCY = """\
    - name: db connect
      type: acme.latency
      params: {host: db, port: 5432}
      every: 2s
      tolerance: {max: 50ms, max_ratio: 3}
"""


def parse(probe: str, probes: dict[str, ProbeSignature] | None = PROBES):
    return parse_experiment(FILE.format(probe=probe), source="exp.yaml", fault_params=SIGNATURES,
                            probe_params=probes)


def problems(probe: str, probes: dict[str, ProbeSignature] | None = PROBES) -> list[str]:
    with pytest.raises(ExperimentInvalid) as caught:
        parse(probe, probes)
    return [str(p) for p in caught.value.problems]


def test_a_plugin_probe_is_parsed_once_into_a_frozen_value():
    """Parameters typed with their defaults applied; a duration tolerance takes 50ms; every in seconds."""
    (probe,) = parse(LATENCY).steady_state.probes
    assert isinstance(probe, PluginProbeSpec)
    assert (probe.name, probe.type, probe.reading, probe.every_s) == ("db connect", "acme.latency", "duration", 2.0)
    assert dict(probe.params) == {"host": "db", "port": 5432, "timeout": 1.0}
    assert probe.tolerance == AllOf((Threshold(max=0.05), Relative(max_ratio=3.0)))
    with pytest.raises(dataclasses.FrozenInstanceError):
        probe.name = "other"  # type: ignore[misc]


def test_an_unknown_parameter_is_named_with_its_line_and_a_suggestion():
    assert problems(LATENCY.replace("port: 5432", "prot: 5432")) == [
        "exp.yaml:9: steady_state.probes[0].params.port: acme.latency needs parameter port (int, required, >= 1, "
        "<= 65535)",
        "exp.yaml:9: steady_state.probes[0].params.prot: unknown parameter for acme.latency; did you mean 'port'? "
        "(expected: host, port, password, timeout)",
    ]


def test_a_parameter_of_the_wrong_type_or_out_of_bounds_is_a_problem():
    assert problems(LATENCY.replace("port: 5432", "port: 99999")) == [
        "exp.yaml:9: steady_state.probes[0].params.port: expected int <= 65535, got 99999"]


def test_a_probe_of_numbers_needs_a_tolerance_and_a_pass_fail_one_takes_none():
    assert problems(LATENCY.replace("      tolerance: {max: 50ms, max_ratio: 3}\n", "")) == [
        "exp.yaml:7: steady_state.probes[0].tolerance: missing required key 'tolerance'"]
    reachable = "    - {name: up, type: acme.reachable, params: {host: db}, tolerance: {max: 1}}\n"
    (problem,) = problems(reachable)
    assert problem.startswith("exp.yaml:7: steady_state.probes[0].tolerance: unknown key")


def test_a_pass_fail_probe_without_tolerance_is_valid():
    (probe,) = parse("    - {name: up, type: acme.reachable, params: {host: db}}\n").steady_state.probes
    assert isinstance(probe, PluginProbeSpec) and probe.pass_fail and probe.checks == ()


def test_an_uninstalled_plugin_type_says_a_package_is_needed():
    (problem,) = problems(LATENCY, probes={})
    assert problem.startswith("exp.yaml:8: steady_state.probes[0].type: unknown probe type 'acme.latency'")
    assert problem.endswith("a plugin's probe type needs its package installed)")


def test_secret_parameters_are_masked_like_header_values():
    """A parameter the signature declares secret joins the experiment's secrets, even given literally."""
    experiment = parse(LATENCY.replace("port: 5432", "port: 5432, password: hunter2-literal"))
    assert "hunter2-literal" in experiment.secrets
    short = problems(LATENCY.replace("port: 5432", "port: 5432, password: abc"))
    assert short == ["exp.yaml:9: steady_state.probes[0].params.password: acme.latency: a secret (password) of "
                     "fewer than 4 characters would be masked wherever those characters occur; give a real one"]


def test_a_signature_refuses_unknown_readings_and_secrets():
    with pytest.raises(ValueError, match="unknown reading 'text'"):
        ProbeSignature(reading="text")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="secret names no parameter: token"):
        ProbeSignature(secret=("token",))


def _document(probe: str) -> dict:
    return yaml.safe_load(FILE.format(probe=probe))


def test_the_schema_knows_each_plugin_probe_with_its_signatures():
    """With the plugins' signatures, params and tolerance are described; without, any namespaced type's shape."""
    known = jsonschema.Draft202012Validator(experiment_schema(SIGNATURES, PROBES))
    published = jsonschema.Draft202012Validator(experiment_schema())
    jsonschema.Draft202012Validator.check_schema(experiment_schema(SIGNATURES, PROBES))
    assert list(known.iter_errors(_document(LATENCY))) == []
    assert list(published.iter_errors(_document(LATENCY))) == []
    assert list(known.iter_errors(_document(LATENCY.replace("port: 5432", "prot: 5432"))))
    assert list(known.iter_errors(_document(LATENCY.replace("acme.latency", "acme.unknown"))))
    assert list(published.iter_errors(_document(LATENCY.replace("every: 2s", "evry: 2s"))))
