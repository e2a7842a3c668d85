"""The steady-state hypothesis: its probes, their checks and the tolerances that judge them."""

from __future__ import annotations

import re
from typing import Any, cast

from chaoskit.model.checker import describe_kind, suggest
from chaoskit.model.load import LoadSpec
from chaoskit.model.params import ParamSpec
from chaoskit.model.probes import (
    LATENCY_METRICS,
    LOAD_METRICS,
    PROBE_TYPES,
    SAMPLE_PROBE_TYPES,
    CommandProbe,
    ContainerProbe,
    HttpProbe,
    Hypothesis,
    LoadProbe,
    Probe,
    SampleProbe,
    ToxiproxyProbe,
)
from chaoskit.model.source import Located
from chaoskit.model.stack_probes import STACK_PROBE_SIGNATURES, stack_probe_problems
from chaoskit.model.target_loader import TargetChecker
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
    Tolerance,
    valid_json_path,
)
from chaoskit.model.units import parse_fraction

__all__ = ["ProbeChecker"]

# Keys of a value tolerance, by the kind of value it judges.
_NUMERIC_TOLERANCE = ("equals", "one_of", "min", "max", "range", "max_ratio", "min_ratio", "max_increase")
_TOLERANCE_KEYS: dict[str, tuple[str, ...]] = {
    "int": _NUMERIC_TOLERANCE,
    "number": _NUMERIC_TOLERANCE,
    "duration": _NUMERIC_TOLERANCE,
    "fraction": (*_NUMERIC_TOLERANCE, "max_increase_points"),
    "text": ("equals", "one_of", "matches"),
    "bool": ("equals",),
    "any": ("equals", "one_of", "min", "max", "range", "matches"),
}
# Per probe type: subject -> (value kind, what a bare value means).
_SUBJECTS: dict[str, dict[str, tuple[str, str]]] = {
    "http": {"status": ("int", "equals"), "latency": ("duration", "max"), "body": ("text", "regex")},
    "command": {"exit_code": ("int", "equals"), "output": ("text", "regex")},
    "container": {"state": ("text", "equals"), "health": ("text", "equals")},
    "toxiproxy": {"enabled": ("bool", "equals"), "toxics": ("int", "equals")},
}
# Checks a probe gets unless its tolerance names the same subject.
_DEFAULT_CHECKS: dict[str, Check] = {
    "http": Check("status", InRange(200, 299)),
    "command": Check("exit_code", Equals(0)),
    "container": Check("state", Equals("running")),
    "toxiproxy": Check("enabled", Equals(True)),
}
_PROBE_KEYS: dict[str, tuple[str, ...]] = {
    "http": ("url", "method", "timeout", "headers", "json"),
    "command": ("target", "cmd", "timeout"),
    "container": ("target",),
    "toxiproxy": ("proxy",),
    "load": ("metric",),
    **{t: ("params",) for t in SAMPLE_PROBE_TYPES},
}
_SAMPLE_KIND = {"timeline.fanout_lag": "duration", "timeline.durability": "number",
                "timeline.fanout_complete": "number"}


