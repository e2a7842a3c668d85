"""The experiment file format as JSON Schema (draft 2020-12), for editors and other tools.

The loader is the authority (it also checks what a schema cannot: timings
against phases, references to probe names, regexes that compile); the schema
catches shapes and types while typing. Any scalar may be a ``${variable}``.

The published file ``experiment.schema.json`` beside this module is
``experiment_schema()`` without a fault catalogue (fault params are any
mapping); a test keeps it in sync. With a catalogue, each fault type's params
are described too::

    python -m chaoskit.model.schema                      # print the published schema
    python -m chaoskit.model.schema --catalogue chaoskit.faults:fault_params > my.schema.json
"""

from __future__ import annotations

import argparse
import importlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from chaoskit.model.actions import ACTION_SIGNATURES
from chaoskit.model.checker import HTTP_METHODS
from chaoskit.model.loader import (
    ACTION_KEYS,
    ENVIRONMENT_KEYS,
    KUBERNETES_KEYS,
    PHASE_KEYS,
    REQUEST_KEYS,
    STEP_KEYS,
)
from chaoskit.model.params import FaultSignature, ParamSpec, param_table
from chaoskit.model.probes import LOAD_METRICS, PROBE_TYPES, SAMPLE_PROBE_TYPES
from chaoskit.model.stack_probes import STACK_PROBE_SIGNATURES

__all__ = ["SCHEMA_PATH", "experiment_schema", "write_schema"]

SCHEMA_PATH = Path(__file__).with_name("experiment.schema.json")
SCHEMA_ID = "https://chaoskit.invalid/schemas/experiment.schema.json"

_VAR = {"type": "string", "pattern": r"^\$\{[^}]+\}$"}
_DURATION_TEXT = r"^\s*(((\d+(\.\d*)?|\.\d+)\s*(us|µs|ms|s|m|h))+|\d+(\.\d*)?)\s*$"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/$defs/{name}"}


def _obj(properties: Mapping[str, Any], required: Sequence[str] = (), **extra: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": dict(properties), "additionalProperties": False}
    if required:
        schema["required"] = list(required)
    schema.update(extra)
    return schema


def _param_schema(spec: ParamSpec) -> dict[str, Any]:
    base: dict[str, Any]
    if spec.type in ("int", "float"):
        base = {"type": "integer" if spec.type == "int" else "number"}
        if spec.min is not None:
            base["minimum"] = spec.min
        if spec.max is not None:
            base["maximum"] = spec.max
        base = {"anyOf": [base, _ref("variable")]}
    elif spec.type == "duration":
        base = _ref("duration")
    elif spec.type == "bytes":
        base = _ref("bytes")
    elif spec.type == "fraction":
        base = _ref("fraction")
    elif spec.type == "bool":
        base = {"anyOf": [{"type": "boolean"}, _ref("variable")]}
    elif spec.type == "signal":
        base = {"type": ["string", "integer"]}
    elif spec.type in ("list[str]", "argv"):
        base = {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}]}
    elif spec.type == "any":
        base = {}
    else:
        base = {"type": ["string", "number"]}
    if spec.choices and spec.type in ("str", "int", "float"):
        base = {"anyOf": [{"enum": list(spec.choices)}, _ref("variable")]}
    if spec.doc:
        base = {**base, "description": spec.doc}
    return base


def _signature_rules(discriminator: str, signatures: Mapping[str, FaultSignature]) -> list[dict[str, Any]]:
    """One if/then per fault (or action) type: its params, and whether it takes a target."""
    rules = []
    for name, signature in sorted(signatures.items()):
        params = {p.name: _param_schema(p) for p in signature.params}
        has_proxy = "proxy" in params
        required = [p.name for p in signature.params if p.required and p.name != "proxy"]
        then: dict[str, Any] = {"properties": {"params": _obj(params, required)}, "required": []}
        if required:
            then["required"].append("params")
        if signature.target == "required":
            then["required"].append("target")
        elif signature.target == "none":
            then["not"] = {"required": ["target"]}
        if not has_proxy:
            then.setdefault("allOf", []).append({"not": {"required": ["proxy"]}})
        rules.append(
            {"if": {"properties": {discriminator: {"const": name}}, "required": [discriminator]}, "then": then}
        )
    return rules


def _stack_probe_properties(signature: FaultSignature) -> tuple[dict[str, Any], list[str]]:
    """A ``timeline.*`` probe: its declared params (``params`` required when one of them is) and a tolerance."""
    required = [p.name for p in signature.params if p.required]
    params = _obj({p.name: _param_schema(p) for p in signature.params}, required)
    return {"params": params, "tolerance": _ref("tolerance")}, ["tolerance", *(["params"] if required else [])]


