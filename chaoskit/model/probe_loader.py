"""The steady-state hypothesis: its probes, their checks and the tolerances that judge them.

Built-in probe types are checked here (and ``prometheus``, ``writes.*`` in their
own modules); a plugin's probe type is checked against the
:class:`~chaoskit.model.plugin_probe.ProbeSignature` the caller passes in
(``probe_types``: the model imports no plugin), its parameters exactly as a
fault step's are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

from chaoskit.errors import Problem
from chaoskit.model.checker import describe_kind, suggest
from chaoskit.model.load import LoadSpec
from chaoskit.model.params import PROXY_NAME_PATTERN, ParamSpec
from chaoskit.model.plugin_probe import PLUGIN_PROBE_KEYS, PluginProbeSpec, ProbeSignature
from chaoskit.model.prometheus_probe import PROMETHEUS_KEYS, prometheus_probe, reading_tolerance
from chaoskit.model.probes import (
    LATENCY_METRICS,
    LOAD_METRICS,
    PROBE_TYPES,
    WRITE_PROBE_TYPES,
    CommandProbe,
    ContainerProbe,
    HttpProbe,
    Hypothesis,
    LoadProbe,
    Probe,
    ToxiproxyProbe,
)
from chaoskit.model.source import MIN_SECRET, Located
from chaoskit.model.tolerance import Check, Equals, InRange, JsonPath, valid_json_path
from chaoskit.model.tolerance_loader import TOLERANCE_KEYS
from chaoskit.model.write_probe_loader import WRITE_PROBE_KEYS, WriteProbeChecker

__all__ = ["PROBE_KEYS", "ProbeChecker"]

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
# Per probe type: (keys beside name, type and tolerance; required ones).
PROBE_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "http": (("url", "method", "timeout", "headers", "json", "tls", "every"), ("url",)),
    "command": (("target", "cmd", "timeout", "every"), ("target", "cmd")),
    "container": (("target", "every"), ("target",)),
    "toxiproxy": (("proxy", "every"), ("proxy",)),
    "load": (("metric",), ("metric", "tolerance")),
    **{kind: (keys, (*required, "tolerance")) for kind, (keys, required) in WRITE_PROBE_KEYS.items()},
    "prometheus": (tuple(k for k in PROMETHEUS_KEYS if k not in ("name", "type", "tolerance")),
                   ("url", "query", "tolerance")),
}


class ProbeChecker(WriteProbeChecker):
    """The checker, taught ``steady_state:``: its probes and their tolerances.

    ``probe_types``: the plugins' probe types (None: none known); ``secrets`` receives the values of their
    parameters declared secret.
    """

    def __init__(self, source: str, problems: list[Problem],
                 probe_types: Mapping[str, ProbeSignature] | None = None):
        super().__init__(source, problems)
        self.probe_types = probe_types
        self.secrets: set[str] = set()

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
        plugins = self.probe_types or {}
        if isinstance(kind, str) and kind in plugins:
            return self.plugin_probe(node, kind, plugins[kind])
        if kind not in PROBE_TYPES:
            known = (*PROBE_TYPES, *sorted(plugins))
            self.problem(
                type_node,
                f"unknown probe type {kind!r}{suggest(str(kind), known)} (expected one of {', '.join(known)}"
                + ("; a plugin's probe type needs its package installed)" if "." in str(kind) else ")"),
            )
            return None
        if kind == "prometheus":  # its own module checks it whole (its tolerance takes numbers only)
            return prometheus_probe(self, node)
        allowed, required = PROBE_KEYS[kind]
        keys = self.mapping(node, ("name", "type", "tolerance", *allowed), required=required)
        if keys is None or any(key not in keys for key in required):  # the mapping said what is missing
            return None
        before = self.count()
        name = self.text(keys["name"]) if "name" in keys else None
        probe: Probe | None
        if kind in WRITE_PROBE_TYPES:
            probe = self.write_probe(node, keys, kind, name, load, has_load, project)
        elif kind == "load":
            probe = self.load_probe(keys, type_node, name, has_load)
        else:
            every = self.duration(keys["every"], positive=True) if "every" in keys else None
            checks = self.subject_checks(keys.get("tolerance"), kind)
            probe = self.observed_probe(keys, kind, name, checks, every, project)
        return probe if self.count() == before else None

    def observed_probe(self, keys: dict[str, Located], kind: str, name: str | None, checks: tuple[Check, ...],
                       every: float | None, project: str | None) -> Probe | None:
        """An http, command, container or toxiproxy probe: observed each round by the run loop."""
        if kind == "http":
            url = self.url(keys["url"])
            return HttpProbe(
                name or f"http {url}",
                cast(str, url),
                checks,
                cast(str, self.http_method(keys["method"]) if "method" in keys else "GET"),
                cast(float, self.duration(keys["timeout"], positive=True) if "timeout" in keys else 2.0),
                cast(dict[str, str], self.string_map(keys["headers"]) if "headers" in keys else {}),
                keys["json"].plain() if "json" in keys else None,
                every,
                self.https_tls(keys, [url]),
            )
        if kind == "command":
            target = self.selector(keys["target"], project)
            cmd = self.param_value(keys["cmd"], ParamSpec("cmd", "argv"))
            timeout = self.duration(keys["timeout"], positive=True) if "timeout" in keys else 5.0
            return CommandProbe(name or f"command {cmd}", target, cmd, checks, timeout, every)  # type: ignore[arg-type]
        if kind == "container":
            target = self.selector(keys["target"], project, default_state=None)
            return ContainerProbe(name or f"container {target}", target, checks, every)  # type: ignore[arg-type]
        proxy = self.param_value(keys["proxy"], ParamSpec("proxy", "str", pattern=PROXY_NAME_PATTERN))
        return ToxiproxyProbe(name or f"toxiproxy {proxy}", proxy, checks, every)  # type: ignore[arg-type]

    def plugin_probe(self, node: Located, kind: str, signature: ProbeSignature) -> PluginProbeSpec | None:
        """A plugin's probe: its parameters checked against the plugin's signature, its tolerance by its reading."""
        pass_fail = signature.reading == "pass_fail"
        keys = self.mapping(node, PLUGIN_PROBE_KEYS if not pass_fail else tuple(k for k in PLUGIN_PROBE_KEYS
                                                                               if k != "tolerance"),
                            required=() if pass_fail else ("tolerance",))
        if keys is None:
            return None
        before = self.count()
        name = self.text(keys["name"]) if "name" in keys else None
        every = self.duration(keys["every"], positive=True) if "every" in keys else None
        _, params = self.target_and_params(node, keys, kind, signature.as_params, None, None)
        tolerance = None
        if "tolerance" in keys:
            tolerance = reading_tolerance(self, keys["tolerance"], durations=signature.reading == "duration")
        for secret in signature.secret:
            value = params.get(secret)
            if value is not None and len(str(value)) < MIN_SECRET:
                self.problem(keys.get("params", node), f"{kind}: a secret ({secret}) of fewer than {MIN_SECRET} "
                             "characters would be masked wherever those characters occur; give a real one",
                             path=node.child_path(f"params.{secret}"))
            elif value is not None:
                self.secrets.add(str(value))
        if self.count() != before or (tolerance is None and not pass_fail):
            return None
        return PluginProbeSpec(name or kind, kind, params, signature.reading, tolerance, every)  # type: ignore[arg-type]

    def load_probe(self, keys: dict[str, Located], type_node: Located, name: str | None,
                   has_load: bool) -> LoadProbe | None:
        if not has_load:
            self.problem(type_node, "a load probe needs a load: block that says what load to apply")
        metric = keys["metric"].value
        if metric not in LOAD_METRICS:
            self.problem(
                keys["metric"],
                f"unknown metric {metric!r}{suggest(str(metric), LOAD_METRICS)} (expected one of {', '.join(LOAD_METRICS)})",
            )
            return None
        value_kind = "duration" if metric in LATENCY_METRICS else "fraction" if metric == "error_rate" else "number"
        judged = self.tolerance(keys["tolerance"], value_kind, bare="max")
        return LoadProbe(name or metric, metric, (Check(metric, judged),)) if judged is not None else None

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
                self.problem(entry, f"expected a tolerance next to path ({', '.join(TOLERANCE_KEYS['any'])})")
                continue
            judged = self.tolerance(Located(rest, entry.path, entry.line, entry.substituted), "any", "equals")
            if judged is not None:
                checks.append(Check("body", JsonPath(path_node.value, judged)))
        return checks