class ProbeChecker(TargetChecker):
    """The checker, taught ``steady_state:``: its probes and their tolerances."""

    def hypothesis(
        self, node: Located, project: str | None, has_load: bool, load: LoadSpec | None = None
    ) -> Hypothesis | None:
        keys = self.mapping(node, ("title", "probes"), required=("title", "probes"))
        if keys is None:
            return None
        before = self.count()
        title = self.text(keys["title"]) if "title" in keys else None
        probes: list[Probe | None] = []
        if "probes" in keys:
            items = self.items(keys["probes"], nonempty=True)
            for item in items or []:
                probes.append(self.probe(item, project, has_load, load))
        seen: dict[str, Located] = {}
        items_given = keys["probes"].value if "probes" in keys and isinstance(keys["probes"].value, list) else []
        for item, probe in zip(items_given, probes, strict=False):
            if probe is not None:
                if probe.name in seen:
                    self.problem(
                        item,
                        f"duplicate probe name {probe.name!r} (first at line {seen[probe.name].line}); names must be unique",
                        path=item.child_path("name"),
                    )
                seen.setdefault(probe.name, item)
        if self.count() != before:
            return None
        return Hypothesis(title, tuple(probes))  # type: ignore[arg-type]

    def probe(self, node: Located, project: str | None, has_load: bool, load: LoadSpec | None = None) -> Probe | None:
        if not isinstance(node.value, dict):
            self.problem(node, f"expected a probe mapping with name, type and tolerance; got {describe_kind(node.value)}")
            return None
        type_node = node.value.get("type")
        if type_node is None or type_node.value is None:
            self.problem(
                node, f"missing required key 'type' (one of {', '.join(PROBE_TYPES)})", path=node.child_path("type")
            )
            return None
        kind = type_node.value
        if kind not in PROBE_TYPES:
            self.problem(
                type_node,
                f"unknown probe type {kind!r}{suggest(str(kind), PROBE_TYPES)} (expected one of {', '.join(PROBE_TYPES)})",
            )
            return None
        allowed = ("name", "type", "tolerance", *_PROBE_KEYS[kind], *(("every",) if kind != "load" else ()))
        required = {
            "http": ("url",),
            "command": ("target", "cmd"),
            "container": ("target",),
            "toxiproxy": ("proxy",),
            "load": ("metric", "tolerance"),
        }.get(kind, ("tolerance",))
        keys = self.mapping(node, allowed, required=required)
        if keys is None:
            return None
        before = self.count()
        every = self.duration(keys["every"], positive=True) if "every" in keys else None
        name = self.text(keys["name"]) if "name" in keys else None
        tolerance = keys.get("tolerance")
        probe: Probe | None = None
        if kind == "http":
            url = self.url(keys["url"]) if "url" in keys else None
            method = self.http_method(keys["method"]) if "method" in keys else "GET"
            timeout = self.duration(keys["timeout"], positive=True) if "timeout" in keys else 2.0
            headers = self.string_map(keys["headers"]) if "headers" in keys else {}
            checks = self.subject_checks(tolerance, kind)
            if self.count() == before:
                probe = HttpProbe(
                    name or f"http {url}",
                    cast(str, url),
                    checks,
                    cast(str, method),
                    cast(float, timeout),
                    cast(dict[str, str], headers),
                    keys["json"].plain() if "json" in keys else None,
                    every,
                )
        elif kind == "command":
            target = self.selector(keys["target"], project) if "target" in keys else None
            cmd = self.param_value(keys["cmd"], ParamSpec("cmd", "argv")) if "cmd" in keys else None
            timeout = self.duration(keys["timeout"], positive=True) if "timeout" in keys else 5.0
            checks = self.subject_checks(tolerance, kind)
            if self.count() == before:
                probe = CommandProbe(name or f"command {cmd}", target, cmd, checks, timeout, every)  # type: ignore[arg-type]
        elif kind == "container":
            target = self.selector(keys["target"], project, default_state=None) if "target" in keys else None
            checks = self.subject_checks(tolerance, kind)
            if self.count() == before:
                probe = ContainerProbe(name or f"container {target}", target, checks, every)  # type: ignore[arg-type]
        elif kind == "toxiproxy":
            proxy = self.text(keys["proxy"]) if "proxy" in keys else None
            checks = self.subject_checks(tolerance, kind)
            if self.count() == before:
                probe = ToxiproxyProbe(name or f"toxiproxy {proxy}", proxy, checks, every)  # type: ignore[arg-type]
        elif kind == "load":
            if not has_load:
                self.problem(type_node, "a load probe needs a load: block that says what load to apply")
            metric = keys["metric"].value if "metric" in keys else None
            if metric is not None and metric not in LOAD_METRICS:
                self.problem(
                    keys["metric"],
                    f"unknown metric {metric!r}{suggest(str(metric), LOAD_METRICS)} (expected one of {', '.join(LOAD_METRICS)})",
                )
            elif tolerance is not None and metric is not None:
                value_kind = (
                    "duration" if metric in LATENCY_METRICS else "fraction" if metric == "error_rate" else "number"
                )
                judged = self.tolerance(tolerance, value_kind, bare="max")
                if self.count() == before:
                    probe = LoadProbe(name or metric, metric, (Check(metric, judged),))  # type: ignore[arg-type]
        else:
            _, params = self.target_and_params(node, keys, kind, STACK_PROBE_SIGNATURES[kind], project, None)
            if self.count() == before and not (has_load and load is None):  # else the load's problems say it
                self.stack_probe_needs(node, kind, params, load, project)
            judged = self.tolerance(tolerance, _SAMPLE_KIND[kind], bare="max") if tolerance is not None else None
            if self.count() == before:
                probe = SampleProbe(name or kind, kind, params, (Check("value", judged),), every)  # type: ignore[arg-type]
        return probe if self.count() == before else None

    def stack_probe_needs(
        self, node: Located, kind: str, params: dict[str, Any], load: LoadSpec | None, project: str | None
    ) -> None:
        """What the probe needs from the rest of the experiment (a capturing request, a compose project)."""
        params_node = node.value.get("params")
        given = params_node.value if params_node is not None and isinstance(params_node.value, dict) else {}
        for key, message in stack_probe_problems(kind, params, load, project):
            if key in given:
                self.problem(given[key], message)
            else:
                where = params_node or node
                self.problem(where, message, path=node.child_path(f"params.{key}") if key else where.path)

    def subject_checks(self, node: Located | None, probe_type: str) -> tuple[Check, ...]:
        """The checks of an http/command/container/toxiproxy probe, defaults added."""
        subjects = _SUBJECTS[probe_type]
        checks: list[Check] = []
        if node is not None:
            keys = self.mapping(node, (*subjects, *(("json",) if probe_type == "http" else ())))
            for subject, child in (keys or {}).items():
                if subject == "json":
                    checks.extend(self.json_checks(child))
                    continue
                kind, bare = subjects[subject]
                judged = self.tolerance(child, kind, bare)
                if judged is not None:
                    checks.append(Check(subject, judged))
        default = _DEFAULT_CHECKS[probe_type]
        if all(c.subject != default.subject for c in checks):
            checks.insert(0, default)
        return tuple(checks)

    def json_checks(self, node: Located) -> list[Check]:
        entries = node.value if isinstance(node.value, list) else [node]
        checks = []
        for entry in entries:
            if not isinstance(entry.value, dict):
                self.problem(
                    entry, f"expected a mapping like {{path: data.status, equals: ok}}; got {describe_kind(entry.value)}"
                )
                continue
            path_node = entry.value.get("path")
            rest = {k: v for k, v in entry.value.items() if k != "path"}
            if path_node is None or not isinstance(path_node.value, str) or not valid_json_path(path_node.value):
                where = path_node or entry
                self.problem(
                    where, "expected path: a dotted JSON path like data.items[0].id", path=entry.child_path("path")
                )
                continue
            if not rest:
                self.problem(entry, f"expected a tolerance next to path ({', '.join(_TOLERANCE_KEYS['any'])})")
                continue
            judged = self.tolerance(Located(rest, entry.path, entry.line, entry.substituted), "any", "equals")
            if judged is not None:
                checks.append(Check("body", JsonPath(path_node.value, judged)))
        return checks

    def tolerance(self, node: Located, kind: str, bare: str) -> Tolerance | None:
        """A value tolerance: a bare value, a list (one of), or a mapping of tolerance keys."""
        if isinstance(node.value, list):
            values = [self.tolerance_value(item, kind) for item in node.value]
            if not values:
                self.problem(node, "expected at least one value")
            return OneOf(tuple(values)) if values and all(v is not None for v in values) else None
        if not isinstance(node.value, dict):
            if bare == "regex":
                return self.regex(node)
            value = self.tolerance_value(node, kind)
            if value is None:
                return None
            return Threshold(max=value) if bare == "max" else Equals(value)
        keys = self.mapping(node, _TOLERANCE_KEYS[kind])
        if keys is None:
            return None
        if not keys:
            self.problem(node, f"expected at least one of {', '.join(_TOLERANCE_KEYS[kind])}")
            return None
        before = self.count()
        parts: list[Tolerance] = []
        if "equals" in keys:
            parts.append(Equals(self.tolerance_value(keys["equals"], kind)))
        if "one_of" in keys:
            one_of = (
                self.tolerance(keys["one_of"], kind, "equals")
                if isinstance(keys["one_of"].value, list)
                else OneOf((self.tolerance_value(keys["one_of"], kind),))
            )
            if one_of is not None:
                parts.append(one_of)
        if "min" in keys or "max" in keys:
            low = self.tolerance_number(keys["min"], kind) if "min" in keys else None
            high = self.tolerance_number(keys["max"], kind) if "max" in keys else None
            if low is not None and high is not None and low > high:
                self.problem(keys["min"], f"min {low:g} is above max {high:g}")
            parts.append(Threshold(low, high))
        if "range" in keys:
            bounds = keys["range"].value
            if not isinstance(bounds, list) or len(bounds) != 2:
                self.problem(keys["range"], f"expected [low, high]; got {describe_kind(bounds)}")
            else:
                low, high = (self.tolerance_number(b, kind) for b in bounds)
                if low is not None and high is not None and low > high:
                    self.problem(keys["range"], f"low {low:g} is above high {high:g}")
                parts.append(InRange(low, high))  # type: ignore[arg-type]
        if "matches" in keys:
            regex = self.regex(keys["matches"])
            if regex is not None:
                parts.append(regex)
        relative: dict[str, float | None] = {}
        for key in ("max_ratio", "min_ratio"):
            if key in keys:
                relative[key] = self.number(keys[key], above=0)
        if "max_increase" in keys:
            relative["max_increase"] = self.tolerance_number(keys["max_increase"], kind)
        if "max_increase_points" in keys:
            points = self.number(keys["max_increase_points"], minimum=0)
            if "max_increase" in keys:
                self.problem(keys["max_increase_points"], "give max_increase or max_increase_points, not both")
            relative["max_increase"] = points / 100 if points is not None else None
        if relative:
            parts.append(Relative(**relative))  # type: ignore[arg-type]  # None only with a problem recorded
        if self.count() != before:
            return None
        return parts[0] if len(parts) == 1 else AllOf(tuple(parts))

    def tolerance_value(self, node: Located, kind: str) -> Any:
        if kind in ("int", "number", "duration", "fraction"):
            return self.tolerance_number(node, kind)
        if kind == "text":
            return self.text(node, nonempty=False)
        if kind == "bool":
            return self.boolean(node)
        return node.plain()

    def tolerance_number(self, node: Located, kind: str) -> float | None:
        if kind == "duration":
            return self.duration(node)
        if kind == "fraction":
            return self.convert(node, parse_fraction)
        return self.number(node, integer=kind == "int")

    def regex(self, node: Located) -> Regex | None:
        pattern = self.text(node)
        if pattern is None:
            return None
        try:
            re.compile(pattern)
        except re.error as exc:
            self.problem(node, f"not a valid regular expression: {exc}")
            return None
        return Regex(pattern)