def _probe_rules() -> list[dict[str, Any]]:
    common = {"name": {"type": "string"}, "type": {"type": "string"}, "every": _ref("duration")}
    per_type: dict[str, tuple[dict[str, Any], list[str]]] = {
        "http": (
            {
                "url": {"type": "string"},
                "method": {"enum": [*HTTP_METHODS, *(m.lower() for m in HTTP_METHODS)]},
                "timeout": _ref("duration"),
                "headers": {"type": "object", "additionalProperties": {"type": ["string", "number"]}},
                "json": {},
                "tolerance": _obj(
                    {
                        "status": _ref("tolerance"),
                        "latency": _ref("tolerance"),
                        "body": {"type": "string"},
                        "json": {"anyOf": [_ref("jsonCheck"), {"type": "array", "items": _ref("jsonCheck")}]},
                    }
                ),
            },
            ["url"],
        ),
        "command": (
            {
                "target": _ref("selector"),
                "cmd": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}]},
                "timeout": _ref("duration"),
                "tolerance": _obj({"exit_code": _ref("tolerance"), "output": {"type": "string"}}),
            },
            ["target", "cmd"],
        ),
        "container": (
            {"target": _ref("selector"), "tolerance": _obj({"state": _ref("tolerance"), "health": _ref("tolerance")})},
            ["target"],
        ),
        "toxiproxy": (
            {
                "proxy": {"type": "string"},
                "tolerance": _obj({"enabled": _ref("tolerance"), "toxics": _ref("tolerance")}),
            },
            ["proxy"],
        ),
        "load": ({"metric": {"enum": list(LOAD_METRICS)}, "tolerance": _ref("tolerance")}, ["metric", "tolerance"]),
        **{t: _stack_probe_properties(STACK_PROBE_SIGNATURES[t]) for t in SAMPLE_PROBE_TYPES},
    }
    rules = []
    for name, (properties, required) in per_type.items():
        props = {**common, **properties}
        if name == "load":
            props.pop("every")
        rules.append(
            {
                "if": {"properties": {"type": {"const": name}}, "required": ["type"]},
                "then": {"properties": props, "required": required, "additionalProperties": False},
            }
        )
    return rules


