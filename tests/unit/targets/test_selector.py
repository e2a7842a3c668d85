"""Selectors: matching rules, validation, and the string form used on the command line."""

from __future__ import annotations

import pytest

from chaoskit.targets import COMPOSE_PROJECT_LABEL, COMPOSE_SERVICE_LABEL, Container, Selector, parse_selector, select


def box(
    name: str, service: str | None = None, project: str = "chaoskit", state: str = "running", **labels: str
) -> Container:
    all_labels = dict(labels)
    if service:
        all_labels |= {"com.docker.compose.project": project, "com.docker.compose.service": service}
    return Container(id=name + "-id", name=name, labels=all_labels, state=state)


def test_matching_by_name_glob_service_project_and_labels() -> None:
    """Every given criterion must hold; names and label values are globs."""
    api = box("chaoskit-api-1", "api", tier="front")
    assert Selector(name="chaoskit-api-*").matches(api)
    assert Selector(name="chaoskit-api-1").matches(api)
    assert not Selector(name="api").matches(api)
    assert Selector(service="api", project="chaoskit").matches(api)
    assert not Selector(service="api", project="other").matches(api)
    assert Selector(labels={"tier": "fr*"}).matches(api)
    assert not Selector(labels={"tier": "front", "missing": "*"}).matches(api)


def test_state_filter_defaults_to_running() -> None:
    """By default only running containers match; state=None matches any."""
    dead = box("r", "redis", state="exited")
    assert not Selector(service="redis").matches(dead)
    assert Selector(service="redis", state=None).matches(dead)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "at least one"),
        ({"service": "a", "count": 1, "percent": 10}, "not both"),
        ({"service": "a", "count": 0}, "count"),
        ({"service": "a", "percent": 0}, "percent"),
        ({"service": "a", "percent": 150}, "percent"),
        ({"service": "a", "max_fraction": 0}, "max_fraction"),
        ({"service": "a", "max_count": 0}, "max_count"),
    ],
)
def test_invalid_selectors_are_refused(kwargs: dict, message: str) -> None:
    """An empty selector (that would match everything), both count and percent, or out-of-range caps are refused."""
    with pytest.raises(ValueError, match=message):
        Selector(**kwargs)


def test_wanted_rounds_percent_up_with_minimum_one() -> None:
    """percent rounds up and never asks for zero; count is capped by the candidates; neither means all."""
    assert Selector(service="a", percent=50).wanted(3) == 2
    assert Selector(service="a", percent=1).wanted(10) == 1
    assert Selector(service="a", percent=30).wanted(10) == 3
    assert Selector(service="a", count=5).wanted(2) == 2
    assert Selector(service="a").wanted(4) == 4


def test_string_form_round_trips() -> None:
    """parse_selector reads what str(Selector) writes, including labels, state and caps."""
    selector = Selector(
        service="api",
        project="chaoskit",
        labels={"chaos.monkey": "true"},
        state=None,
        count=2,
        max_fraction=0.5,
        max_count=3,
    )
    assert parse_selector(str(selector)) == selector
    assert parse_selector("chaoskit-api-*") == Selector(name="chaoskit-api-*")
    assert parse_selector("service=api,percent=50%") == Selector(service="api", percent=50.0)
    assert parse_selector("label=a=b max_fraction=50%").max_fraction == 0.5


@pytest.mark.parametrize(
    "text", ["", "service=", "colour=red", "label=novalue", "count=two", "service=a count=1 percent=2"]
)
def test_string_form_errors(text: str) -> None:
    """Unknown keys, empty values, bad numbers and inconsistent terms are refused."""
    with pytest.raises(ValueError):
        parse_selector(text)


def test_default_project_scopes_every_selector_unless_it_says_scope_any() -> None:
    """The environment's project is added to service, name and label selectors; never over an explicit project,
    never to one that says scope: any."""
    assert Selector(service="api").with_default_project("chaoskit").project == "chaoskit"
    assert Selector(service="api", project="x").with_default_project("chaoskit").project == "x"
    assert Selector(name="*redis*").with_default_project("chaoskit").project == "chaoskit"
    assert Selector(labels={"tier": "db"}).with_default_project("chaoskit").project == "chaoskit"
    assert Selector(name="*redis*", scope="any").with_default_project("chaoskit").project is None
    assert Selector(name="n").with_default_project(None).project is None


def test_a_name_glob_no_longer_reaches_another_projects_container() -> None:
    """*redis* in project chaoskit picks chaoskit's redis, not another project's prod-redis-1."""
    ours = Container("a", "chaoskit-redis-1", labels={COMPOSE_PROJECT_LABEL: "chaoskit", COMPOSE_SERVICE_LABEL: "redis"})
    theirs = Container("b", "prod-redis-1", labels={COMPOSE_PROJECT_LABEL: "prod", COMPOSE_SERVICE_LABEL: "redis"})
    scoped = Selector(name="*redis*").with_default_project("chaoskit")
    assert [c.name for c in select([ours, theirs], scoped).chosen] == ["chaoskit-redis-1"]
    anywhere = Selector(name="*redis*", scope="any").with_default_project("chaoskit")
    assert [c.name for c in select([ours, theirs], anywhere).chosen] == ["chaoskit-redis-1", "prod-redis-1"]


def test_wildcards_and_caps_are_recognised() -> None:
    """Globs, label-only and project-only selectors are wildcards; count, percent and both caps bound them."""
    assert Selector(name="*").is_wildcard and Selector(labels={"a": "b*"}).is_wildcard
    assert Selector(project="p").is_wildcard and Selector(labels={"a": "b"}).is_wildcard
    assert not Selector(service="api").is_wildcard and not Selector(name="exact-1").is_wildcard
    assert not Selector(name="*").is_capped
    for cap in ({"count": 1}, {"percent": 10.0}, {"max_fraction": 0.5}, {"max_count": 2}):
        assert Selector(name="*", **cap).is_capped


def test_scope_and_uncapped_round_trip_through_the_string_form() -> None:
    """scope=any and uncapped=true are written by str() and read back by parse_selector."""
    selector = Selector(name="*", scope="any", uncapped=True)
    assert parse_selector(str(selector)) == selector
    with pytest.raises(ValueError, match="scope must be one of"):
        parse_selector("name=x scope=everywhere")


def test_required_labels_are_added_and_a_clash_is_refused() -> None:
    """requiring() adds the environment's opt-in labels; asking for another value of one is an error."""
    assert Selector(service="api").requiring({"chaoskit.enabled": "true"}).labels == {"chaoskit.enabled": "true"}
    with pytest.raises(ValueError, match="requires chaoskit.enabled=true"):
        Selector(service="api", labels={"chaoskit.enabled": "false"}).requiring({"chaoskit.enabled": "true"})
