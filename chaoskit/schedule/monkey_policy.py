"""The Chaos Monkey's decisions: pure functions of (policy, seed, tick, observed containers, monkey state).

No engine, no wall clock, no global randomness: the controller passes the
time in (:class:`Tick`) and what it observed (containers, open kills, whether
the steady state holds), and gets back what to do (:class:`TickPlan`). The
same inputs always give the same plan, which is what ``--seed`` promises and
what the tests check.

Each tick, for each group of eligible containers:

1. a uniform draw ``u`` in [0, 1) is derived by hashing (seed, tick index,
   group) — not from a shared random stream, so one group's fate does not
   depend on how many other groups exist or in which order they are listed;
2. the group *fires* when ``u < p``, ``p = 1 - exp(-span / mean_time_between_kills)``:
   the probability that a Poisson process with that mean gap has an event in
   the ``span`` of schedule time this tick stands for. Over many ticks the
   mean time between a group's kills is the configured mean (before the
   constraints below lengthen it);
3. a fired group is killed (or, leashed, *would be*) unless, in this order:
   the schedule window is closed, the steady state is already violated (an
   outage: killing into it only hides the cause), the group has a kill still
   in flight, its last kill was less than ``min_time_between_kills`` ago,
   ``max_concurrent`` kills are already in flight, or it has no running
   member. Each of those is a skip with its reason.

The member killed is drawn the same way among the group's running
containers, sorted by name.
"""

from __future__ import annotations

import enum
import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from chaoskit.schedule.monkey_config import MonkeyPolicy, Schedule
from chaoskit.targets.container import Container
from chaoskit.targets.resolve import service_key

__all__ = [
    "Action",
    "Decision",
    "MonkeyState",
    "Skip",
    "Tick",
    "TickPlan",
    "advance",
    "decide",
    "draw",
    "eligible",
    "group_key",
    "group_containers",
    "in_window",
    "kill_probability",
]


class Action(str, enum.Enum):
    KILL = "kill"
    WOULD_KILL = "would_kill"  # leashed: logged, nothing killed
    SKIPPED = "skipped"


class Skip(str, enum.Enum):
    """Why a group that fired was not killed, in the order they are checked."""

    OUTSIDE_WINDOW = "outside_window"
    OUTAGE = "outage"
    GROUP_IN_FLIGHT = "group_in_flight"
    MIN_INTERVAL = "min_interval"
    MAX_CONCURRENT = "max_concurrent"
    NO_RUNNING_MEMBER = "no_running_member"


@dataclass(frozen=True)
class Tick:
    """One scheduling step: its index, the monkey's (possibly compressed) time, and how much of it the step stands for."""

    index: int
    now: datetime  # timezone-aware; the schedule converts it to its own zone
    span_s: float  # schedule seconds this tick stands for (tick x time scale)


@dataclass(frozen=True)
class MonkeyState:
    """What the monkey remembers and observed: when each group was last (would-be) killed, what is in flight."""

    last_kill_at: Mapping[str, datetime] = field(default_factory=dict)
    groups_in_flight: frozenset[str] = frozenset()
    in_flight: int = 0
    outage: str | None = None  # why the steady state is violated now; None when it holds


@dataclass(frozen=True)
class Decision:
    group: str
    action: Action
    container: Container | None  # the member drawn (None only when the group has no running member)
    draw: float
    probability: float
    skip: Skip | None = None
    detail: str = ""

    def describe(self) -> str:
        who = self.container.name if self.container is not None else self.group
        if self.action is Action.SKIPPED:
            return f"{who} ({self.group}) spared: {self.detail or self.skip.value}"  # type: ignore[union-attr]
        verb = "kill" if self.action is Action.KILL else "would kill"
        return f"{verb} {who} ({self.group}): drew {self.draw:.4f} < p {self.probability:.4f}"


@dataclass(frozen=True)
class TickPlan:
    tick: Tick
    window_open: bool
    eligible: int  # opted-in, not excluded containers (any state)
    excluded: int
    groups: int
    probability: float
    decisions: tuple[Decision, ...] = ()

    @property
    def kills(self) -> tuple[Decision, ...]:
        return tuple(d for d in self.decisions if d.action is Action.KILL)

    @property
    def would_kills(self) -> tuple[Decision, ...]:
        return tuple(d for d in self.decisions if d.action is Action.WOULD_KILL)

    @property
    def skipped(self) -> tuple[Decision, ...]:
        return tuple(d for d in self.decisions if d.action is Action.SKIPPED)


def kill_probability(span_s: float, mean_time_between_kills_s: float) -> float:
    """P(at least one kill in ``span_s``) for kills arriving as a Poisson process with that mean gap."""
    if span_s <= 0:
        return 0.0
    return 1.0 - math.exp(-span_s / mean_time_between_kills_s)


