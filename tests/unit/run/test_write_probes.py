"""The write audits in the run loop, against a fake HTTP seam: sampling without waiting, audits, preflight."""

from __future__ import annotations

import json
import textwrap
import threading
import time
from typing import Any

import pytest

from chaoskit.adapters.backends import Backends
from chaoskit.errors import ChaoskitError
from chaoskit.model import parse_experiment
from chaoskit.model.probes import PendingProbe, ReadableProbe, StoreCommand, VisibleProbe, WriteRequest
from chaoskit.model.tolerance import Check, Threshold
from chaoskit.run.write_probes import (
    PendingAudit,
    ReadableAudit,
    VisibilitySampler,
    WriteProbes,
    only_upper_bounds,
    store_lookup,
)
from chaoskit.targets.container import Container
from chaoskit.targets.selector import Selector
from chaoskit.testing import FakeTargetBackend
from tests.support import wait_until


class FakeService:
    """Writes get ids from 100 up; a write shows in the feed once ``visible`` is set."""

    def __init__(self) -> None:
        self.visible = threading.Event()
        self.next_id = 100
        self.bodies: list[Any] = []

    def __call__(self, method: str, url: str, body: Any, timeout_s: float) -> tuple[int, bytes]:
        if method == "POST":
            self.next_id += 1
            self.bodies.append(body)
            return 201, json.dumps({"id": self.next_id, "user_id": 7}).encode()
        items = [{"id": i} for i in range(100, self.next_id + 1)] if self.visible.is_set() else []
        return 200, json.dumps({"items": items}).encode()


def visible_probe(tolerance: Any = Threshold(max=5.0), within_s: float = 60.0) -> VisibleProbe:
    return VisibleProbe("lag", WriteRequest("http://svc/posts", json={"text": "probe {seq}"}), "http://svc/feed/42",
                        (Check("value", tolerance),), within_s=within_s, poll_every_s=0.005)


@pytest.fixture
def sampler():
    """Builds samplers on a fake service and stops each at the end of the test."""
    made: list[VisibilitySampler] = []

    def build(service: FakeService, probe: VisibleProbe | None = None) -> VisibilitySampler:
        made.append(VisibilitySampler(probe or visible_probe(), 0.01, time.monotonic, service))
        return made[-1]

    yield build
    for made_one in made:
        made_one.stop()


def next_reading(s: VisibilitySampler, **kw: Any):
    found: list[Any] = []
    wait_until(lambda: found.append(s.observe(**kw)) or found[-1] is not None, what="a reading", timeout_s=5)
    return found[-1]


def test_a_finished_measurement_is_judged_on_its_lag(sampler):
    """The first round starts a measurement and reports nothing; a later one judges its lag (value, seconds)."""
    service = FakeService()
    service.visible.set()
    s = sampler(service)
    assert s.observe() is None
    reading = next_reading(s)
    assert reading.judgement.ok and 0 <= reading.subjects["value"] < 5
    assert "write 101 visible at http://svc/feed/42 after" in reading.judgement.reason
    assert "value: " in reading.judgement.reason
    assert s.held_since(0.0) and not s.held_since(time.monotonic() + 60)
    assert service.bodies[0] == {"text": "probe 1"}  # {seq} numbers the probe's writes


def test_a_late_write_is_a_violation_before_it_shows_and_when_it_does(sampler):
    """Over an upper bound while still polling: reported at once, then judged again when the write shows."""
    service = FakeService()
    s = sampler(service, visible_probe(Threshold(max=0.05)))
    s.observe()
    time.sleep(0.1)
    late = next_reading(s)
    assert not late.judgement.ok and late.subjects["value"] > 0.05
    assert "write 101 not yet visible at http://svc/feed/42" in late.judgement.reason
    assert "still polling" in late.judgement.reason
    service.visible.set()
    wait_until(lambda: "still polling" not in next_reading(s).judgement.reason, what="the write shown", timeout_s=5)
    assert not s.held_since(0.0)  # it showed, but too late


