"""Load and validate an experiment file: every problem found, each with file:line and key path.

    experiment = load_experiment("experiments/cache-down.yaml",
                                 variables=parse_cli_vars(["latency=300"]),
                                 fault_params=catalogue_signatures)

Validation collects *all* problems (unknown keys with a did-you-mean, wrong
types, bad durations, undefined variables, unknown fault types, bad fault
parameters and those of the sample stack's probes, inconsistent timings,
references to probes or load requests that do not exist) and
raises :class:`chaoskit.errors.ExperimentInvalid` with the list; nothing is
built from an invalid file, so an invalid file applies no fault.

``fault_params`` maps each fault type to its :class:`FaultSignature` (or a bare
list of ParamSpecs); without it, fault types and parameters are checked only
for shape (what ``chaoskit validate`` does before the catalogue is wired in).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from os import fspath
from pathlib import Path
from typing import Any, cast

from chaoskit.errors import ExperimentInvalid, Problem
from chaoskit.model.actions import ACTION_SIGNATURES
from chaoskit.model.experiment import (
    DEFAULT_TOXIPROXY_URL,
    Action,
    Environment,
    Experiment,
    FaultStep,
    Phases,
)
from chaoskit.model.load import LoadSpec, RequestSpec, UserDistribution
from chaoskit.model.params import FaultSignature, ParamSpec, coerce_param, param_table
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
from chaoskit.model.source import Located, read_source
from chaoskit.model.stack_probes import STACK_PROBE_SIGNATURES, stack_probe_problems
from chaoskit.model.stop import MetricStop, ProbeStop, StopCondition, parse_metric_stop
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
from chaoskit.model.units import parse_duration, parse_fraction
from chaoskit.targets.selector import SELECTOR_KEYS, Selector, parse_selector

# Checker, describe_kind and suggest are shared with the other file formats built on the
# same located tree (the monkey config), so their problems read alike.
__all__ = ["Checker", "describe_kind", "load_experiment", "parse_experiment", "suggest"]

TOP_KEYS = (
    "title",
    "description",
    "tags",
    "variables",
    "environment",
    "seed",
    "phases",
    "load",
    "steady_state",
    "method",
    "rollbacks",
    "stop_conditions",
)
ENVIRONMENT_KEYS = ("docker_host", "compose_project", "toxiproxy_url")
PHASE_KEYS = ("warmup", "baseline", "fault", "recovery")
LOAD_KEYS = ("rate", "ramp", "timeout", "connections", "max_connections", "seed", "users", "requests", "max_lag")
REQUEST_KEYS = ("name", "url", "method", "weight", "json", "headers", "ok_status", "capture")
STEP_KEYS = ("fault", "name", "target", "proxy", "params", "start", "duration")
ACTION_KEYS = ("type", "target", "proxy", "params")
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_FAULT_NAME = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*\Z")

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


def load_experiment(
    path: str | Path,
    *,
    variables: Mapping[str, Any] | None = None,
    fault_params: Mapping[str, FaultSignature | Sequence[ParamSpec]] | None = None,
) -> Experiment:
    """Read, substitute, validate and build; ``ExperimentInvalid`` lists every problem."""
    source = fspath(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ExperimentInvalid([Problem(source, None, "", f"cannot read the file: {exc}")]) from exc
    return parse_experiment(text, source=source, variables=variables, fault_params=fault_params)


def parse_experiment(
    text: str,
    *,
    source: str = "<string>",
    variables: Mapping[str, Any] | None = None,
    fault_params: Mapping[str, FaultSignature | Sequence[ParamSpec]] | None = None,
) -> Experiment:
    """Like :func:`load_experiment`, from text (``source`` names it in problems)."""
    root, resolved, problems = read_source(text, source, variables)
    checker = Checker(source, problems, None if fault_params is None else param_table(fault_params))
    experiment = checker.experiment(root, resolved) if root is not None else None
    if checker.problems or experiment is None:
        raise ExperimentInvalid(sorted(checker.problems, key=lambda p: (p.line or 0, p.key)))
    return experiment


def describe_kind(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"the string {value!r}" if len(value) <= 60 else "a long string"
    return f"{type(value).__name__} {value!r}"


def suggest(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


class Checker:
    """Walks the located tree, builds the dataclasses, and records every problem on the way.

    Each ``_build`` method returns None when its part had a problem; the caller
    carries on with the rest so one run reports everything.
    """

    def __init__(self, source: str, problems: list[Problem], faults: dict[str, FaultSignature] | None):
        self.source = source
        self.problems = problems
        self.faults = faults
        self._suppressed = 0  # problems not shown because their cause is already reported

    # -- recording -----------------------------------------------------------------

    def problem(self, node: Located, message: str, path: str | None = None) -> None:
        if node.broken:
            # Its undefined variable is already reported; count it so the part is still invalid.
            self._suppressed += 1
            return
        if node.substituted:
            message += f" (after variable substitution: {node.value!r})"
        self.problems.append(Problem(self.source, node.line, path if path is not None else node.path, message))

    def count(self) -> int:
        return len(self.problems) + self._suppressed

    # -- shapes ----------------------------------------------------------------------

    def mapping(self, node: Located, keys: Sequence[str], required: Sequence[str] = ()) -> dict[str, Located] | None:
        if not isinstance(node.value, dict):
            self.problem(node, f"expected a mapping with keys {', '.join(keys)}; got {describe_kind(node.value)}")
            return None
        for key, child in node.value.items():
            if key not in keys:
                self.problem(child, f"unknown key{suggest(key, keys)} (expected one of {', '.join(keys)})")
        for key in required:
            if key not in node.value or node.value[key].value is None:
                self.problem(node, f"missing required key '{key}'", path=node.child_path(key))
        return {k: v for k, v in node.value.items() if k in keys and v.value is not None}

    def items(self, node: Located, *, nonempty: bool = False) -> list[Located] | None:
        if not isinstance(node.value, list):
            self.problem(node, f"expected a list; got {describe_kind(node.value)}")
            return None
        if nonempty and not node.value:
            self.problem(node, "expected at least one item")
            return None
        return node.value

    def convert(self, node: Located, parse: Callable[[Any], Any]) -> Any:
        """``parse(node.value)``; a ValueError becomes a problem (its message says what was expected)."""
        try:
            return parse(node.value)
        except ValueError as exc:
            self.problem(node, str(exc))
            return None

    def text(self, node: Located, *, nonempty: bool = True) -> str | None:
        if not isinstance(node.value, str) or (nonempty and not node.value.strip()):
            self.problem(node, f"expected {'a non-empty' if nonempty else 'a'} string; got {describe_kind(node.value)}")
            return None
        return node.value

    def url(self, node: Located) -> str | None:
        value = self.text(node)
        if value is not None and not re.match(r"https?://[^/\s]+", value):
            self.problem(node, f"expected an http:// or https:// URL; got {value!r}")
            return None
        return value

    def number(
        self, node: Located, *, minimum: float | None = None, above: float | None = None, integer: bool = False
    ) -> Any:
        value = node.value
        what = "an integer" if integer else "a number"
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and int(value) != value):
            self.problem(node, f"expected {what}; got {describe_kind(value)}")
            return None
        if minimum is not None and value < minimum:
            self.problem(node, f"expected {what} >= {minimum:g}; got {value!r}")
            return None
        if above is not None and value <= above:
            self.problem(node, f"expected {what} > {above:g}; got {value!r}")
            return None
        return int(value) if integer else float(value)

    def duration(self, node: Located, *, positive: bool = False) -> float | None:
        seconds = self.convert(node, parse_duration)
        if seconds is not None and positive and seconds <= 0:
            self.problem(node, f"expected a duration > 0; got {node.value!r}")
            return None
        return seconds

    def strings(self, node: Located) -> tuple[str, ...] | None:
        items = self.items(node)
        if items is None:
            return None
        before = self.count()
        values = tuple(self.text(item) for item in items)
        return values if self.count() == before else None  # type: ignore[return-value]

    def string_map(self, node: Located) -> dict[str, str] | None:
        if not isinstance(node.value, dict):
            self.problem(node, f"expected a mapping of strings; got {describe_kind(node.value)}")
            return None
        result = {}
        for key, child in node.value.items():
            if isinstance(child.value, bool):
                result[key] = str(child.value).lower()  # `chaos.monkey: true` means the label value "true"
            elif not isinstance(child.value, (str, int, float)):
                self.problem(child, f"expected a string; got {describe_kind(child.value)}")
            else:
                result[key] = str(child.value)
        return result

    # -- the experiment ----------------------------------------------------------------

    def experiment(self, root: Located, variables: dict[str, Any]) -> Experiment | None:
        top = self.mapping(root, TOP_KEYS, required=("title", "steady_state", "method"))
        if top is None:
            return None
        title = self.text(top["title"]) if "title" in top else None
        description = self.text(top["description"], nonempty=False) if "description" in top else ""
        tags = self.strings(top["tags"]) if "tags" in top else ()
        environment = self.environment(top["environment"]) if "environment" in top else Environment()
        seed = self.number(top["seed"], minimum=0, integer=True) if "seed" in top else None
        phases = self.phases(top["phases"]) if "phases" in top else Phases()
        load = self.load(top["load"]) if "load" in top else None
        project = environment.compose_project if environment else None
        hypothesis = (
            self.hypothesis(top["steady_state"], project, has_load="load" in top, load=load)
            if "steady_state" in top
            else None
        )
        method = self.method(top["method"], phases, project) if "method" in top else None
        rollbacks = self.rollbacks(top["rollbacks"], project) if "rollbacks" in top else ()
        stops = (
            self.stop_conditions(top["stop_conditions"], hypothesis, has_load="load" in top)
            if "stop_conditions" in top
            else ()
        )
        if self.count():
            return None
        assert title is not None and hypothesis is not None and method is not None
        return Experiment(
            title=title,
            description=description or "",
            tags=tags or (),
            environment=environment or Environment(),
            variables=variables,
            steady_state=hypothesis,
            load=load,
            method=method,
            rollbacks=rollbacks or (),
            phases=phases or Phases(),
            stop_conditions=stops or (),
            seed=seed,
            source=self.source,
        )

    def environment(self, node: Located) -> Environment | None:
        keys = self.mapping(node, ENVIRONMENT_KEYS)
        if keys is None:
            return None
        before = self.count()
        docker_host = self.text(keys["docker_host"]) if "docker_host" in keys else None
        project = self.text(keys["compose_project"]) if "compose_project" in keys else None
        toxiproxy = self.url(keys["toxiproxy_url"]) if "toxiproxy_url" in keys else DEFAULT_TOXIPROXY_URL
        if docker_host is not None and not re.match(r"(unix|tcp|ssh|npipe)://", docker_host):
            self.problem(keys["docker_host"], f"expected unix://, tcp:// or ssh:// address; got {docker_host!r}")
        if self.count() != before:
            return None
        return Environment(docker_host, project, (toxiproxy or DEFAULT_TOXIPROXY_URL).rstrip("/"))

    def phases(self, node: Located) -> Phases | None:
        keys = self.mapping(node, PHASE_KEYS)
        if keys is None:
            return None
        before = self.count()
        values = {name: self.duration(keys[name], positive=name in ("baseline", "fault")) for name in keys}
        if self.count() != before:
            return None
        return Phases(**values)  # type: ignore[arg-type]

    # -- load --------------------------------------------------------------------------

    def load(self, node: Located) -> LoadSpec | None:
        keys = self.mapping(node, LOAD_KEYS, required=("rate", "requests"))
        if keys is None:
            return None
        before = self.count()
        rate = self.number(keys["rate"], above=0) if "rate" in keys else None
        ramp = self.duration(keys["ramp"]) if "ramp" in keys else 0.0
        timeout = self.duration(keys["timeout"], positive=True) if "timeout" in keys else 2.0
        connections = self.number(keys["connections"], minimum=1, integer=True) if "connections" in keys else 64
        max_connections = (
            self.number(keys["max_connections"], minimum=1, integer=True)
            if "max_connections" in keys
            else max(LoadSpec.max_connections, connections or 1)
        )
        if connections is not None and max_connections is not None and max_connections < connections:
            self.problem(keys["max_connections"], f"expected max_connections >= connections ({connections})")
        seed = self.number(keys["seed"], minimum=0, integer=True) if "seed" in keys else 0
        max_lag = self.duration(keys["max_lag"], positive=True) if "max_lag" in keys else None
        users = self.users(keys["users"]) if "users" in keys else UserDistribution()
        requests = None
        if "requests" in keys:
            items = self.items(keys["requests"], nonempty=True)
            if items is not None:
                requests = tuple(self.request(item, i) for i, item in enumerate(items))
        if self.count() != before:
            return None
        # No problem was recorded, so every part was built (none is None).
        return LoadSpec(
            rate=cast(float, rate),
            requests=cast(tuple[RequestSpec, ...], requests),
            timeout_s=cast(float, timeout),
            ramp_s=cast(float, ramp),
            connections=cast(int, connections),
            max_connections=cast(int, max_connections),
            users=cast(UserDistribution, users),
            seed=cast(int, seed),
            max_lag_s=max_lag,
        )

    def users(self, node: Located) -> UserDistribution | None:
        keys = self.mapping(node, ("count", "zipf_exponent"))
        if keys is None:
            return None
        count = self.number(keys["count"], minimum=1, integer=True) if "count" in keys else UserDistribution.count
        zipf = (
            self.number(keys["zipf_exponent"], minimum=0) if "zipf_exponent" in keys else UserDistribution.zipf_exponent
        )
        return UserDistribution(count, zipf) if count is not None and zipf is not None else None

    def request(self, node: Located, index: int) -> RequestSpec | None:
        keys = self.mapping(node, REQUEST_KEYS, required=("url",))
        if keys is None:
            return None
        before = self.count()
        url = self.url(keys["url"]) if "url" in keys else None
        method = self.http_method(keys["method"]) if "method" in keys else "GET"
        name = self.text(keys["name"]) if "name" in keys else f"{method} {url}"
        weight = self.number(keys["weight"], above=0) if "weight" in keys else 1.0
        headers = self.string_map(keys["headers"]) if "headers" in keys else {}
        body = keys["json"].plain() if "json" in keys else None
        # A top-level key of each successful JSON answer to keep (the ids of posted tweets, for durability).
        capture = self.text(keys["capture"]) if "capture" in keys else None
        ok_status: tuple[int, ...] | None = (200, 201)
        if "ok_status" in keys:
            raw = keys["ok_status"]
            elements = raw.value if isinstance(raw.value, list) else [raw]
            statuses = [self.number(e, minimum=100, integer=True) for e in elements]
            ok_status = tuple(statuses) if all(s is not None for s in statuses) and statuses else None  # type: ignore[arg-type]
            if not statuses:
                self.problem(raw, "expected a status code or a list of them")
        if self.count() != before:
            return None
        return RequestSpec(name, url, method, weight, body, headers or {}, ok_status, capture)  # type: ignore[arg-type]

    def http_method(self, node: Located) -> str | None:
        value = self.text(node)
        if value is not None and value.upper() not in HTTP_METHODS:
            self.problem(node, f"expected an HTTP method ({', '.join(HTTP_METHODS)}); got {value!r}")
            return None
        return value.upper() if value else None

    # -- selectors ---------------------------------------------------------------------

    def selector(self, node: Located, project: str | None, default_state: str | None = "running") -> Selector | None:
        if isinstance(node.value, str):
            try:
                selector = parse_selector(node.value)
            except ValueError as exc:
                self.problem(node, str(exc))
                return None
            # The string form always says its state; "running" is the default only when not written.
            if "state=" not in node.value:
                selector = Selector(**{**selector.as_dict(), "state": default_state})
            return selector.with_default_project(project)
        before = self.count()
        keys = self.mapping(node, SELECTOR_KEYS)
        if keys is None:
            return None
        values: dict[str, Any] = {"state": default_state}
        for key in ("name", "service", "project"):
            if key in keys:
                values[key] = self.text(keys[key])
        if "state" in keys:
            state = self.text(keys["state"])
            values["state"] = None if state == "any" else state
        if "labels" in keys:
            values["labels"] = self.string_map(keys["labels"])
        for key in ("count", "max_count"):
            if key in keys:
                values[key] = self.number(keys[key], minimum=1, integer=True)
        if "percent" in keys:
            raw = keys["percent"]
            values["percent"] = self.convert(
                raw,
                lambda v: (
                    parse_fraction(v) * 100 if isinstance(v, str) and v.strip().endswith("%") else _plain_number(v)
                ),
            )
        if "max_fraction" in keys:
            values["max_fraction"] = self.convert(keys["max_fraction"], parse_fraction)
        if self.count() != before:
            return None
        try:
            return Selector(**values).with_default_project(project)
        except ValueError as exc:
            self.problem(node, str(exc))
            return None

    # -- steady state --------------------------------------------------------------------

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
            if not isinstance(node.value, bool):
                self.problem(node, f"expected true or false; got {describe_kind(node.value)}")
                return None
            return node.value
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

    # -- method and rollbacks -------------------------------------------------------------

    def method(self, node: Located, phases: Phases | None, project: str | None) -> tuple[FaultStep, ...] | None:
        items = self.items(node, nonempty=True)
        if items is None:
            return None
        before = self.count()
        steps = tuple(self.step(item, phases, project) for item in items)
        return steps if self.count() == before else None  # type: ignore[return-value]

    def step(self, node: Located, phases: Phases | None, project: str | None) -> FaultStep | None:
        keys = self.mapping(node, STEP_KEYS, required=("fault",))
        if keys is None:
            return None
        before = self.count()
        fault = self.fault_type(keys["fault"], self.faults, "fault type") if "fault" in keys else None
        signature = self.faults.get(fault) if (self.faults is not None and fault is not None) else None
        name = self.text(keys["name"]) if "name" in keys else ""
        start = self.duration(keys["start"]) if "start" in keys else 0.0
        duration = self.duration(keys["duration"], positive=True) if "duration" in keys else None
        target, params = self.target_and_params(node, keys, fault, signature, project, default_state="running")
        if phases is not None and start is not None:
            if start >= phases.fault:
                self.problem(keys["start"], f"starts at {start:g}s, after the fault phase ({phases.fault:g}s) is over")
            elif duration is not None and start + duration > phases.fault + 1e-9:
                self.problem(
                    keys["duration"],
                    f"runs to {start + duration:g}s, past the end of the fault phase ({phases.fault:g}s)",
                )
        if self.count() != before:
            return None
        return FaultStep(fault, params, target, start, duration, name or "", node.line)  # type: ignore[arg-type]

    def rollbacks(self, node: Located, project: str | None) -> tuple[Action, ...] | None:
        items = self.items(node)
        if items is None:
            return None
        before = self.count()
        actions = []
        for item in items:
            keys = self.mapping(item, ACTION_KEYS, required=("type",))
            if keys is None:
                continue
            kind = self.fault_type(keys["type"], ACTION_SIGNATURES, "rollback action") if "type" in keys else None
            signature = ACTION_SIGNATURES.get(kind) if kind else None
            state = None if kind and kind.startswith("container.") else "running"
            target, params = self.target_and_params(item, keys, kind, signature, project, default_state=state)
            actions.append(Action(kind, params, target, item.line))  # type: ignore[arg-type]
        return tuple(actions) if self.count() == before else None

    def fault_type(self, node: Located, known: Mapping[str, FaultSignature] | None, what: str) -> str | None:
        name = node.value
        if not isinstance(name, str) or not _FAULT_NAME.match(name):
            self.problem(node, f"expected a {what} name like container.kill; got {describe_kind(name)}")
            return None
        if known is not None and name not in known:
            self.problem(
                node, f"unknown {what} {name!r}{suggest(name, sorted(known))} (known: {', '.join(sorted(known))})"
            )
            return None
        return name

    def target_and_params(
        self,
        node: Located,
        keys: dict[str, Located],
        kind: str | None,
        signature: FaultSignature | None,
        project: str | None,
        default_state: str | None,
    ) -> tuple[Selector | None, dict[str, Any]]:
        target = self.selector(keys["target"], project, default_state) if "target" in keys else None
        raw: dict[str, Located] = {}
        if "params" in keys:
            given = keys["params"]
            if isinstance(given.value, dict):
                raw = dict(given.value)
            else:
                self.problem(given, f"expected a mapping of parameters; got {describe_kind(given.value)}")
        if "proxy" in keys:
            # `proxy:` beside `fault:` is shorthand for params.proxy (network faults address a proxy, not a container).
            if "proxy" in raw:
                self.problem(keys["proxy"], "proxy is given twice (here and under params)")
            raw["proxy"] = keys["proxy"]
        if signature is None:
            return target, {k: v.plain() for k, v in raw.items()}

        if signature.target == "required" and "target" not in keys:
            self.problem(
                node,
                f"{kind} needs a target: (a container selector such as {{service: redis}})",
                path=node.child_path("target"),
            )
        elif signature.target == "none" and "target" in keys:
            hint = " (it addresses a Toxiproxy proxy: use proxy:)" if signature.param("proxy") else ""
            self.problem(keys["target"], f"{kind} takes no target{hint}")
        params: dict[str, Any] = {}
        params_path = node.child_path("params")
        names = [p.name for p in signature.params]
        for key, value_node in raw.items():
            spec = signature.param(key)
            if spec is None:
                if key == "proxy" and "proxy" in keys:
                    self.problem(
                        keys["proxy"],
                        f"{kind} takes no proxy" + (" (it takes target:)" if signature.target != "none" else ""),
                    )
                else:
                    expected = ", ".join(names) or "no parameters"
                    self.problem(
                        value_node, f"unknown parameter for {kind}{suggest(key, names)} (expected: {expected})"
                    )
                continue
            value = self.param_value(value_node, spec)
            if value is not None:
                params[key] = value
        for spec in signature.params:
            if spec.name in raw:
                continue
            if spec.required:
                self.problem(
                    keys.get("params", node),
                    f"{kind} needs parameter {spec.describe()}",
                    path=f"{params_path}.{spec.name}",
                )
            elif spec.default is not None:
                params[spec.name] = spec.default
        for group in signature.one_of:
            named = [name for name in group if name in raw]
            if len(named) != 1:
                got = f"got {' and '.join(named)}" if named else "got none"
                self.problem(
                    keys.get("params", node),
                    f"{kind} needs exactly one of {' | '.join(group)}; {got}",
                    path=params_path,
                )
        return target, params

    def param_value(self, node: Located, spec: ParamSpec) -> Any:
        if node.value is None:
            self.problem(node, f"expected a value ({spec.describe()})")
            return None
        if spec.type == "any":
            return node.plain()
        try:
            return coerce_param(spec, node.plain())
        except ValueError as exc:
            self.problem(node, str(exc))
            return None

    # -- stop conditions -------------------------------------------------------------------

    def stop_conditions(
        self, node: Located, hypothesis: Hypothesis | None, has_load: bool
    ) -> tuple[StopCondition, ...] | None:
        items = self.items(node)
        if items is None:
            return None
        before = self.count()
        conditions: list[StopCondition] = []
        for item in items:
            condition: StopCondition | None
            if isinstance(item.value, str):
                condition = self.metric_stop(item, has_load)
            else:
                keys = self.mapping(item, ("when", "probe", "failures", "consecutive"))
                if keys is None:
                    continue
                if ("when" in keys) == ("probe" in keys):
                    self.problem(
                        item, "expected either when: 'METRIC OP VALUE [for DURATION]' or probe: NAME (with failures: N)"
                    )
                    continue
                if "when" in keys:
                    if "failures" in keys or "consecutive" in keys:
                        self.problem(item, "failures and consecutive go with probe:, not when:")
                    condition = self.metric_stop(keys["when"], has_load)
                else:
                    condition = self.probe_stop(keys, hypothesis)
            if condition is not None:
                conditions.append(condition)
        return tuple(conditions) if self.count() == before else None

    def metric_stop(self, node: Located, has_load: bool) -> MetricStop | None:
        if not isinstance(node.value, str):
            self.problem(node, f"expected a condition like 'error_rate > 0.5 for 3s'; got {describe_kind(node.value)}")
            return None
        condition = self.convert(node, parse_metric_stop)
        if condition is not None and not has_load:
            self.problem(node, f"{condition.metric} is measured on the load: block, and there is none")
            return None
        return condition

    def probe_stop(self, keys: dict[str, Located], hypothesis: Hypothesis | None) -> ProbeStop | None:
        name = self.text(keys["probe"])
        failures = self.number(keys["failures"], minimum=1, integer=True) if "failures" in keys else 1
        consecutive = keys["consecutive"].value if "consecutive" in keys else True
        if not isinstance(consecutive, bool):
            self.problem(keys["consecutive"], f"expected true or false; got {describe_kind(consecutive)}")
            return None
        if name is not None and hypothesis is not None and hypothesis.probe(name) is None:
            names = [p.name for p in hypothesis.probes]
            self.problem(
                keys["probe"],
                f"no steady-state probe named {name!r}{suggest(name, names)} (probes: {', '.join(repr(n) for n in names)})",
            )
            return None
        if name is None or failures is None:
            return None
        return ProbeStop(name, failures, consecutive)


def _plain_number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"expected a percentage like 50 or 50%; got {value!r}")
    return float(value)
