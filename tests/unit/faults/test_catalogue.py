"""The catalogue: parameters parsed once into typed values, and faults rebuilt from ledger records."""

from __future__ import annotations

import pytest

from chaoskit.errors import ChaoskitError
from chaoskit.faults.catalogue import BUILTINS, build, from_record, signatures
from chaoskit.model import parse_experiment
from chaoskit.model.params import Params
from chaoskit.targets import TargetRef

STEP = """
title: t
load: {rate: 10, requests: [{name: read, url: "http://127.0.0.1:8080/"}]}
steady_state: {title: s, probes: [{name: p99, type: load, metric: p99, tolerance: 250ms}]}
method:
  - fault: KIND
    WHERE
    params: PARAMS
"""


def step_params(kind: str, params: str, where: str = "target: {service: api}"):
    text = STEP.replace("KIND", kind).replace("PARAMS", params).replace("WHERE", where)
    return parse_experiment(text, fault_params=signatures()).method[0].params


def test_the_loader_parses_params_once_with_defaults() -> None:
    """A step's params come out of the loader typed, with the signature's defaults, and build keeps them as they are."""
    params = step_params("process.cpu_hog", "{max_duration: 2m}")
    assert isinstance(params, Params) and dict(params) == {"workers": 1, "max_duration": 120.0}
    assert build("process.cpu_hog", params, TargetRef("i", "n")).params is params


def test_build_parses_plain_values_the_same_way() -> None:
    """Plain values given in code are typed and completed as the loader would."""
    fault = build("network.latency", {"proxy": "pg", "latency_ms": 300.0})
    assert dict(fault.params) == dict(step_params("network.latency", "{latency_ms: 300}", "proxy: pg"))
    assert fault.params["latency_ms"] == 300 and isinstance(fault.params["latency_ms"], int)


@pytest.mark.parametrize(("kind", "params", "message"), [
    ("container.kill", {"signal": "SIGNOPE"}, "container.kill: signal: "),
    ("container.kill", {"sginal": "KILL"}, "unknown parameter 'sginal'"),
    ("disk.fill", {"path": "/x"}, "needs exactly one of percent | bytes; got none"),
    ("network.latency", {"proxy": "pg"}, "needs parameter latency_ms"),
])
def test_build_refuses_bad_params(kind: str, params: dict, message: str) -> None:
    """A bad value, an unknown name or a missing parameter is refused by build, naming the fault type."""
    with pytest.raises(ChaoskitError, match=message):
        build(kind, params)


@pytest.mark.parametrize("kind", sorted(BUILTINS))
def test_every_fault_survives_its_record(kind: str) -> None:
    """Every fault type rebuilt from its JSON record has the same params, target, state and token."""
    spec = BUILTINS[kind].signature
    given = {"proxy": "pg", "latency_ms": 1, "rate_kbps": 1, "bytes": 1, "delay_ms": 1, "network": "n", "name": "p",
             "megabytes": 1, "path": "/x"}
    params = {p.name: given[p.name] for p in spec.params if p.required}
    params.update({"percent": 0.5} if kind == "disk.fill" else {})
    target = None if spec.target == "none" else TargetRef("id", "name", {"namespace": "ns"})
    fault = build(kind, params, target)
    fault.state["aliases"] = ("a",)
    rebuilt = from_record(fault.record())
    assert (dict(rebuilt.params), rebuilt.target, rebuilt.token) == (dict(fault.params), fault.target, fault.token)
    assert rebuilt.state == {"aliases": ["a"]}


def test_a_record_written_before_typed_params_still_rebuilds() -> None:
    """A ledger record of the earlier layout (plain params with defaults, target id and name) rebuilds."""
    record = {"kind": "disk.fill", "token": "abc", "state": {"fill_file": "/data/.chaoskit-fill-abc"},
              "target": {"id": "c0ffee", "name": "postgres-1"},
              "params": {"path": "/data", "percent": 0.9, "max_filesystem_bytes": 4294967296, "force": False},
              "docker_host": None, "toxiproxy_url": "http://127.0.0.1:8474"}
    fault = from_record(record)
    assert fault.target == TargetRef("c0ffee", "postgres-1") and fault.state["fill_file"].endswith("abc")
    assert fault.params["percent"] == 0.9
