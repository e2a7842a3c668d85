"""The monkey's pure decisions: probability, minimum interval, window, concurrency, outage, leash, exclusions, seed."""

from __future__ import annotations

import math
import random
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from chaoskit.schedule.monkey_config import MonkeyPolicy, Schedule
from chaoskit.schedule.monkey_policy import (
    Action,
    MonkeyState,
    Skip,
    Tick,
    advance,
    decide,
    draw,
    eligible,
    group_containers,
    in_window,
    kill_probability,
)
from chaoskit.targets.container import Container
from chaoskit.targets.selector import Selector

PARIS = ZoneInfo("Europe/Paris")
# Monday 2025-06-02 10:00 in Paris (CEST, UTC+2).
MONDAY_10 = datetime(2025, 6, 2, 10, 0, tzinfo=PARIS)
ALWAYS_FIRE = 1e-9  # a mean time between kills so short that every group fires every tick


def box(name: str, service: str, *, project: str = "chaoskit", state: str = "running", opt_in: bool = True,
        **labels: str) -> Container:
    all_labels = {"com.docker.compose.project": project, "com.docker.compose.service": service, **labels}
    if opt_in:
        all_labels["chaoskit.monkey"] = "true"
    return Container(id=f"id-{name}", name=name, labels=all_labels, state=state)


STACK = [box("chaoskit-api-1", "api"), box("chaoskit-api-2", "api"), box("chaoskit-worker-1", "worker"),
         box("chaoskit-redis-1", "redis"), box("chaoskit-postgres-1", "postgres", opt_in=False)]


def policy(**changes) -> MonkeyPolicy:
    base = MonkeyPolicy(opt_in={"chaoskit.monkey": "true"}, mean_time_between_kills_s=ALWAYS_FIRE, project="chaoskit",
                        leashed=False, max_concurrent=10)
    return replace(base, **changes)


def tick(index: int = 0, now: datetime = MONDAY_10, span_s: float = 1.0) -> Tick:
    return Tick(index, now, span_s)


# -- probability ------------------------------------------------------------------------


def test_probability_is_one_minus_exp_of_span_over_mean():
    """p = 1 - exp(-span/mean): a span equal to the mean gives 1 - 1/e, no span gives 0."""
    assert kill_probability(600, 600) == pytest.approx(1 - math.exp(-1))
    assert kill_probability(1, 600) == pytest.approx(1 / 600, rel=1e-3)
    assert kill_probability(0, 600) == 0.0
    assert kill_probability(2, 600) > kill_probability(1, 600)


def test_fired_draws_average_the_mean_time_between_kills():
    """Over many ticks a group fires about once per mean time between kills (the draws are uniform)."""
    mean, ticks = 50.0, 20_000
    p = kill_probability(1.0, mean)
    fires = sum(draw(3, i, "chaoskit/api") < p for i in range(ticks))
    assert fires == pytest.approx(ticks / mean, rel=0.15)


def test_a_group_that_does_not_fire_is_not_mentioned():
    """With a long mean, most ticks decide nothing: no decision at all, not a skip."""
    plan = decide(policy(mean_time_between_kills_s=10**9), 1, tick(), STACK, MonkeyState())
    assert plan.decisions == () and plan.groups == 3 and plan.probability < 1e-8


# -- determinism -------------------------------------------------------------------------


def test_same_seed_same_plan_whatever_the_listing_order():
    """The plan depends on seed and tick, not on the order the engine listed the containers in."""
    p = policy(mean_time_between_kills_s=3.0)
    shuffled = STACK[:]
    random.Random(5).shuffle(shuffled)
    for index in range(50):
        assert decide(p, 42, tick(index), STACK, MonkeyState()) == decide(p, 42, tick(index), shuffled, MonkeyState())


def test_another_seed_gives_other_decisions():
    """Two seeds fire on different ticks (over enough ticks to tell)."""
    p = policy(mean_time_between_kills_s=3.0)

    def fired(seed: int) -> list[tuple[int, str]]:
        return [(i, d.group) for i in range(200) for d in decide(p, seed, tick(i), STACK, MonkeyState()).decisions]

    assert fired(1) == fired(1)
    assert fired(1) != fired(2)


def test_draws_do_not_depend_on_other_groups():
    """Adding an unrelated group does not change whether api fires on a tick."""
    p = policy(mean_time_between_kills_s=3.0)
    more = STACK + [box("chaoskit-extra-1", "extra")]
    for index in range(100):
        a = [d for d in decide(p, 9, tick(index), STACK, MonkeyState()).decisions if d.group == "chaoskit/api"]
        b = [d for d in decide(p, 9, tick(index), more, MonkeyState()).decisions if d.group == "chaoskit/api"]
        assert a == b


# -- eligibility, grouping, exclusions --------------------------------------------------------