def test_no_early_violation_when_a_longer_lag_could_still_hold(sampler):
    """A lower bound (min) is not decided by a write still polling: nothing is reported until it finishes."""
    s = sampler(FakeService(), visible_probe(Threshold(min=10.0)))
    s.observe()
    time.sleep(0.05)
    assert s.observe() is None
    assert only_upper_bounds((Check("value", Threshold(max=1.0)),))
    assert not only_upper_bounds((Check("value", Threshold(min=0.1, max=1.0)),))


def test_a_write_never_visible_is_a_violation_saying_so_and_counted(sampler):
    """Past ``within`` the measurement ends as a violation naming the write; the summary counts it never visible."""
    s = sampler(FakeService(), visible_probe(Threshold(max=5.0), within_s=0.05))
    s.observe()
    reading = next_reading(s)
    assert not reading.judgement.ok and reading.subjects["value"] >= 0.05
    assert reading.judgement.reason == "write 101 not visible at http://svc/feed/42 after 0.05 s"
    summary = s.summary()
    assert (summary.writes, summary.visible, summary.never_visible, summary.lag_p99_s) == (1, 0, 1, None)


def test_stop_ends_the_polling_thread(sampler):
    """stop() wakes the poller: its thread ends promptly, so a run never waits for a late write."""
    s = sampler(FakeService())
    s.observe()
    time.sleep(0.02)
    s.stop()
    wait_until(lambda: not any(t.name.startswith("chaoskit-visibility") for t in threading.enumerate()),
               what="the visibility thread gone", timeout_s=3)


def readable_http(present: set[int], unanswered: frozenset[int] = frozenset()):
    def http(method: str, url: str, body: Any, timeout_s: float) -> tuple[int, bytes]:
        write = int(url.rsplit("/", 1)[1])
        return (0, b"") if write in unanswered else (200, b"{}") if write in present else (404, b"{}")
    return http


def readable(http, stored=None) -> ReadableAudit:
    probe = ReadableProbe("lost", "post", "http://svc/posts/{id}", (Check("value", Threshold(max=0.0)),))
    return ReadableAudit(probe, stored, http)


def test_readable_counts_what_it_checked_and_what_was_lost():
    """value is the writes lost (unreadable, or readable but not in the store); the reason has every count."""
    reading, result = readable(readable_http({1, 2, 3}), stored=lambda ids: {"1", "2"}).run([1, 2, 3, 4])
    assert reading.subjects == {"value": 2} and not reading.judgement.ok and not reading.judgement.inconclusive
    assert (result.acknowledged, result.checked, result.lost, result.unverified) == (4, 4, 1, 0)
    assert reading.judgement.reason == ("4 acknowledged by request 'post', 4 checked, 1 lost, 0 unverified; e.g. "
                                        "[4]; 1 write(s) readable but not in the store, e.g. [3]; value: 2 > max 0")
    held, _ = readable(readable_http({1, 2})).run([1, 2])
    assert held.judgement.ok and held.subjects == {"value": 0}


def test_readable_left_unverified_is_inconclusive():
    """Nothing lost but some writes unanswered: not shown readable, so inconclusive, not held."""
    reading, result = readable(readable_http({1}, frozenset({2}))).run([1, 2])
    assert result.unverified == 1 and reading.judgement.inconclusive and not reading.judgement.ok


def pending(lookup) -> PendingAudit:
    probe = PendingProbe("pending", "post", StoreCommand(Selector(service="db"), "x {ids}"),
                         (Check("value", Threshold(max=0.0)),), within_s=0.001, poll_every_s=0.001)
    return PendingAudit(probe, lookup)


def test_pending_is_the_value_and_the_reason_names_them():
    """Still listed as pending after the wait: value 2, a violation naming them; none left holds."""
    reading, result = pending(lambda ids: {"2", "3"} & set(ids)).run([1, 2, 3])
    assert reading.subjects == {"value": 2} and not reading.judgement.ok
    assert reading.judgement.reason.startswith("3 acknowledged by request 'post', 2 still pending after 0.0 s, "
                                               "0 unverified; e.g. [2, 3]")
    held, result = pending(lambda ids: set()).run([1, 2, 3])
    assert held.judgement.ok and held.subjects == {"value": 0} and result.pending == 0


