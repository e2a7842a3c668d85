"""Selectors: matching rules, validation, and the string form used on the command line."""

from __future__ import annotations

import pytest

from chaoskit.targets import Container, Selector, parse_selector


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


def test_default_project_only_scopes_service_selectors() -> None:
    """The environment's project is added to a service selector, never to a name selector or over an explicit one."""
    assert Selector(service="api").with_default_project("chaoskit").project == "chaoskit"
    assert Selector(service="api", project="x").with_default_project("chaoskit").project == "x"
    assert Selector(name="n").with_default_project("chaoskit").project is None