def draw(seed: int, tick: int, group: str, purpose: str = "kill") -> float:
    """A uniform number in [0, 1), a pure function of its arguments (a 64-bit BLAKE2b of them)."""
    digest = hashlib.blake2b(f"{seed}\x1f{tick}\x1f{group}\x1f{purpose}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def in_window(schedule: Schedule, now: datetime) -> bool:
    """Whether ``now`` (timezone-aware) is inside the schedule window, in the schedule's time zone."""
    if now.tzinfo is None:
        raise ValueError("in_window needs a timezone-aware datetime")
    local = now.astimezone(schedule.zone())
    minute = local.hour * 60 + local.minute
    start, end = schedule.start_minute, schedule.end_minute
    if start < end:
        return start <= minute < end and local.weekday() in schedule.weekdays
    # Overnight (22:00-06:00): the part after midnight belongs to the day the window opened.
    if minute >= start:
        return local.weekday() in schedule.weekdays
    if minute < end:
        return (local - timedelta(days=1)).weekday() in schedule.weekdays
    return False


def eligible(policy: MonkeyPolicy, containers: Iterable[Container]) -> tuple[list[Container], int]:
    """(opted-in containers no exclusion matches, how many opted-in ones an exclusion removed)."""
    opt_in = policy.opt_in_selector()
    chosen, excluded = [], 0
    for container in containers:
        if not opt_in.matches(container):
            continue
        if any(rule.matches(container) for rule in policy.exclusions):
            excluded += 1
            continue
        chosen.append(container)
    return chosen, excluded


def group_key(grouping: str, container: Container) -> str:
    """The group a container belongs to under ``grouping`` (see ``GROUPINGS``)."""
    if grouping == "service":
        return str(service_key(container))
    if grouping == "container":
        return container.name
    if grouping == "project":
        return container.compose_project or container.name
    if grouping.startswith("label:"):
        label = grouping[len("label:"):]
        value = container.labels.get(label)
        return f"{label}={value}" if value is not None else container.name
    raise ValueError(f"unknown grouping {grouping!r}")


def group_containers(grouping: str, containers: Iterable[Container]) -> dict[str, tuple[Container, ...]]:
    """Groups sorted by key, members sorted by (name, id): the order never depends on how the engine listed them."""
    groups: dict[str, list[Container]] = {}
    for container in containers:
        groups.setdefault(group_key(grouping, container), []).append(container)
    return {key: tuple(sorted(groups[key], key=lambda c: (c.name, c.id))) for key in sorted(groups)}


def decide(policy: MonkeyPolicy, seed: int, tick: Tick, containers: Sequence[Container], state: MonkeyState) -> TickPlan:
    """What to do this tick; see the module docstring for the rule."""
    chosen, excluded = eligible(policy, containers)
    groups = group_containers(policy.grouping, chosen)
    probability = kill_probability(tick.span_s, policy.mean_time_between_kills_s)
    window_open = in_window(policy.schedule, tick.now)
    decisions: list[Decision] = []
    in_flight = state.in_flight
    for key, members in groups.items():
        u = draw(seed, tick.index, key)
        if u >= probability:
            continue
        running = [c for c in members if c.state == "running"]
        victim = running[int(draw(seed, tick.index, key, "member") * len(running))] if running else None
        last = state.last_kill_at.get(key)
        since = (tick.now - last).total_seconds() if last is not None else None
        skip: tuple[Skip, str] | None = None
        if not window_open:
            skip = Skip.OUTSIDE_WINDOW, f"outside the schedule window ({policy.schedule})"
        elif state.outage is not None:
            skip = Skip.OUTAGE, f"the steady state is already violated ({state.outage})"
        elif key in state.groups_in_flight:
            skip = Skip.GROUP_IN_FLIGHT, "an earlier kill in this group has not recovered yet"
        elif since is not None and since < policy.min_time_between_kills_s:
            skip = Skip.MIN_INTERVAL, f"last kill {since:.0f}s ago, minimum {policy.min_time_between_kills_s:g}s"
        elif in_flight >= policy.max_concurrent:
            skip = Skip.MAX_CONCURRENT, f"{in_flight} kill(s) in flight, max_concurrent {policy.max_concurrent}"
        elif victim is None:
            skip = Skip.NO_RUNNING_MEMBER, "no member of the group is running"
        if skip is not None:
            decision = Decision(key, Action.SKIPPED, victim, u, probability, *skip)
        else:
            decision = Decision(key, Action.WOULD_KILL if policy.leashed else Action.KILL, victim, u, probability)
            if not policy.leashed:
                in_flight += 1
        decisions.append(decision)
    return TickPlan(tick, window_open, len(chosen), excluded, len(groups), probability, tuple(decisions))


def advance(state: MonkeyState, plan: TickPlan) -> MonkeyState:
    """The state after ``plan``: kills and would-be kills restart their group's minimum interval.

    Would-be kills count too, so a leashed monkey's log previews what an
    unleashed one would do. Kills in flight are the controller's to add and
    remove (it knows when a container came back), so they are left alone here.
    """
    acted = [d for d in plan.decisions if d.action is not Action.SKIPPED]
    if not acted:
        return state
    last = dict(state.last_kill_at)
    for decision in acted:
        last[decision.group] = plan.tick.now
    return replace(state, last_kill_at=last)
