"""Fan-out completeness against the real stack: Postgres's pending set, and the follower's cached timeline."""

from __future__ import annotations

import time
import uuid

import pytest

from chaoskit.adapters.backends import Backends
from chaoskit.errors import ChaoskitError
from chaoskit.model import parse_experiment
from chaoskit.model.probes import SampleProbe
from chaoskit.model.tolerance import Check, Threshold
from chaoskit.run.stack_probes import FanoutAudit, StackProbes, postgres_lookup
from tests.support import wait_until
from tests.unit.run.test_stack_probes import EXPERIMENT

pytestmark = pytest.mark.stack


def audit(stack, budget_s: float) -> FanoutAudit:
    probe = SampleProbe("no fan-out lost", "timeline.fanout_complete", {"budget": budget_s, "sample": 20},
                        (Check("value", Threshold(max=0.0)),))
    return FanoutAudit(probe, "post", f"http://127.0.0.1:{stack.api_port}",
                       postgres_lookup(Backends(), stack.project, "NOT fanned_out"))


def post(stack, user: int, marker: str) -> int:
    answer = stack.post("/tweets", {"user_id": user, "text": marker})
    assert answer.status == 201, answer
    return int(answer.body["id"])


def test_a_fanout_held_back_is_lost_until_the_worker_delivers_it(stack):
    """Worker stopped: a queued tweet is pending and not in the follower's cache (lost), a celebrity's is skipped,
    a delivered one marked pending again is only unconfirmed; once the worker runs, all are complete."""
    marker = f"fanout-it-{uuid.uuid4().hex[:8]}"
    author = stack.ordinary_user_with_followers(offset=3)
    (follower,) = stack.followers(author, 1)
    stack.warm(follower)
    delivered = post(stack, author, marker)
    wait_until(lambda: delivered in stack.timeline_ids(follower, limit=800, source="cache")[1],
               what="the first tweet in the follower's cache", timeout_s=20)
    wait_until(lambda: stack.sql(f"SELECT fanned_out FROM tweets WHERE id = {delivered}") == [["t"]],
               what="the first tweet marked fanned out", timeout_s=10)
    worker = stack.container("worker")
    worker.stop(timeout=5)
    try:
        held = post(stack, author, marker)
        celebrity = post(stack, stack.celebrity(), marker)
        stack.sql(f"UPDATE tweets SET fanned_out = false WHERE id = {delivered}")
        reading, result = audit(stack, 0.5).run([delivered, held, celebrity])
        assert (result.acknowledged, result.pending, result.lost, result.unconfirmed, result.skipped,
                result.unverified) == (3, 3, 1, 1, 1, 0), result
        assert result.lost_ids == (held,) and reading.subjects == {"value": 1} and not reading.judgement.ok
        assert f"lost e.g. [{held}]" in reading.judgement.reason
    finally:
        worker.start()
        stack.wait_healthy(worker)
    started = time.monotonic()
    reading, result = audit(stack, 30.0).run([delivered, held, celebrity])
    assert result.ok and result.pending == 0 and reading.judgement.ok, result
    # The queue drains at once; the re-marked tweet waits for the outbox sweep (TIMELINE_OUTBOX_DELAY_MS).
    assert result.waited_s <= time.monotonic() - started < 30
    assert held in stack.timeline_ids(follower, limit=800, source="cache")[1]


def test_preflight_refuses_a_project_without_postgres():
    """The pending set is asked of the compose project's postgres service: none running is refused before any fault."""
    text = EXPERIMENT.replace("title: t\n", "title: t\nenvironment: {compose_project: chaoskit-test-none}\n").replace(
        "{name: lost, type: timeline.durability, params: {database: false}, tolerance: 0}",
        "{name: gone, type: timeline.fanout_complete, tolerance: 0}").replace(
        '    - {name: lag, type: timeline.fanout_lag, params: {url: "http://stack"}, tolerance: 5s}\n', "")
    experiment = parse_experiment(text)
    with pytest.raises(ChaoskitError, match=r"^probe 'gone': which tweets are pending fan-out is asked of Postgres: "):
        StackProbes.prepare(experiment, Backends(), time.monotonic, 1.0)