def test_only_opted_in_containers_of_the_project_are_eligible():
    """A container without the opt-in label, or of another project, is never a candidate."""
    other = box("ckdev-api-1", "api", project="ckdev")
    chosen, excluded = eligible(policy(), STACK + [other])
    assert {c.name for c in chosen} == {"chaoskit-api-1", "chaoskit-api-2", "chaoskit-worker-1", "chaoskit-redis-1"}
    assert excluded == 0
    plan = decide(policy(), 1, tick(), STACK + [other], MonkeyState())
    assert {d.container.name for d in plan.kills}.isdisjoint({"chaoskit-postgres-1", "ckdev-api-1"})


def test_exclusions_remove_matching_containers_and_are_counted():
    """An exclusion by service or by label removes those containers from every group."""
    rules = (Selector(service="redis", project="chaoskit", state=None),
             Selector(labels={"chaoskit.monkey.exclude": "true"}, state=None))
    stack = STACK + [box("chaoskit-api-3", "api", **{"chaoskit.monkey.exclude": "true"})]
    plan = decide(policy(exclusions=rules), 1, tick(), stack, MonkeyState())
    assert plan.excluded == 2 and plan.groups == 2
    assert {d.group for d in plan.decisions} == {"chaoskit/api", "chaoskit/worker"}
    assert all(d.container.name != "chaoskit-api-3" for d in plan.decisions)


def test_grouped_by_compose_service_by_default():
    """Both api replicas form one group, so at most one of them is picked per tick."""
    groups = group_containers("service", STACK[:4])
    assert list(groups) == ["chaoskit/api", "chaoskit/redis", "chaoskit/worker"]
    assert [c.name for c in groups["chaoskit/api"]] == ["chaoskit-api-1", "chaoskit-api-2"]
    plan = decide(policy(), 1, tick(), STACK, MonkeyState())
    assert sum(d.group == "chaoskit/api" for d in plan.kills) == 1


def test_other_groupings():
    """container: each alone; project: the whole stack; label:KEY: by that label's value."""
    stack = [box("a", "api", team="x"), box("b", "api", team="y"), box("c", "worker", team="x")]
    assert list(group_containers("container", stack)) == ["a", "b", "c"]
    assert list(group_containers("project", stack)) == ["chaoskit"]
    assert {k: len(v) for k, v in group_containers("label:team", stack).items()} == {"team=x": 2, "team=y": 1}


def test_only_running_members_are_killed():
    """A stopped replica is never the victim; a group with none running is skipped with its reason."""
    stack = [box("api-1", "api", state="exited"), box("api-2", "api"), box("redis-1", "redis", state="exited")]
    plan = decide(policy(), 1, tick(), stack, MonkeyState())
    by_group = {d.group: d for d in plan.decisions}
    assert by_group["chaoskit/api"].action is Action.KILL and by_group["chaoskit/api"].container.name == "api-2"
    assert by_group["chaoskit/redis"].skip is Skip.NO_RUNNING_MEMBER


# -- limits -------------------------------------------------------------------------------


def test_min_interval_between_kills_of_a_group():
    """A group killed 60 s ago with a 300 s minimum is spared; at 300 s it may be killed again."""
    last = {"chaoskit/api": MONDAY_10 - timedelta(seconds=60)}
    p = policy(min_time_between_kills_s=300)
    plan = decide(p, 1, tick(), STACK, MonkeyState(last_kill_at=last))
    api = next(d for d in plan.decisions if d.group == "chaoskit/api")
    assert api.action is Action.SKIPPED and api.skip is Skip.MIN_INTERVAL and "60s ago" in api.detail
    assert all(d.action is Action.KILL for d in plan.decisions if d.group != "chaoskit/api")
    later = decide(p, 1, tick(now=MONDAY_10 + timedelta(seconds=240)), STACK, MonkeyState(last_kill_at=last))
    assert next(d for d in later.decisions if d.group == "chaoskit/api").action is Action.KILL


def test_advance_restarts_the_interval_for_kills_and_would_be_kills():
    """After a tick, every group acted on has its last-kill time set to that tick's time."""
    for leashed in (False, True):
        plan = decide(policy(leashed=leashed), 1, tick(), STACK, MonkeyState())
        state = advance(MonkeyState(), plan)
        assert set(state.last_kill_at) == {"chaoskit/api", "chaoskit/redis", "chaoskit/worker"}
        assert set(state.last_kill_at.values()) == {MONDAY_10}


def test_never_more_than_max_concurrent():
    """With one kill in flight and max 2, one more group is killed and the others are spared."""
    plan = decide(policy(max_concurrent=2), 1, tick(), STACK, MonkeyState(in_flight=1))
    assert len(plan.kills) == 1
    assert [d.skip for d in plan.skipped] == [Skip.MAX_CONCURRENT, Skip.MAX_CONCURRENT]
    full = decide(policy(max_concurrent=1), 1, tick(), STACK, MonkeyState(in_flight=1))
    assert not full.kills and all(d.skip is Skip.MAX_CONCURRENT for d in full.decisions)


