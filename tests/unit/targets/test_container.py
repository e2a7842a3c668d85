"""Container descriptions parsed from captured Docker JSON (engine 20.10, API 1.41)."""

from __future__ import annotations

import json
from pathlib import Path

from chaoskit.targets import Container

DATA = Path(__file__).with_name("data")


def test_from_inspect_of_a_real_container() -> None:
    """docker inspect JSON gives name, image, labels, state, health, compose service, networks and pid."""
    attrs = json.loads((DATA / "inspect_redis.json").read_text())
    c = Container.from_inspect(attrs)
    assert c.id == attrs["Id"] and c.short_id == attrs["Id"][:12]
    assert c.name == "ckmodel-redis-1" and c.image == "chaoskit/redis"
    assert c.state == "running" and c.health == "healthy" and c.pid == 19759
    assert c.compose_project == "chaoskit" and c.compose_service == "redis"
    assert c.networks == ("ckmodel-net",)
    assert c.describe() == "ckmodel-redis-1 (chaoskit/redis, running, healthy)"


def test_from_summary_of_a_real_list_item() -> None:
    """The container list format (one call for all) parses to the same description, minus the pid."""
    summary = Container.from_summary(json.loads((DATA / "summary_redis.json").read_text()))
    inspected = Container.from_inspect(json.loads((DATA / "inspect_redis.json").read_text()))
    assert summary.pid is None
    assert (summary.id, summary.name, summary.image, summary.state, summary.health, summary.networks) == (
        inspected.id,
        inspected.name,
        inspected.image,
        inspected.state,
        inspected.health,
        inspected.networks,
    )
    assert summary.labels == inspected.labels


def test_unknown_and_missing_keys_are_tolerated() -> None:
    """Parsing ignores unknown keys and fills gaps: no healthcheck, stopped, no labels, no networks."""
    c = Container.from_inspect(
        {
            "Id": "abc",
            "Name": "/x",
            "State": {"Status": "exited", "Pid": 0},
            "Future": {"k": 1},
            "Config": {"Labels": None},
        }
    )
    assert (c.name, c.state, c.health, c.pid, c.labels, c.networks, c.compose_service) == (
        "x",
        "exited",
        None,
        None,
        {},
        (),
        None,
    )
    assert c.describe() == "x (exited)"


def test_summary_health_variants() -> None:
    """'(health: starting)', '(unhealthy)' and no health in the status text are all understood."""

    def health(status: str) -> str | None:
        return Container.from_summary({"Id": "a", "Names": ["/a"], "State": "running", "Status": status}).health

    assert health("Up 2 seconds (health: starting)") == "starting"
    assert health("Up 1 hour (unhealthy)") == "unhealthy"
    assert health("Up 5 minutes") is None
