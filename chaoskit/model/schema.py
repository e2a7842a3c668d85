"""The experiment file format as JSON Schema (draft 2020-12), for editors and other tools.

The loader is the authority (it also checks what a schema cannot: timings
against phases, references to probe names, regexes that compile); the schema
catches shapes and types while typing. Any scalar may be a ``${variable}``.

The published file ``experiment.schema.json`` beside this module is
``experiment_schema()`` without a fault catalogue (fault params are any
mapping); a test keeps it in sync. With a catalogue, each fault type's params
are described too::

    python -m chaoskit.model.schema                      # print the published schema
    python -m chaoskit.model.schema --catalogue chaoskit.faults.catalogue:signatures \\
        --probes chaoskit.adapters.probe_plugins:probe_signatures > my.schema.json
"""

from __future__ import annotations

import argparse
import importlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from chaoskit.model.actions import ACTION_SIGNATURES
from chaoskit.model.loader import (
    ACTION_KEYS,
    ENVIRONMENT_KEYS,
    KUBERNETES_KEYS,
    PHASE_KEYS,
    SAFETY_KEYS,
    STEP_KEYS,
)
from chaoskit.model.load_loader import REQUEST_KEYS
from chaoskit.model.params import FaultSignature, ParamSpec, param_table
from chaoskit.model.plugin_probe import ProbeSignature
from chaoskit.model.probe_schema import VARIABLE, obj, plugin_probe_rules, probe_defs, probe_rules, probe_type, ref

__all__ = ["SCHEMA_PATH", "experiment_schema", "write_schema"]

SCHEMA_PATH = Path(__file__).with_name("experiment.schema.json")
SCHEMA_ID = "https://chaoskit.invalid/schemas/experiment.schema.json"

_DURATION_TEXT = r"^\s*(((\d+(\.\d*)?|\.\d+)\s*(us|µs|ms|s|m|h))+|\d+(\.\d*)?)\s*$"


def _param_schema(spec: ParamSpec) -> dict[str, Any]:
    base: dict[str, Any]
    if spec.type in ("int", "float"):
        base = {"type": "integer" if spec.type == "int" else "number"}
        if spec.min is not None:
            base["minimum"] = spec.min
        if spec.max is not None:
            base["maximum"] = spec.max
        base = {"anyOf": [base, ref("variable")]}
    elif spec.type == "duration":
        base = ref("duration")
    elif spec.type == "bytes":
        base = ref("bytes")
    elif spec.type == "fraction":
        base = ref("fraction")
    elif spec.type == "bool":
        base = {"anyOf": [{"type": "boolean"}, ref("variable")]}
    elif spec.type == "signal":
        base = {"type": ["string", "integer"]}
    elif spec.type in ("list[str]", "argv"):
        base = {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}]}
    elif spec.type == "any":
        base = {}
    else:
        base = {"type": ["string", "number"]}
    if spec.choices and spec.type in ("str", "int", "float"):
        base = {"anyOf": [{"enum": list(spec.choices)}, ref("variable")]}
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
        then: dict[str, Any] = {"properties": {"params": obj(params, required)}, "required": []}
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


