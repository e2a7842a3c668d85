"""The probes' part of the experiment schema (see :mod:`chaoskit.model.schema`), and the schema's small helpers."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from chaoskit.model.checker import HTTP_METHODS
from chaoskit.model.params import ParamSpec
from chaoskit.model.plugin_probe import PLUGIN_PROBE_KEYS, ProbeSignature
from chaoskit.model.probe_loader import PROBE_KEYS
from chaoskit.model.probes import LOAD_METRICS, PROBE_TYPES
from chaoskit.model.prometheus_probe import TOLERANCE_KEYS as READING_TOLERANCE_KEYS

__all__ = ["PLUGIN_TYPE", "VARIABLE", "obj", "plugin_probe_rules", "probe_defs", "probe_rules", "probe_type", "ref"]

VARIABLE = {"type": "string", "pattern": r"^\$\{[^}]+\}$"}
# A plugin's probe type: namespaced by its package (acme.queue_depth).
PLUGIN_TYPE = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$"


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/$defs/{name}"}


def obj(properties: Mapping[str, Any], required: Sequence[str] = (), **extra: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": dict(properties), "additionalProperties": False}
    if required:
        schema["required"] = list(required)
    schema.update(extra)
    return schema


def probe_defs() -> dict[str, Any]:
    """Definitions the probes refer to: TLS settings, a store command, a write."""
    integer = {"anyOf": [{"type": "integer"}, ref("variable")]}
    return {
        "tls": obj(
            {
                "verify": {"anyOf": [{"type": "boolean"}, ref("variable")]},
                "ca": {"type": "string", "description": "PEM file of the CAs the server is verified against (relative: from the experiment's directory)"},
                "cert": {"type": "string", "description": "PEM file of a client certificate (and its key)"},
                "key": {"type": "string", "description": "PEM file of the client certificate's key"},
                "server_name": {"type": "string", "description": "name sent (SNI) and verified instead of the "
                                "URL's host"},
            }
        ),
        "storeCommand": obj(
            {
                "target": ref("selector"),
                "cmd": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}],
                        "description": "run in the first matched container; {ids} is a comma-separated batch of "
                        "write ids, and the output lists those found"},
                "batch": integer,
            },
            ["target", "cmd"],
        ),
        "writeRequest": obj(
            {
                "url": {"type": "string"},
                "method": {"type": "string"},
                "json": {},
                "headers": {"type": "object"},
                "capture": {"type": "string", "description": "the key of the written id in the answer (id)"},
            },
            ["url"],
        ),
    }


def _write_probe_properties() -> dict[str, tuple[dict[str, Any], list[str]]]:
    """The write audits' keys (``writes.*``)."""
    duration, integer = ref("duration"), {"anyOf": [{"type": "integer", "minimum": 1}, ref("variable")]}
    request = {"type": "string", "description": "the load request whose captured ids are checked; "
               "default: the one request with capture:"}
    return {
        "writes.visible": (
            {
                "write": ref("writeRequest"),
                "read": {"type": "string", "description": "URL polled until its answer holds the write's id "
                         "({id} in it is replaced by the id)"},
                "within": duration,
                "poll_every": duration,
                "timeout": duration,
                "tls": ref("tls"),
                "tolerance": ref("tolerance"),
            },
            ["write", "read", "tolerance"],
        ),
        "writes.readable": (
            {
                "request": request,
                "url": {"type": "string", "description": "URL template each write is read back at ({id})"},
                "lost_status": {"anyOf": [{"type": "integer"}, {"type": "array", "items": {"type": "integer"}}]},
                "stored": ref("storeCommand"),
                "budget": duration,
                "workers": integer,
                "timeout": duration,
                "tls": ref("tls"),
                "tolerance": ref("tolerance"),
            },
            ["url", "tolerance"],
        ),
        "writes.pending": (
            {
                "request": request,
                "pending": ref("storeCommand"),
                "within": duration,
                "poll_every": duration,
                "tolerance": ref("tolerance"),
            },
            ["pending", "tolerance"],
        ),
    }


def _reading_tolerance(durations: bool = False) -> dict[str, Any]:
    """The tolerance of readings (a Prometheus query's, a plugin's numbers); with ``durations``, 50ms is a bound."""
    number = ref("duration") if durations else {"anyOf": [{"type": "number"}, ref("variable")]}
    ratio = {"anyOf": [{"type": "number", "exclusiveMinimum": 0}, ref("variable")]}
    bounds = {key: ratio if key.endswith("_ratio") else number for key in READING_TOLERANCE_KEYS}
    return {"anyOf": [number, obj(bounds, minProperties=1)],
            "description": "a number (the max), or bounds on each reading (min, max) and on its "
                           "shift from the baseline (max_ratio, min_ratio, max_increase)"}


