"""Selection: picking, seeded randomness, blast-radius caps, grouping, and helpful errors."""

from __future__ import annotations

import random

import pytest

from chaoskit.errors import TargetNotFound
from chaoskit.targets import Container, Selector, ServiceKey, group_by_service, select

from .test_selector import box


def fleet() -> list[Container]:
    return [
        *(box(f"chaoskit-api-{i}", "api") for i in range(1, 5)),
        box("chaoskit-redis-1", "redis"),
        box("chaoskit-postgres-1", "postgres"),
        box("chaoskit-worker-1", "worker", state="exited"),
        box("loner", None, tier="x"),
    ]


def names(selection) -> list[str]:
    return [c.name for c in selection.chosen]


def test_all_matches_by_default_sorted_by_name() -> None:
    """Without count or percent every candidate is chosen, in name order."""
    selection = select(fleet(), Selector(service="api"), rng=1)
    assert (
        names(selection) == [f"chaoskit-api-{i}" for i in range(1, 5)]
        and selection.candidates == 4
        and selection.notes == ()
    )


def test_seeded_picks_are_deterministic_and_order_independent() -> None:
    """The same seed picks the same containers whatever order the engine listed them in."""
    containers = fleet()
    first = names(select(containers, Selector(service="api", count=2), rng=42))
    shuffled = containers[:]
    random.Random(0).shuffle(shuffled)
    assert names(select(shuffled, Selector(service="api", count=2), rng=42)) == first
    assert len(first) == 2
    seen = {tuple(names(select(containers, Selector(service="api", count=2), rng=seed))) for seed in range(30)}
    assert len(seen) > 1  # different seeds do pick differently


def test_percent_rounds_up() -> None:
    """percent=30 of 4 replicas picks 2 (rounded up), percent=1 picks 1."""
    assert len(select(fleet(), Selector(service="api", percent=30), rng=0).chosen) == 2
    assert len(select(fleet(), Selector(service="api", percent=1), rng=0).chosen) == 1


def test_max_fraction_never_takes_more_than_half_of_a_service() -> None:
    """max_fraction 0.5 caps each service at floor(half) of its running replicas, and says so."""
    selection = select(fleet(), Selector(service="api", max_fraction=0.5), rng=3)
    assert len(selection.chosen) == 2
    assert selection.notes == ("max_fraction 0.5 allows 2 of chaoskit/api's 4 running replica(s)",)


def test_max_fraction_counts_replicas_not_only_matches() -> None:
    """Naming one replica of two is allowed at 0.5: the cap counts the service's replicas, not the matches."""
    two = [box("api-1", "api"), box("api-2", "api")]
    assert names(select(two, Selector(name="api-1", max_fraction=0.5))) == ["api-1"]


def test_cap_counts_only_live_replicas() -> None:
    """With one of two replicas already down, max_fraction 0.5 refuses to take the last one."""
    pair = [box("api-1", "api"), box("api-2", "api", state="exited")]
    with pytest.raises(TargetNotFound, match="blast-radius cap allows none"):
        select(pair, Selector(service="api", max_fraction=0.5))


def test_single_replica_service_is_protected_by_fraction_cap() -> None:
    """A one-replica service cannot be hit under max_fraction 0.5: the error says why."""
    with pytest.raises(TargetNotFound, match=r"allows 0 of chaoskit/redis's 1 running"):
        select(fleet(), Selector(service="redis", max_fraction=0.5))


def test_max_count_caps_across_services() -> None:
    """max_count caps the total pick across all services, and a note says so."""
    selection = select(fleet(), Selector(project="chaoskit", max_count=2), rng=5)
    assert len(selection.chosen) == 2 and "max_count 2" in selection.notes[0]


def test_per_service_cap_with_label_selector_spanning_services() -> None:
    """A selector spanning services applies the fraction cap to each service separately."""
    containers = [box(f"a{i}", "a", monkey="on") for i in range(4)] + [box(f"b{i}", "b", monkey="on") for i in range(2)]
    selection = select(containers, Selector(labels={"monkey": "on"}, max_fraction=0.5), rng=9)
    groups = selection.by_service()
    assert [len(v) for v in groups.values()] == [2, 1]


def test_nothing_matched_says_what_exists() -> None:
    """TargetNotFound names the selector and lists the containers and compose services that do exist."""
    with pytest.raises(TargetNotFound) as info:
        select(fleet(), Selector(service="cache"))
    message = str(info.value)
    assert "selector 'service=cache' matched no container" in message
    assert "chaoskit-redis-1 (chaoskit/redis, running)" in message and "services: chaoskit/api" in message


def test_nothing_running_says_what_matches_in_another_state() -> None:
    """When the only matches are stopped, the error says so instead of listing everything."""
    with pytest.raises(TargetNotFound, match="in state running; these match in another state: chaoskit-worker-1"):
        select(fleet(), Selector(service="worker"))


def test_empty_engine() -> None:
    """With no containers at all, the error says so."""
    with pytest.raises(TargetNotFound, match="no containers exist"):
        select([], Selector(name="x"))


def test_group_by_service() -> None:
    """Containers group by (project, service); a container outside compose is its own group."""
    groups = group_by_service(fleet())
    assert groups[ServiceKey("chaoskit", "api")][0].name == "chaoskit-api-1"
    assert len(groups[ServiceKey("chaoskit", "api")]) == 4
    assert ServiceKey(None, "loner") in groups and str(ServiceKey(None, "loner")) == "loner"
    assert list(groups)[0] == ServiceKey(None, "loner")
