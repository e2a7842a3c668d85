"""The sample stack's probes in the run loop, against a fake HTTP seam: sampling without waiting, audits, preflight."""

from __future__ import annotations

import dataclasses
import json
import textwrap
import threading
import time
from typing import Any

import pytest

from chaoskit.adapters.backends import Backends
from chaoskit.errors import ChaoskitError
from chaoskit.model import parse_experiment
from chaoskit.model.probes import SampleProbe
from chaoskit.model.tolerance import Check, Threshold
from chaoskit.run.stack_probes import DurabilityAudit, FanoutAudit, FanoutSampler, StackProbes, only_upper_bounds
from chaoskit.testing import FakeStack
from tests.support import wait_until


def lag_probe(tolerance: Any = Threshold(max=5.0), **params: Any) -> SampleProbe:
    return SampleProbe("lag", "timeline.fanout_lag", {"url": "http://stack", "poll_every": 0.005, **params},
                       (Check("value", tolerance),))


@pytest.fixture
def sampler():
    """Builds samplers on a fake stack and stops each at the end of the test."""
    made: list[FanoutSampler] = []

    def build(stack: FakeStack, probe: SampleProbe | None = None) -> FanoutSampler:
        made.append(FanoutSampler(probe or lag_probe(), "http://stack", 1, 42, 0.01, time.monotonic, stack))
        return made[-1]

    yield build
    for made_one in made:
        made_one.stop()


def next_reading(s: FanoutSampler, **kw: Any):
    found: list[Any] = []
    wait_until(lambda: found.append(s.observe(**kw)) or found[-1] is not None, what="a reading", timeout_s=5)
    return found[-1]


def test_a_finished_measurement_is_judged_on_its_lag(sampler):
    """The first round starts a measurement and reports nothing; a later one judges its lag (value, seconds)."""
    stack = FakeStack()
    stack.visible.set()
    s = sampler(stack)
    assert s.observe() is None
    reading = next_reading(s)
    assert reading.judgement.ok and 0 <= reading.subjects["value"] < 5
    assert "in user 42's timeline after" in reading.judgement.reason and "value: " in reading.judgement.reason
    assert s.held_since(0.0) and not s.held_since(time.monotonic() + 60)


def test_a_late_tweet_is_a_violation_before_it_shows_and_when_it_does(sampler):
    """Over an upper bound while still polling: reported at once, then judged again when the tweet shows."""
    stack = FakeStack()
    s = sampler(stack, lag_probe(Threshold(max=0.05)))
    s.observe()
    time.sleep(0.1)
    late = next_reading(s)
    assert not late.judgement.ok and late.subjects["value"] > 0.05
    assert "not yet in user 42's timeline" in late.judgement.reason and "still polling" in late.judgement.reason
    stack.visible.set()
    wait_until(lambda: "still polling" not in next_reading(s).judgement.reason, what="the tweet shown",
               timeout_s=5)
    assert not s.held_since(0.0)  # it showed, but too late


def test_no_early_violation_when_a_longer_lag_could_still_hold(sampler):
    """A lower bound (min) is not decided by a tweet still polling: nothing is reported until it finishes."""
    stack = FakeStack()
    s = sampler(stack, lag_probe(Threshold(min=10.0)))
    s.observe()
    time.sleep(0.05)
    assert s.observe() is None
    assert only_upper_bounds((Check("value", Threshold(max=1.0)),))
    assert not only_upper_bounds((Check("value", Threshold(min=0.1, max=1.0)),))


def test_a_tweet_never_shown_is_a_violation_saying_so(sampler):
    """Past the probe's timeout the measurement ends as a violation naming the tweet, valued at the wait."""
    s = sampler(FakeStack(), lag_probe(Threshold(max=5.0), timeout=0.05))
    s.observe()
    reading = next_reading(s)
    assert not reading.judgement.ok and reading.subjects["value"] >= 0.05
    assert reading.judgement.reason == "tweet 100 not in user 42's timeline after 0.05 s"


def test_stop_ends_the_polling_thread(sampler):
    """stop() wakes the poller: its thread ends promptly, so a run never waits for a late tweet."""
    s = sampler(FakeStack())
    s.observe()
    time.sleep(0.02)
    s.stop()
    wait_until(lambda: not any(t.name.startswith("chaoskit-fanout") for t in threading.enumerate()),
               what="the fan-out thread gone", timeout_s=3)


def durable(present: set[int], unanswered: frozenset[int] = frozenset()):
    def http(method: str, url: str, body: Any, timeout_s: float) -> tuple[int, bytes]:
        tweet = int(url.rsplit("/", 1)[1])
        return (0, b"") if tweet in unanswered else (200, b"{}") if tweet in present else (404, b"{}")
    return http


def audit(http, in_database=None) -> DurabilityAudit:
    probe = SampleProbe("lost", "timeline.durability", {"database": False}, (Check("value", Threshold(max=0.0)),))
    return DurabilityAudit(probe, "post", "http://stack", in_database, http)