def test_pending_unaskable_store_is_inconclusive():
    """A store that cannot be asked shows nothing: inconclusive, with why."""
    def broken(ids):
        raise LookupError("psql exited 2")
    reading, result = pending(broken).run([1, 2])
    assert result.unverified == 2 and reading.judgement.inconclusive
    assert "the store could not be asked which writes are pending (psql exited 2)" in reading.judgement.reason


class ScriptedBackend(FakeTargetBackend):
    """One running postgres-like target whose command output is scripted by its last argument."""

    def __init__(self, outputs: dict[str, str], code: int = 0):
        labels = {"com.docker.compose.service": "db", "com.docker.compose.project": "p"}
        super().__init__([Container("c1", "db-1", labels=labels)])
        self.outputs, self.code, self.commands = outputs, code, []

    def exec(self, target, argv, detach=False):
        self.commands.append(list(argv))
        return self.code, self.outputs.get(argv[-1], "")


def backends(outputs: dict[str, str] | None = None, code: int = 0) -> Backends:
    return Backends(targets=ScriptedBackend(outputs or {}, code))


def test_store_lookup_batches_ids_into_the_command_and_reads_the_listed_ones():
    """{ids} becomes each batch (comma-separated); every word of the output is an id found; a failure says why."""
    world = backends({"SELECT 1,2": "1\n", "SELECT 3": "3\n"})
    lookup = store_lookup(world, "p", StoreCommand(Selector(service="db"), ("q", "SELECT {ids}"), 2))
    assert lookup(["1", "2", "3"]) == {"1", "3"}
    assert world.targets.commands == [["q", "SELECT 1,2"], ["q", "SELECT 3"]]
    shell = store_lookup(world, "p", StoreCommand(Selector(service="db"), "echo {ids}"))
    shell(["5"])
    assert world.targets.commands[-1] == ["sh", "-c", "echo 5"]
    failing = store_lookup(backends(code=2), "p", StoreCommand(Selector(service="db"), "x {ids}"))
    with pytest.raises(LookupError, match="^sh in db-1 exited 2"):
        failing(["1"])


EXPERIMENT = """\
title: t
environment: {compose_project: p}
phases: {warmup: 0s, baseline: 1s, fault: 1s, recovery: 1s}
load:
  rate: 10
  requests:
    - {name: post, method: POST, url: "http://svc/posts", capture: id}
steady_state:
  title: h
  probes:
    - {name: lag, type: writes.visible, write: {url: "http://svc/posts"}, read: "http://svc/feed/42", tolerance: 5s}
    - {name: lost, type: writes.readable, url: "http://svc/posts/{id}", tolerance: 0}
    - {name: left, type: writes.pending, pending: {target: {service: db}, cmd: "x {ids}"}, tolerance: 0}
method:
  - {fault: container.kill, target: {service: worker}}
"""


def test_preflight_builds_every_write_probe_from_the_loaded_values():
    """The sampler and both audits take the probes as loaded: request resolved, defaults applied."""
    experiment = parse_experiment(textwrap.dedent(EXPERIMENT))
    probes = WriteProbes.prepare(experiment, backends(), time.monotonic, 1.0, http=FakeService())
    lag = probes.samplers["lag"]
    assert (lag.every_s, lag.probe.within_s) == (1.0, 60.0)
    lost, left = probes.audits
    assert (lost.request, lost.probe.url, lost.stored) == ("post", "http://svc/posts/{id}", None)
    assert (left.request, left.event) == ("post", "writes.pending.checked")
    assert probes.summaries() == [("writes.visible.summary", {
        "probe": "lag", "writes": 0, "visible": 0, "never_visible": 0, "not_acknowledged": 0, "lag_p50_s": None,
        "lag_p90_s": None, "lag_p99_s": None, "lag_max_s": None})]


def test_preflight_refuses_in_one_line_a_store_it_cannot_find():
    """No container matches the store command's target: one line, naming the probe and the key."""
    experiment = parse_experiment(textwrap.dedent(EXPERIMENT).replace("service: db", "service: nowhere"))
    with pytest.raises(ChaoskitError, match=r"^probe 'left': pending: "):
        WriteProbes.prepare(experiment, backends(), time.monotonic, 1.0, http=FakeService())