def experiment_schema(fault_params: Mapping[str, FaultSignature | Sequence[ParamSpec]] | None = None,
                      probe_params: Mapping[str, ProbeSignature] | None = None) -> dict[str, Any]:
    """The schema; with ``fault_params``, each fault type's parameters are checked too, and with ``probe_params``
    each plugin probe type's."""
    number = {"anyOf": [{"type": "number"}, ref("variable")]}
    integer = {"anyOf": [{"type": "integer"}, ref("variable")]}
    tolerance_keys = {
        "equals": {},
        "one_of": {"type": "array"},
        "min": ref("scalar"),
        "max": ref("scalar"),
        "range": {"type": "array", "minItems": 2, "maxItems": 2},
        "matches": {"type": "string"},
        "max_ratio": number,
        "min_ratio": number,
        "max_increase": ref("scalar"),
        "max_increase_points": number,
    }
    defs: dict[str, Any] = {
        "variable": VARIABLE,
        "scalar": {"type": ["string", "number", "boolean"]},
        "duration": {"anyOf": [{"type": "number", "minimum": 0}, {"type": "string", "pattern": _DURATION_TEXT}, VARIABLE]},
        "bytes": {
            "anyOf": [
                {"type": "integer", "minimum": 0},
                {"type": "string", "pattern": r"^\s*\d+(\.\d*)?\s*[a-zA-Z]*\s*$"},
                VARIABLE,
            ]
        },
        "fraction": {"anyOf": [{"type": "number"}, {"type": "string", "pattern": r"^\s*\d+(\.\d*)?\s*%?\s*$"}, VARIABLE]},
        "selector": {
            "anyOf": [
                {"type": "string", "minLength": 1},
                obj(
                    {
                        "name": {"type": "string"},
                        "service": {"type": "string"},
                        "project": {"type": "string"},
                        "namespace": {"type": "string"},
                        "owner": {"type": "string"},
                        "labels": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}},
                        "state": {"type": "string"},
                        "count": integer,
                        "percent": ref("fraction"),
                        "max_fraction": ref("fraction"),
                        "max_count": integer,
                        "scope": {"enum": ["project", "any"]},
                        "uncapped": {"type": "boolean"},
                    },
                    minProperties=1,
                ),
            ]
        },
        "tolerance": {
            "anyOf": [
                {"type": ["string", "number", "boolean"]},
                {"type": "array", "minItems": 1},
                obj(tolerance_keys, minProperties=1),
            ]
        },
        "jsonCheck": obj(
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
            "properties": {"type": probe_type(probe_params)},
            "allOf": [*probe_rules(), *plugin_probe_rules(probe_params, _param_schema)],
        },
        **probe_defs(),
        "request": obj(
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
        "faultStep": obj(
            {
                "fault": {"type": "string", "pattern": r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$"},
                "name": {"type": "string"},
                "target": ref("selector"),
                "proxy": {"type": "string"},
                "params": {"type": "object"},
                "start": ref("duration"),
                "duration": ref("duration"),
            },
            ["fault"],
        ),
        "action": obj(
            {
                "type": {"enum": sorted(ACTION_SIGNATURES)},
                "target": ref("selector"),
                "proxy": {"type": "string"},
                "params": {"type": "object"},
            },
            ["type"],
            allOf=_signature_rules("type", ACTION_SIGNATURES),
        ),
        "stopCondition": {
            "anyOf": [
                {"type": "string"},
                obj({"when": {"type": "string"}}, ["when"]),
                obj({"probe": {"type": "string"}, "failures": integer, "consecutive": {"type": "boolean"}}, ["probe"]),
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
    environment = obj(
        {
            "docker_host": {"type": "string"},
            "compose_project": {"type": "string"},
            "toxiproxy_url": {"type": "string", "pattern": "^(https?://|\\$\\{)"},
            "require_label": {"anyOf": [{"type": "string", "pattern": "^[^=]+=.+$"},
                                        {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}}]},
            "kubernetes": obj({key: {"type": "string"} for key in KUBERNETES_KEYS}),
        }
    )
    assert set(environment["properties"]) == set(ENVIRONMENT_KEYS)

    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "chaoskit experiment",
        "description": "A chaoskit experiment file (YAML). Durations: 10s, 500ms, 2m or seconds; any scalar may be ${variable}.",
        **obj(
            {
                "title": {"type": "string", "minLength": 1},
                "description": {"type": "string"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "variables": {
                    "type": "object",
                    "additionalProperties": {"anyOf": [
                        {"type": ["string", "number", "boolean", "null"]},
                        obj({"secret": {"const": True},
                             "env": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$",
                                     "description": "read from this environment variable when it is set"},
                             "default": {"type": ["string", "number", "boolean", "null"]}},
                            anyOf=[{"required": ["secret"]}, {"required": ["env"]}]),
                    ]},
                },
                "environment": environment,
                "seed": integer,
                "phases": obj({name: ref("duration") for name in PHASE_KEYS}),
                "safety": obj({name: ref("duration") for name in SAFETY_KEYS}),
                "load": obj(
                    {
                        "rate": number,
                        "ramp": ref("duration"),
                        "timeout": ref("duration"),
                        "connections": integer,
                        "max_connections": integer,
                        "seed": integer,
                        "users": obj({"count": integer, "zipf_exponent": number}),
                        "requests": {"type": "array", "items": ref("request"), "minItems": 1},
                        "max_lag": ref("duration"),
                        "realtime": {"enum": [True, False, "auto"]},
                        "keep_cpus_awake": {"enum": [True, False, "auto"]},
                        "tls": ref("tls"),
                    },
                    ["rate", "requests"],
                ),
                "steady_state": obj(
                    {
                        "title": {"type": "string"},
                        "probes": {"type": "array", "items": ref("probe"), "minItems": 1},
                    },
                    ["title", "probes"],
                ),
                "method": {"type": "array", "items": ref("faultStep"), "minItems": 1},
                "rollbacks": {"type": "array", "items": ref("action")},
                "stop_conditions": {"type": "array", "items": ref("stopCondition")},
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
    parser.add_argument("--probes", help="MODULE:ATTRIBUTE holding a mapping plugin probe type -> ProbeSignature")
    parser.add_argument("--write", action="store_true", help=f"write {SCHEMA_PATH.name} instead of printing")
    args = parser.parse_args(argv)
    fault_params, probe_params = _named(args.catalogue), _named(args.probes)
    if args.write:
        write_schema(SCHEMA_PATH, fault_params)
    else:
        print(json.dumps(experiment_schema(fault_params, probe_params), indent=2, ensure_ascii=False))


def _named(spec: str | None) -> Any:
    """The object ``MODULE:ATTRIBUTE`` names (called, if it is a function); None for no ``spec``."""
    if not spec:
        return None
    module, _, attribute = spec.partition(":")
    found = getattr(importlib.import_module(module), attribute)
    return found() if callable(found) else found


if __name__ == "__main__":
    _main()