def test_durability_counts_what_it_checked_and_what_was_lost():
    """value is the tweets lost (unreadable, or readable but not in Postgres); the reason has every count."""
    reading, result = audit(durable({1, 2, 3}), in_database=lambda ids: {1, 2}).run([1, 2, 3, 4])
    assert reading.subjects == {"value": 2} and not reading.judgement.ok and not reading.judgement.inconclusive
    assert (result.acknowledged, result.checked, result.lost, result.unverified) == (4, 4, 1, 0)
    assert reading.judgement.reason == ("4 acknowledged by request 'post', 4 checked, 1 lost, 0 unverified; lost e.g. "
                                        "[4]; 1 tweet(s) readable but not in Postgres, e.g. [3]; value: 2 > max 0")
    held, _ = audit(durable({1, 2})).run([1, 2])
    assert held.judgement.ok and held.subjects == {"value": 0}


def test_durability_left_unverified_is_inconclusive():
    """Nothing lost but some tweets unanswered: not shown durable, so inconclusive, not held."""
    reading, result = audit(durable({1}, frozenset({2}))).run([1, 2])
    assert result.unverified == 1 and reading.judgement.inconclusive and not reading.judgement.ok


def fanout_api(cached: list[int]):
    """Every tweet is by user 1, whose one follower (2) has ``cached`` in their cached timeline."""
    def http(method: str, url: str, body: Any, timeout_s: float) -> tuple[int, bytes]:
        if "/tweets/" in url:
            return 200, json.dumps({"id": int(url.rsplit("/", 1)[1]), "user_id": 1}).encode()
        if "/followers" in url:
            return 200, json.dumps({"celebrity": False, "followers": [2]}).encode()
        return 200, json.dumps({"tweets": [{"id": i} for i in cached]}).encode()
    return http


def fanout_audit(http, pending) -> FanoutAudit:
    probe = SampleProbe("fan-out", "timeline.fanout_complete", {"budget": 0.001, "sample": 2},
                        (Check("value", Threshold(max=0.0)),))
    return FanoutAudit(probe, "post", "http://stack", pending, http)


def test_fanout_lost_is_the_value_and_the_reason_has_every_count():
    """Pending in Postgres and absent from the follower's cache: value 1, a violation naming the tweet."""
    reading, result = fanout_audit(fanout_api([3]), lambda ids: {2, 3} & set(ids)).run([1, 2, 3])
    assert reading.subjects == {"value": 1} and not reading.judgement.ok and not reading.judgement.inconclusive
    assert (result.pending, result.lost, result.unconfirmed) == (2, 1, 1)
    assert reading.judgement.reason.startswith(
        "3 acknowledged by request 'post', 2 still pending fan-out after 0.0 s, 2 checked from a follower's side, "
        "1 lost, 0 unverified; lost e.g. [2]; 1 tweet(s) pending in Postgres but in the follower's cache")
    assert reading.judgement.reason.endswith("; value: 1 > max 0")
    held, _ = fanout_audit(fanout_api([]), lambda ids: set()).run([1, 2, 3])
    assert held.judgement.ok and held.subjects == {"value": 0}


def test_fanout_left_unverified_is_inconclusive():
    """More pending than the sample and none lost among it: completeness not shown, so inconclusive."""
    reading, result = fanout_audit(fanout_api([1, 2, 3]), lambda ids: set(ids)).run([1, 2, 3])
    assert (result.lost, result.unverified) == (0, 1)
    assert reading.judgement.inconclusive and not reading.judgement.ok
    assert reading.judgement.reason.endswith("fan-out not shown complete")


EXPERIMENT = """\
title: t
phases: {warmup: 0s, baseline: 1s, fault: 1s, recovery: 1s}
load:
  rate: 10
  requests:
    - {name: post, method: POST, url: "http://stack/tweets", capture: id}
steady_state:
  title: h
  probes:
    - {name: lag, type: timeline.fanout_lag, params: {url: "http://stack"}, tolerance: 5s}
    - {name: lost, type: timeline.durability, params: {database: false}, tolerance: 0}
method:
  - {fault: container.kill, target: {service: worker}}
"""


def test_preflight_builds_both_probes_finding_the_pair_through_the_api():
    """The poster is asked of GET /users/{id}/followers; the audit reads the one capturing request's ids."""
    experiment = parse_experiment(textwrap.dedent(EXPERIMENT))
    probes = StackProbes.prepare(experiment, Backends(), time.monotonic, 1.0, http=FakeStack())
    lag = probes.samplers["lag"]
    assert (lag.url, lag.poster, lag.follower, lag.every_s, lag.timeout_s) == ("http://stack", 1, 42, 1.0, 60.0)
    (lost,) = probes.audits
    assert (lost.request, lost.url, lost.in_database) == ("post", "http://stack", None)



def test_preflight_refuses_in_one_line_what_cannot_work():
    """A durability probe whose load captures nothing, or a fan-out probe with no pair: one line, naming the probe."""
    experiment = parse_experiment(textwrap.dedent(EXPERIMENT))
    load = experiment.load
    uncaptured = dataclasses.replace(experiment, load=dataclasses.replace(
        load, requests=(dataclasses.replace(load.requests[0], capture=None),)))
    with pytest.raises(ChaoskitError) as info:
        StackProbes.prepare(uncaptured, Backends(), time.monotonic, 1.0, http=FakeStack())
    assert str(info.value) == ("probe 'lost': no load request captures the ids of the tweets it posts: "
                               "add capture: id to the request that posts them")
    stack = FakeStack()
    stack.followers_status = 404
    with pytest.raises(ChaoskitError, match=r"^probe 'lag': no poster and follower to time fan-out with: "
                                            r"GET http://stack/users/1/followers\?limit=1 answered 404"):
        StackProbes.prepare(experiment, Backends(), time.monotonic, 1.0, http=stack)