def test_a_group_with_a_kill_in_flight_is_spared():
    """A group whose last kill has not recovered is not hit again, whatever the draw."""
    plan = decide(policy(), 1, tick(), STACK, MonkeyState(groups_in_flight=frozenset({"chaoskit/redis"}), in_flight=1))
    redis = next(d for d in plan.decisions if d.group == "chaoskit/redis")
    assert redis.skip is Skip.GROUP_IN_FLIGHT and len(plan.kills) == 2


def test_no_kill_while_the_steady_state_is_violated():
    """The outage check: with the steady state already violated every fired group is spared, reason given."""
    plan = decide(policy(), 1, tick(), STACK, MonkeyState(outage="probe 'error rate': 0.3 > max 0.01"))
    assert not plan.kills and len(plan.skipped) == 3
    assert all(d.skip is Skip.OUTAGE and "error rate" in d.detail for d in plan.skipped)


def test_leashed_would_kill_and_kills_nothing():
    """Leashed, every fired group is a would-be kill; none is a kill, and none takes a concurrency slot."""
    plan = decide(policy(leashed=True, max_concurrent=1), 1, tick(), STACK, MonkeyState())
    assert not plan.kills and len(plan.would_kills) == 3
    assert all(d.container is not None for d in plan.would_kills)


def test_skip_reasons_in_order():
    """Outside the window beats an outage, which beats the minimum interval and concurrency."""
    state = MonkeyState(outage="down", in_flight=5, last_kill_at={"chaoskit/api": MONDAY_10})
    night = datetime(2025, 6, 2, 23, 0, tzinfo=PARIS)
    office = Schedule("Europe/Paris", (0, 1, 2, 3, 4), 9 * 60, 17 * 60)
    assert {d.skip for d in decide(policy(schedule=office), 1, tick(now=night), STACK, state).decisions} == {Skip.OUTSIDE_WINDOW}
    assert {d.skip for d in decide(policy(schedule=office), 1, tick(), STACK, state).decisions} == {Skip.OUTAGE}


# -- schedule window -----------------------------------------------------------------------


OFFICE = Schedule("Europe/Paris", (0, 1, 2, 3, 4), 9 * 60, 17 * 60)


def test_window_hours_in_the_schedule_time_zone():
    """09:00-17:00 Paris is 07:00-15:00 UTC in summer and 08:00-16:00 UTC in winter; the end is excluded."""
    summer = datetime(2025, 6, 2, 7, 30, tzinfo=timezone.utc)  # Monday 09:30 CEST
    assert in_window(OFFICE, summer)
    assert not in_window(OFFICE, summer - timedelta(minutes=31))  # 08:59 CEST
    assert not in_window(OFFICE, datetime(2025, 6, 2, 15, 0, tzinfo=timezone.utc))  # 17:00 CEST, excluded
    winter = datetime(2025, 1, 6, 7, 30, tzinfo=timezone.utc)  # Monday 08:30 CET
    assert not in_window(OFFICE, winter)
    assert in_window(OFFICE, winter + timedelta(hours=1))


def test_window_weekdays_are_local_weekdays():
    """Saturday is out; Monday 00:30 Paris (still Sunday in UTC) is a Monday for a 00:00-24:00 weekday window."""
    weekdays = Schedule("Europe/Paris", (0, 1, 2, 3, 4), 0, 24 * 60)
    assert not in_window(weekdays, datetime(2025, 6, 7, 12, 0, tzinfo=PARIS))  # Saturday
    assert in_window(weekdays, datetime(2025, 6, 1, 22, 30, tzinfo=timezone.utc))  # Mon 00:30 CEST
    assert not in_window(Schedule("UTC", (0, 1, 2, 3, 4), 0, 24 * 60), datetime(2025, 6, 1, 22, 30, tzinfo=timezone.utc))


def test_overnight_window_belongs_to_the_day_it_opened():
    """22:00-06:00 on Fridays covers Friday night and the small hours of Saturday, not of Friday."""
    friday_night = Schedule("UTC", (4,), 22 * 60, 6 * 60)
    assert in_window(friday_night, datetime(2025, 6, 6, 23, 0, tzinfo=timezone.utc))  # Fri 23:00
    assert in_window(friday_night, datetime(2025, 6, 7, 3, 0, tzinfo=timezone.utc))  # Sat 03:00
    assert not in_window(friday_night, datetime(2025, 6, 6, 3, 0, tzinfo=timezone.utc))  # Fri 03:00
    assert not in_window(friday_night, datetime(2025, 6, 7, 12, 0, tzinfo=timezone.utc))


def test_window_needs_an_aware_time():
    """A naive datetime is refused rather than silently read as UTC."""
    with pytest.raises(ValueError):
        in_window(OFFICE, datetime(2025, 6, 2, 10, 0))


def test_closed_window_kills_nothing():
    """Outside the window fired groups are spared with the window in the reason."""
    plan = decide(policy(schedule=OFFICE), 1, tick(now=datetime(2025, 6, 7, 10, 0, tzinfo=PARIS)), STACK, MonkeyState())
    assert not plan.window_open and not plan.kills
    assert all(d.skip is Skip.OUTSIDE_WINDOW and "09:00-17:00" in d.detail for d in plan.decisions)