def experiment_schema(fault_params: Mapping[str, FaultSignature | Sequence[ParamSpec]] | None = None) -> dict[str, Any]:
    """The schema; with ``fault_params``, each fault type's parameters are checked too."""
    number = {"anyOf": [{"type": "number"}, _ref("variable")]}
    integer = {"anyOf": [{"type": "integer"}, _ref("variable")]}
    tolerance_keys = {
        "equals": {},
        "one_of": {"type": "array"},
        "min": _ref("scalar"),
        "max": _ref("scalar"),
        "range": {"type": "array", "minItems": 2, "maxItems": 2},
        "matches": {"type": "string"},
        "max_ratio": number,
        "min_ratio": number,
        "max_increase": _ref("scalar"),
        "max_increase_points": number,
    }
    defs: dict[str, Any] = {
        "variable": _VAR,
        "scalar": {"type": ["string", "number", "boolean"]},
        "duration": {"anyOf": [{"type": "number", "minimum": 0}, {"type": "string", "pattern": _DURATION_TEXT}, _VAR]},
        "bytes": {
            "anyOf": [
                {"type": "integer", "minimum": 0},
                {"type": "string", "pattern": r"^\s*\d+(\.\d*)?\s*[a-zA-Z]*\s*$"},
                _VAR,
            ]
        },
        "fraction": {"anyOf": [{"type": "number"}, {"type": "string", "pattern": r"^\s*\d+(\.\d*)?\s*%?\s*$"}, _VAR]},
        "selector": {
            "anyOf": [
                {"type": "string", "minLength": 1},
                _obj(
                    {
                        "name": {"type": "string"},
                        "service": {"type": "string"},
                        "project": {"type": "string"},
                        "namespace": {"type": "string"},
                        "owner": {"type": "string"},
                        "labels": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}},
                        "state": {"type": "string"},
                        "count": integer,
                        "percent": _ref("fraction"),
                        "max_fraction": _ref("fraction"),
                        "max_count": integer,
                    },
                    minProperties=1,
                ),
            ]
        },
        "tolerance": {
            "anyOf": [
                {"type": ["string", "number", "boolean"]},
                {"type": "array", "minItems": 1},
                _obj(tolerance_keys, minProperties=1),
            ]
        },
        "jsonCheck": _obj(
            {
                "path": {"type": "string"},
                **{
                    k: v
                    for k, v in tolerance_keys.items()
                    if k in ("equals", "one_of", "min", "max", "range", "matches")
                },
            },
            ["path"],
            minProperties=2,
        ),
        "probe": {
            "type": "object",
            "required": ["type"],
            "properties": {"type": {"enum": list(PROBE_TYPES)}},
            "allOf": _probe_rules(),
        },
        "request": _obj(
            {
                "name": {"type": "string"},
                "url": {"type": "string"},
                "method": {"type": "string"},
                "weight": number,
                "json": {},
                "headers": {"type": "object"},
                "ok_status": {
                    "anyOf": [{"type": "integer"}, {"type": "array", "items": {"type": "integer"}, "minItems": 1}]
                },
                "capture": {"type": "string", "description": "a top-level key of successful JSON answers to keep"},
            },
            ["url"],
        ),
        "faultStep": _obj(
            {
                "fault": {"type": "string", "pattern": r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$"},
                "name": {"type": "string"},
                "target": _ref("selector"),
                "proxy": {"type": "string"},
                "params": {"type": "object"},
                "start": _ref("duration"),
                "duration": _ref("duration"),
            },
            ["fault"],
        ),
        "action": _obj(
            {
                "type": {"enum": sorted(ACTION_SIGNATURES)},
                "target": _ref("selector"),
                "proxy": {"type": "string"},
                "params": {"type": "object"},
            },
            ["type"],
            allOf=_signature_rules("type", ACTION_SIGNATURES),
        ),
        "stopCondition": {
            "anyOf": [
                {"type": "string"},
                _obj({"when": {"type": "string"}}, ["when"]),
                _obj({"probe": {"type": "string"}, "failures": integer, "consecutive": {"type": "boolean"}}, ["probe"]),
            ]
        },
    }
    if fault_params is not None:
        table = param_table(fault_params)
        defs["faultStep"]["properties"]["fault"] = {"enum": sorted(table)}
        defs["faultStep"]["allOf"] = _signature_rules("fault", table)
    assert set(defs["faultStep"]["properties"]) == set(STEP_KEYS) and set(defs["action"]["properties"]) == set(
        ACTION_KEYS
    )
    assert set(defs["request"]["properties"]) == set(REQUEST_KEYS)
    environment = _obj(
        {
            "docker_host": {"type": "string"},
            "compose_project": {"type": "string"},
            "toxiproxy_url": {"type": "string", "pattern": "^(https?://|\\$\\{)"},
            "kubernetes": _obj({key: {"type": "string"} for key in KUBERNETES_KEYS}),
        }
    )
    assert set(environment["properties"]) == set(ENVIRONMENT_KEYS)

    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "chaoskit experiment",
        "description": "A chaoskit experiment file (YAML). Durations: 10s, 500ms, 2m or seconds; any scalar may be ${variable}.",
        **_obj(
            {
                "title": {"type": "string", "minLength": 1},
                "description": {"type": "string"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "variables": {
                    "type": "object",
                    "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
                },
                "environment": environment,
                "seed": integer,
                "phases": _obj({name: _ref("duration") for name in PHASE_KEYS}),
                "load": _obj(
                    {
                        "rate": number,
                        "ramp": _ref("duration"),
                        "timeout": _ref("duration"),
                        "connections": integer,
                        "max_connections": integer,
                        "seed": integer,
                        "users": _obj({"count": integer, "zipf_exponent": number}),
                        "requests": {"type": "array", "items": _ref("request"), "minItems": 1},
                        "max_lag": _ref("duration"),
                        "realtime": {"enum": [True, False, "auto"]},
                        "keep_cpus_awake": {"enum": [True, False, "auto"]},
                    },
                    ["rate", "requests"],
                ),
                "steady_state": _obj(
                    {
                        "title": {"type": "string"},
                        "probes": {"type": "array", "items": _ref("probe"), "minItems": 1},
                    },
                    ["title", "probes"],
                ),
                "method": {"type": "array", "items": _ref("faultStep"), "minItems": 1},
                "rollbacks": {"type": "array", "items": _ref("action")},
                "stop_conditions": {"type": "array", "items": _ref("stopCondition")},
            },
            ["title", "steady_state", "method"],
        ),
        "$defs": defs,
    }


def write_schema(
    path: Path = SCHEMA_PATH, fault_params: Mapping[str, FaultSignature | Sequence[ParamSpec]] | None = None
) -> None:
    path.write_text(json.dumps(experiment_schema(fault_params), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m chaoskit.model.schema", description=__doc__.splitlines()[0])
    parser.add_argument("--catalogue", help="MODULE:ATTRIBUTE holding a mapping fault type -> FaultSignature")
    parser.add_argument("--write", action="store_true", help=f"write {SCHEMA_PATH.name} instead of printing")
    args = parser.parse_args(argv)
    fault_params = None
    if args.catalogue:
        module, _, attribute = args.catalogue.partition(":")
        fault_params = getattr(importlib.import_module(module), attribute)
        if callable(fault_params):
            fault_params = fault_params()
    if args.write:
        write_schema(SCHEMA_PATH, fault_params)
    else:
        print(json.dumps(experiment_schema(fault_params), indent=2, ensure_ascii=False))


if __name__ == "__main__":
    _main()
