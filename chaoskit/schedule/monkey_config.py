"""A monkey config: which containers the Chaos Monkey may kill, how often, when, and how it judges a kill.

    policy = load_monkey_config("experiments/monkey.yaml")

Validated with the experiment loader's machinery (:mod:`chaoskit.model.source`
for lines and variables, the loader's checker for selectors, probes, load and
durations), so every problem names ``file:line: key`` and all of them are
reported at once. Pure: reads the file it is given, imports no adapter.

Durations of the *schedule* (``mean_time_between_kills``,
``min_time_between_kills``, the ``schedule`` window) run on the monkey's clock,
which ``--time-scale`` compresses for demos; durations of the *system*
(``tick``, ``kill.downtime``, ``baseline``, ``probe_interval``,
``recovery_budget``) are real seconds, because containers do not restart
faster when the demo is in a hurry.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from os import fspath
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chaoskit.errors import ExperimentInvalid, Problem
from chaoskit.model.checker import describe_kind, suggest
from chaoskit.model.experiment import Environment
from chaoskit.model.load import LoadSpec
from chaoskit.model.loader import ExperimentChecker
from chaoskit.model.probes import Hypothesis
from chaoskit.model.source import Located, read_source
from chaoskit.model.units import parse_signal
from chaoskit.targets.selector import Selector

__all__ = [
    "GROUPINGS",
    "KILL_FAULTS",
    "KillSpec",
    "MonkeyConfig",
    "MonkeyPolicy",
    "MonkeySettings",
    "PARALLEL",
    "RESTART_MODES",
    "Schedule",
    "is_monkey_config",
    "load_monkey_config",
    "parse_monkey_config",
]

TOP_KEYS = (
    "title", "description", "tags", "variables", "environment", "seed", "leashed", "opt_in", "grouping",
    "exclude", "mean_time_between_kills", "min_time_between_kills", "max_concurrent", "tick", "schedule",
    "kill", "baseline", "probe_interval", "recovery_budget", "load", "steady_state",
)
SCHEDULE_KEYS = ("timezone", "weekdays", "hours")
KILL_KEYS = ("fault", "signal", "restart", "downtime")
# container.kill: the main process killed; pod.delete (Kubernetes): the pod deleted, its owner replaces it.
KILL_FAULTS = ("container.kill", "pod.delete")
# service: a compose service (a container outside compose is its own group); container: each alone;
# project: a whole compose project (a "stack"); label:KEY: containers sharing that label's value.
GROUPINGS = ("service", "container", "project", "label:KEY")
# chaoskit: kill through the API, start it again after `downtime` (Docker's restart policy ignores
# API kills); policy: crash the main process from the host so the restart policy brings it back.
# On Kubernetes only policy: the kubelet restarts a container, a Deployment replaces a pod.
RESTART_MODES = ("chaoskit", "policy")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\Z")
_EXCLUDE_KEYS = ("name", "service", "project", "labels", "state")


@dataclass(frozen=True)
class Schedule:
    """When kills may happen: local time in ``timezone``, on ``weekdays`` (0 = Monday), [start, end) minutes.

    ``end_minute`` < ``start_minute`` is an overnight window (22:00-06:00), which
    belongs to the weekday it opened on.
    """

    timezone: str = "UTC"
    weekdays: tuple[int, ...] = tuple(range(7))
    start_minute: int = 0
    end_minute: int = 24 * 60

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def __str__(self) -> str:
        days = ",".join(WEEKDAYS[d] for d in self.weekdays) if len(self.weekdays) < 7 else "every day"
        return f"{days} {_hhmm(self.start_minute)}-{_hhmm(self.end_minute)} {self.timezone}"


@dataclass(frozen=True)
class KillSpec:
    signal: str = "SIGKILL"
    restart: str = "chaoskit"
    downtime_s: float = 10.0  # chaoskit mode: how long the container stays down before chaoskit starts it
    fault: str = "container.kill"


@dataclass(frozen=True)
class MonkeyPolicy:
    """What the pure decisions need (see :mod:`chaoskit.schedule.monkey_policy`)."""

    opt_in: Mapping[str, str]
    mean_time_between_kills_s: float
    project: str | None = None
    exclusions: tuple[Selector, ...] = ()
    grouping: str = "service"
    min_time_between_kills_s: float = 0.0
    max_concurrent: int = 1
    schedule: Schedule = Schedule()
    leashed: bool = True
    tick_s: float = 1.0

    def opt_in_selector(self) -> Selector:
        """Opted-in containers in any state: a group whose members are all down is still a group."""
        return Selector(labels=dict(self.opt_in), project=self.project, state=None)


# Kills and restarts run this many at a time. The engine does most of the work (an API
# SIGKILL returns once the exit is processed, ~0.1 s each on 2 cores); measured with 50
# kills: 8 at a time 7.6 s, 16 at a time 5.8 s, 50 at a time 5.5 s (bench/monkey_bench.py).
PARALLEL = 16


@dataclass(frozen=True)
class MonkeySettings:
    """How one monkey run goes, beside its config: the seed, overrides from the command line, how long."""

    seed: int
    leashed: bool | None = None  # None: the config's leashed:
    time_scale: float = 1.0  # schedule seconds per real second (--time-scale)
    duration_s: float | None = None  # None: until a signal
    ignore_schedule: bool = False  # the schedule window is always open
    parallel: int = PARALLEL  # kills and restarts at once

    def __post_init__(self) -> None:
        if self.time_scale <= 0:
            raise ValueError(f"time scale must be > 0, got {self.time_scale}")

    def policy(self, policy: MonkeyPolicy) -> MonkeyPolicy:
        """The config's policy with this run's overrides applied."""
        if self.leashed is not None:
            policy = replace(policy, leashed=self.leashed)
        if self.ignore_schedule:
            policy = replace(policy, schedule=Schedule(timezone=policy.schedule.timezone))
        return policy


@dataclass(frozen=True)
class MonkeyConfig:
    title: str
    policy: MonkeyPolicy
    steady_state: Hypothesis
    kill: KillSpec = KillSpec()
    description: str = ""
    tags: tuple[str, ...] = ()
    environment: Environment = Environment()
    load: LoadSpec | None = None
    baseline_s: float = 5.0
    probe_interval_s: float = 1.0
    recovery_budget_s: float = 60.0
    seed: int | None = None
    variables: Mapping[str, Any] = field(default_factory=dict)
    source: str = ""


def is_monkey_config(text: str) -> bool:
    """Whether a YAML text is a monkey config rather than an experiment (it has a top-level ``opt_in:``)."""
    return re.search(r"^opt_in\s*:", text, re.MULTILINE) is not None


def load_monkey_config(path: str | Path, *, variables: Mapping[str, Any] | None = None) -> MonkeyConfig:
    """Read, substitute, validate and build; ``ExperimentInvalid`` lists every problem with file:line: key."""
    source = fspath(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ExperimentInvalid([Problem(source, None, "", f"cannot read the file: {exc}")]) from exc
    return parse_monkey_config(text, source=source, variables=variables)


def parse_monkey_config(text: str, *, source: str = "<string>", variables: Mapping[str, Any] | None = None) -> MonkeyConfig:
    root, resolved, problems = read_source(text, source, variables)
    checker = _MonkeyChecker(source, problems, None)
    config = checker.config(root, resolved) if root is not None else None
    if checker.problems or config is None:
        raise ExperimentInvalid(sorted(checker.problems, key=lambda p: (p.line or 0, p.key)))
    return config


class _MonkeyChecker(ExperimentChecker):
    """The experiment loader's checker, taught the monkey's own keys."""

    def config(self, root: Located, variables: dict[str, Any]) -> MonkeyConfig | None:
        top = self.mapping(root, TOP_KEYS, required=("title", "opt_in", "mean_time_between_kills", "steady_state"))
        if top is None:
            return None
        title = self.text(top["title"]) if "title" in top else None
        description = self.text(top["description"], nonempty=False) if "description" in top else ""
        tags = self.strings(top["tags"]) if "tags" in top else ()
        environment = self.environment(top["environment"]) if "environment" in top else Environment()
        project = environment.compose_project if environment else None
        seed = self.number(top["seed"], minimum=0, integer=True) if "seed" in top else None
        leashed = self.boolean(top["leashed"]) if "leashed" in top else True
        opt_in = self.opt_in(top["opt_in"]) if "opt_in" in top else None
        if opt_in is not None and environment:
            opt_in = {**opt_in, **environment.require_labels}  # the environment's opt-in label, required too
        grouping = self.grouping(top["grouping"]) if "grouping" in top else "service"
        exclusions = self.exclusions(top["exclude"], project) if "exclude" in top else ()
        mean = self.duration(top["mean_time_between_kills"], positive=True) if "mean_time_between_kills" in top else None
        minimum = self.duration(top["min_time_between_kills"]) if "min_time_between_kills" in top else 0.0
        if mean is not None and minimum is not None and minimum > mean:
            self.problem(top["min_time_between_kills"],
                         f"{minimum:g}s is above mean_time_between_kills ({mean:g}s): that mean could never be reached")
        max_concurrent = self.number(top["max_concurrent"], minimum=1, integer=True) if "max_concurrent" in top else 1
        tick = self.duration(top["tick"], positive=True) if "tick" in top else 1.0
        schedule = self.schedule(top["schedule"]) if "schedule" in top else Schedule()
        on_cluster = bool(environment and environment.kubernetes)
        kill = self.kill(top["kill"], on_cluster) if "kill" in top else KillSpec(restart="policy" if on_cluster else "chaoskit")
        baseline = self.duration(top["baseline"]) if "baseline" in top else 5.0
        probe_interval = self.duration(top["probe_interval"], positive=True) if "probe_interval" in top else 1.0
        budget = self.duration(top["recovery_budget"], positive=True) if "recovery_budget" in top else 60.0
        load = self.load(top["load"]) if "load" in top else None
        hypothesis = self.hypothesis(top["steady_state"], project, has_load="load" in top) if "steady_state" in top else None
        if self.count():
            return None
        policy = MonkeyPolicy(
            opt_in=opt_in, mean_time_between_kills_s=mean, project=project, exclusions=exclusions,  # type: ignore[arg-type]
            grouping=grouping, min_time_between_kills_s=minimum, max_concurrent=max_concurrent,  # type: ignore[arg-type]
            schedule=schedule, leashed=leashed, tick_s=tick,  # type: ignore[arg-type]
        )
        return MonkeyConfig(
            title=title, policy=policy, steady_state=hypothesis, kill=kill,  # type: ignore[arg-type]
            description=description or "", tags=tags or (), environment=environment or Environment(),
            load=load, baseline_s=baseline, probe_interval_s=probe_interval,  # type: ignore[arg-type]
            recovery_budget_s=budget, seed=seed, variables=variables, source=self.source,  # type: ignore[arg-type]
        )

    def opt_in(self, node: Located) -> dict[str, str] | None:
        labels = self.string_map(node)
        if labels is not None and not labels:
            self.problem(node, "expected at least one label a container must carry to be eligible, "
                               "e.g. {chaoskit.monkey: \"true\"}")
            return None
        return labels

    def grouping(self, node: Located) -> str | None:
        value = self.text(node)
        if value is None:
            return None
        if value in ("service", "container", "project") or (value.startswith("label:") and len(value) > len("label:")):
            return value
        self.problem(node, f"unknown grouping {value!r}{suggest(value, GROUPINGS[:3])} (expected one of {', '.join(GROUPINGS)})")
        return None

    def exclusions(self, node: Located, project: str | None) -> tuple[Selector, ...] | None:
        items = self.items(node)
        if items is None:
            return None
        before = self.count()
        selectors = []
        for item in items:
            if isinstance(item.value, dict):
                # Picking keys (count, percent, caps) mean nothing in an exclusion: only matching keys.
                for key, child in item.value.items():
                    if key not in _EXCLUDE_KEYS:
                        self.problem(child, f"unknown key{suggest(key, _EXCLUDE_KEYS)} in an exclusion "
                                            f"(expected one of {', '.join(_EXCLUDE_KEYS)})")
                if self.count() != before:
                    continue
            selector = self.selector(item, project, default_state=None)
            if selector is not None:
                selectors.append(selector)
        return tuple(selectors) if self.count() == before else None

    def schedule(self, node: Located) -> Schedule | None:
        keys = self.mapping(node, SCHEDULE_KEYS)
        if keys is None:
            return None
        before = self.count()
        zone = self.timezone(keys["timezone"]) if "timezone" in keys else "UTC"
        weekdays = self.weekdays(keys["weekdays"]) if "weekdays" in keys else tuple(range(7))
        hours = self.hours(keys["hours"]) if "hours" in keys else (0, 24 * 60)
        if self.count() != before:
            return None
        return Schedule(zone, weekdays, *hours)  # type: ignore[arg-type, misc]

    def timezone(self, node: Located) -> str | None:
        name = self.text(node)
        if name is None:
            return None
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            self.problem(node, f"unknown time zone {name!r}; expected an IANA name like Europe/Paris or UTC")
            return None
        return name

    def weekdays(self, node: Located) -> tuple[int, ...] | None:
        if isinstance(node.value, list):
            words = []
            for item in node.value:
                if not isinstance(item.value, str):
                    self.problem(item, f"expected a weekday name (mon..sun); got {describe_kind(item.value)}")
                    return None
                words.append(item.value)
        elif isinstance(node.value, str):
            words = [w for w in re.split(r"[\s,]+", node.value) if w]
        else:
            self.problem(node, f"expected weekdays like [mon, tue] or 'mon-fri'; got {describe_kind(node.value)}")
            return None
        try:
            days = _parse_weekdays(words)
        except ValueError as exc:
            self.problem(node, str(exc))
            return None
        if not days:
            self.problem(node, "expected at least one weekday")
            return None
        return days

    def hours(self, node: Located) -> tuple[int, int] | None:
        value = node.value
        match = _HOURS.match(value.strip()) if isinstance(value, str) else None
        if match is None:
            self.problem(node, f"expected a window like '09:00-17:00' (local time, end excluded); got {describe_kind(value)}")
            return None
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if h1 > 23 or m1 > 59 or m2 > 59 or end > 24 * 60:
            self.problem(node, f"not a time of day in {value!r} (00:00 to 24:00)")
            return None
        if start == end:
            self.problem(node, f"the window {value!r} is empty; for all day write '00:00-24:00'")
            return None
        return start, end

    def kill(self, node: Located, on_cluster: bool) -> KillSpec | None:
        keys = self.mapping(node, KILL_KEYS)
        if keys is None:
            return None
        before = self.count()
        fault = self.text(keys["fault"]) if "fault" in keys else "container.kill"
        if fault is not None and fault not in KILL_FAULTS:
            self.problem(keys["fault"], f"unknown kill fault {fault!r}{suggest(fault, KILL_FAULTS)} "
                                        f"(expected one of {', '.join(KILL_FAULTS)})")
        elif fault == "pod.delete" and not on_cluster:
            self.problem(keys["fault"], "pod.delete needs environment.kubernetes; Docker containers are killed "
                                        "with container.kill")
        signal = self.convert(keys["signal"], parse_signal) if "signal" in keys else "SIGKILL"
        restart = self.text(keys["restart"]) if "restart" in keys else "policy" if on_cluster else "chaoskit"
        if restart is not None and restart not in RESTART_MODES:
            self.problem(keys["restart"], f"unknown restart mode {restart!r} (expected chaoskit: started again after "
                                          f"downtime, or policy: left to the container's restart policy)")
        elif restart == "chaoskit" and on_cluster:
            self.problem(keys["restart"], "on Kubernetes the kubelet restarts a killed container and the owner "
                                          "replaces a deleted pod: use restart: policy (the default there)")
        downtime = self.duration(keys["downtime"]) if "downtime" in keys else 10.0
        if restart == "policy" and "downtime" in keys:
            self.problem(keys["downtime"], "with restart: policy the container's restart policy decides the downtime; "
                                           "remove downtime or use restart: chaoskit")
        if self.count() != before:
            return None
        return KillSpec(signal, restart, downtime, fault)  # type: ignore[arg-type]


def _parse_weekdays(words: list[str]) -> tuple[int, ...]:
    days: set[int] = set()
    for word in words:
        first, sep, last = word.lower().partition("-")
        a = _weekday(first, word)
        b = _weekday(last, word) if sep else a
        # mon-fri, and wrapping ranges like fri-mon.
        day = a
        days.add(day)
        while day != b:
            day = (day + 1) % 7
            days.add(day)
    return tuple(sorted(days))


def _weekday(text: str, word: str) -> int:
    key = text.strip().lower()[:3]
    if len(text.strip()) < 3 or key not in WEEKDAYS or not _is_day_name(text.strip().lower()):
        raise ValueError(f"unknown weekday {word!r}; expected mon, tue, wed, thu, fri, sat, sun (or ranges like mon-fri)")
    return WEEKDAYS.index(key)


_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _is_day_name(text: str) -> bool:
    return any(name.startswith(text) for name in _DAY_NAMES)


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"
