"""The published JSON Schema: in sync with the generator, valid, and agreeing with the loader."""

from __future__ import annotations

import functools
import json
import textwrap
from pathlib import Path

import jsonschema
import pytest
import yaml

from chaoskit.errors import ExperimentInvalid
from chaoskit.model import parse_experiment
from chaoskit.model.schema import SCHEMA_PATH, experiment_schema

from .catalogue import SIGNATURES
from .test_loader import BASE

EXPERIMENTS = Path(__file__).resolve().parents[3] / "experiments"


@functools.cache
def validator(with_catalogue: bool) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(experiment_schema(SIGNATURES if with_catalogue else None))


@pytest.mark.parametrize("with_catalogue", [False, True])
def test_schema_is_valid_draft_2020_12(with_catalogue: bool) -> None:
    """The generated schema is itself a valid JSON Schema (draft 2020-12)."""
    jsonschema.Draft202012Validator.check_schema(experiment_schema(SIGNATURES if with_catalogue else None))


def test_published_file_matches_the_generator() -> None:
    """experiment.schema.json is what experiment_schema() generates (regenerate with --write)."""
    assert json.loads(SCHEMA_PATH.read_text(encoding="utf-8")) == experiment_schema()


@pytest.mark.parametrize("with_catalogue", [False, True])
@pytest.mark.parametrize("name", ["cache-down.yaml", "database-latency.yaml", "api-replica-killed.yaml",
                                  "worker-crash.yaml", "database-unreachable.yaml", "prometheus-only.yaml",
                                  "https-prometheus-audit.yaml"])
def test_shipped_examples_validate(name: str, with_catalogue: bool) -> None:
    """Every shipped experiment is valid under the schema, with and without the catalogue."""
    document = yaml.safe_load((EXPERIMENTS / name).read_text(encoding="utf-8"))
    assert [e.message for e in validator(with_catalogue).iter_errors(document)] == []


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("title: t\n", ""),  # missing required key
        ("phases:", "phasse:"),  # unknown top-level key
        ("baseline: 10s", "baseline: 10 parsecs"),  # bad duration
        ("type: load", "type: lod"),  # unknown probe type
        ("metric: p99", "metric: p98"),  # unknown metric
        ("container.kill", "container.kil"),  # unknown fault type (catalogue)
        ("    target: {service: redis}\n", ""),  # container fault without target
        ("target: {service: redis}", "target: {service: redis}\n    params: {signl: 9}"),  # unknown param
        ("{name: p99, type: load, metric: p99, tolerance: 250ms}",  # a write audit without its url
         "{name: lost, type: writes.readable, tolerance: 0}"),
        ("{name: p99, type: load, metric: p99, tolerance: 250ms}",  # an unknown TLS key
         "{name: web, type: http, url: 'https://a', tls: {verfy: false}}"),
        ("{name: p99, type: load, metric: p99, tolerance: 250ms}",  # a store command without its target
         "{name: left, type: writes.pending, pending: {cmd: 'q {ids}'}, tolerance: 0}"),
        ("{name: p99, type: load, metric: p99, tolerance: 250ms}",  # a prometheus probe without its query
         "{name: q, type: prometheus, url: 'http://p:9090', tolerance: 1}"),
        ("{name: p99, type: load, metric: p99, tolerance: 250ms}",  # a tolerance kind readings do not take
         "{name: q, type: prometheus, url: 'http://p:9090', query: up, tolerance: {equals: 1}}"),
        ("{name: p99, type: load, metric: p99, tolerance: 250ms}",  # a ratio that is not > 0
         "{name: q, type: prometheus, url: 'http://p:9090', query: up, tolerance: {max_ratio: 0}}"),
        ("{name: p99, type: load, metric: p99, tolerance: 250ms}",  # not an http(s) URL
         "{name: q, type: prometheus, url: 'p:9090', query: up, tolerance: 1}"),
    ],
)
def test_schema_and_loader_reject_the_same_shapes(old: str, new: str) -> None:
    """Structural mistakes the loader reports are also flagged by the schema (with the catalogue)."""
    text = textwrap.dedent(BASE).replace(old, new, 1)
    assert text != textwrap.dedent(BASE)
    with pytest.raises(ExperimentInvalid):
        parse_experiment(text, source="x.yaml", fault_params=SIGNATURES)
    assert list(validator(True).iter_errors(yaml.safe_load(text)))


def test_base_document_is_valid_under_both() -> None:
    """The minimal document both accept, so the rejections above are due to the mutation."""
    parse_experiment(textwrap.dedent(BASE), source="x.yaml", fault_params=SIGNATURES)
    assert not list(validator(True).iter_errors(yaml.safe_load(textwrap.dedent(BASE))))
