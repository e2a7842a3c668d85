"""writes.pending against the real stack: Postgres's outbox (fanned_out = false) as the store's pending list."""

from __future__ import annotations

import textwrap
import time
import uuid

import pytest

from chaoskit.adapters.backends import Backends
from chaoskit.errors import ChaoskitError
from chaoskit.model import parse_experiment
from chaoskit.model.probes import PendingProbe, StoreCommand
from chaoskit.model.tolerance import Check, Threshold
from chaoskit.run.write_probes import PendingAudit, WriteProbes, store_lookup
from chaoskit.targets.selector import Selector
from tests.unit.run.test_write_probes import EXPERIMENT

pytestmark = pytest.mark.stack

PENDING = ("psql", "-U", "postgres", "-AtX", "-c", "SELECT id FROM tweets WHERE id IN ({ids}) AND NOT fanned_out")


def audit(stack, within_s: float) -> PendingAudit:
    command = StoreCommand(Selector(service="postgres", project=stack.project), PENDING)
    probe = PendingProbe("no fan-out lost", "post", command, (Check("value", Threshold(max=0.0)),), within_s=within_s)
    return PendingAudit(probe, store_lookup(Backends(), stack.project, command))


def post(stack, user: int, marker: str) -> int:
    answer = stack.post("/tweets", {"user_id": user, "text": marker})
    assert answer.status == 201, answer
    return int(answer.body["id"])


def test_a_fanout_held_back_is_pending_until_the_worker_delivers_it(stack):
    """Worker stopped: a queued tweet stays pending past the bound (a violation naming it); once the worker runs,
    nothing is pending, and the tweet is in a follower's cache."""
    marker = f"pending-it-{uuid.uuid4().hex[:8]}"
    author = stack.ordinary_user_with_followers(offset=3)
    (follower,) = stack.followers(author, 1)
    stack.warm(follower)
    worker = stack.container("worker")
    worker.stop(timeout=5)
    try:
        held = post(stack, author, marker)
        reading, result = audit(stack, 0.5).run([held])
        assert (result.acknowledged, result.pending, result.unverified) == (1, 1, 0), result
        assert result.pending_ids == (held,) and reading.subjects == {"value": 1} and not reading.judgement.ok
        assert f"e.g. [{held}]" in reading.judgement.reason
    finally:
        worker.start()
        stack.wait_healthy(worker)
    started = time.monotonic()
    reading, result = audit(stack, 30.0).run([held])
    assert result.ok and result.pending == 0 and reading.judgement.ok, result
    assert result.waited_s <= time.monotonic() - started < 30
    assert held in stack.timeline_ids(follower, limit=800, source="cache")[1]


def test_preflight_refuses_a_project_without_the_store():
    """The pending list is asked of the store's container: none running is refused before any fault."""
    text = textwrap.dedent(EXPERIMENT).replace("compose_project: p", "compose_project: chaoskit-test-none")
    with pytest.raises(ChaoskitError, match=r"^probe 'left': pending: "):
        WriteProbes.prepare(parse_experiment(text), Backends(), time.monotonic, 1.0)