def _prometheus_properties() -> tuple[dict[str, Any], list[str]]:
    """A ``prometheus`` probe: its tolerance holds for the query's scalar or for each series of its vector."""
    return (
        {
            "url": {"type": "string", "pattern": "^(https?://|\\$\\{)",
                    "description": "the Prometheus server's base URL"},
            "query": {"type": "string", "minLength": 1, "pattern": "\\S",
                      "description": "PromQL giving a scalar or an instant vector"},
            "timeout": ref("duration"),
            "tolerance": _reading_tolerance(),
        },
        ["url", "query", "tolerance"],
    )


def probe_type(probe_params: Mapping[str, ProbeSignature] | None) -> dict[str, Any]:
    """A probe's ``type``: a built-in one or a plugin's (any namespaced name without the plugins' signatures)."""
    if probe_params is None:
        return {"anyOf": [{"enum": list(PROBE_TYPES)}, {"type": "string", "pattern": PLUGIN_TYPE}]}
    return {"enum": [*PROBE_TYPES, *sorted(probe_params)]}


def plugin_probe_rules(probe_params: Mapping[str, ProbeSignature] | None,
                       param_schema: Callable[[ParamSpec], dict[str, Any]]) -> list[dict[str, Any]]:
    """Plugin probes: each known type's parameters (``param_schema`` describes one), or any namespaced type's shape."""
    common = {"name": {"type": "string"}, "type": {"type": "string"}, "every": ref("duration")}
    if probe_params is None:
        shape = {**common, "params": {"type": "object"}, "tolerance": {}}
        assert set(shape) == set(PLUGIN_PROBE_KEYS)
        return [{"if": {"properties": {"type": {"not": {"enum": list(PROBE_TYPES)}}}, "required": ["type"]},
                 "then": {"properties": shape, "additionalProperties": False}}]
    rules = []
    for name, signature in sorted(probe_params.items()):
        params = obj({p.name: param_schema(p) for p in signature.params},
                     [p.name for p in signature.params if p.required])
        props: dict[str, Any] = {**common, "params": params}
        required = ["params"] if params.get("required") else []
        if signature.reading != "pass_fail":
            props["tolerance"] = _reading_tolerance(durations=signature.reading == "duration")
            required.append("tolerance")
        rules.append({"if": {"properties": {"type": {"const": name}}, "required": ["type"]},
                      "then": {"properties": props, "required": required, "additionalProperties": False}})
    return rules


def probe_rules() -> list[dict[str, Any]]:
    common = {"name": {"type": "string"}, "type": {"type": "string"}, "every": ref("duration")}
    per_type: dict[str, tuple[dict[str, Any], list[str]]] = {
        "http": (
            {
                "url": {"type": "string"},
                "method": {"enum": [*HTTP_METHODS, *(m.lower() for m in HTTP_METHODS)]},
                "timeout": ref("duration"),
                "headers": {"type": "object", "additionalProperties": {"type": ["string", "number"]}},
                "json": {},
                "tls": ref("tls"),
                "tolerance": obj(
                    {
                        "status": ref("tolerance"),
                        "latency": ref("tolerance"),
                        "body": {"type": "string"},
                        "json": {"anyOf": [ref("jsonCheck"), {"type": "array", "items": ref("jsonCheck")}]},
                    }
                ),
            },
            ["url"],
        ),
        "command": (
            {
                "target": ref("selector"),
                "cmd": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}]},
                "timeout": ref("duration"),
                "tolerance": obj({"exit_code": ref("tolerance"), "output": {"type": "string"}}),
            },
            ["target", "cmd"],
        ),
        "container": (
            {"target": ref("selector"), "tolerance": obj({"state": ref("tolerance"), "health": ref("tolerance")})},
            ["target"],
        ),
        "toxiproxy": (
            {
                "proxy": {"type": "string"},
                "tolerance": obj({"enabled": ref("tolerance"), "toxics": ref("tolerance")}),
            },
            ["proxy"],
        ),
        "load": ({"metric": {"enum": list(LOAD_METRICS)}, "tolerance": ref("tolerance")}, ["metric", "tolerance"]),
        **_write_probe_properties(),
        "prometheus": _prometheus_properties(),
    }
    rules = []
    for name, (properties, required) in per_type.items():
        props = {**common, **properties}
        if "every" not in PROBE_KEYS[name][0]:
            props.pop("every")
        assert set(props) == {"name", "type", "tolerance", *PROBE_KEYS[name][0]}, name
        rules.append(
            {
                "if": {"properties": {"type": {"const": name}}, "required": ["type"]},
                "then": {"properties": props, "required": required, "additionalProperties": False},
            }
        )
    return rules


