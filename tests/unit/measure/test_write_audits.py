"""Write audits (visibility, readability, pending writes) against a fake HTTP seam, a fake store and a fake clock."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chaoskit.measure.write_audits import (
    Visibility,
    check_pending,
    check_readable,
    holds_id,
    summarize,
    visibility,
    with_id,
)
from chaoskit.model.probes import WriteRequest


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class FakeService:
    """Writes get id 100; it shows in the feed ``visible_after`` polls later."""

    def __init__(self, clock: FakeClock, visible_after: int = 3, write_status: int = 201) -> None:
        self.clock = clock
        self.visible_after = visible_after
        self.write_status = write_status
        self.polls = 0
        self.calls: list[tuple[str, str, Any]] = []

    def __call__(self, method: str, url: str, body: Any, timeout_s: float) -> tuple[int, bytes]:
        self.calls.append((method, url, body))
        self.clock.now += 0.01  # every request takes 10 ms
        if method == "POST":
            return self.write_status, json.dumps({"id": 100, "user_id": 7}).encode()
        self.polls += 1
        # user_id 100 is not the write's id: only "id": 100 shows it.
        items = [{"id": 100}] if self.polls >= self.visible_after else [{"id": 7, "user_id": 100}]
        return 200, json.dumps({"items": items}).encode()


WRITE = WriteRequest("http://svc/posts/{seq}", json={"by": 7, "text": "n{seq}", "tags": ["t{seq}"]})


def test_visibility_is_measured_from_the_acknowledgement():
    """The lag runs from the write's 2xx to the first poll whose answer holds the id; {seq} numbers the write."""
    clock = FakeClock()
    service = FakeService(clock, visible_after=3)
    result = visibility(WRITE, "http://svc/feed/42?after={id}", 5, within_s=60, poll_every_s=0.05, timeout_s=2,
                        http=service, clock=clock, sleep=clock.sleep)
    assert result.ok and result.write_id == 100 and result.polls == 3
    # 3 polls of 10 ms and 2 pauses of 50 ms after the acknowledgement.
    assert result.lag_s == pytest.approx(0.13) and result.write_s == pytest.approx(0.01)
    assert service.calls[0] == ("POST", "http://svc/posts/5", {"by": 7, "text": "n5", "tags": ["t5"]})
    assert service.calls[1][1] == "http://svc/feed/42?after=100"


def test_a_write_never_visible_fails_after_the_bound():
    """A write that never shows fails after ``within``, naming it and where it was looked for."""
    clock = FakeClock()
    result = visibility(WRITE, "http://svc/feed", 1, within_s=1.0, poll_every_s=0.05, timeout_s=2,
                        http=FakeService(clock, visible_after=10**9), clock=clock, sleep=clock.sleep)
    assert not result.ok and result.lag_s is None and result.acknowledged
    assert result.reason == "write 100 not visible at http://svc/feed after 1 s"
    assert result.polls < 30


@pytest.mark.parametrize(("status", "said"), [(503, "write answered 503"), (0, "write answered nothing")])
def test_a_write_not_acknowledged_fails_at_once(status, said):
    """A write not answered 2xx ends the measurement at once, saying what came back."""
    clock = FakeClock()
    result = visibility(WRITE, "http://svc/feed", 1, within_s=1, poll_every_s=0.05, timeout_s=2,
                        http=FakeService(clock, write_status=status), clock=clock, sleep=clock.sleep)
    assert not result.ok and not result.acknowledged and result.polls == 0 and said in result.reason


def test_visibility_tells_its_ack_and_can_be_cancelled():
    """on_ack gets the id and the acknowledgement's time; cancelled() ends the polling, marked stopped."""
    clock = FakeClock()
    acks: list[tuple[Any, float]] = []
    result = visibility(WRITE, "http://svc/feed", 1, within_s=60, poll_every_s=0.05, timeout_s=2,
                        http=FakeService(clock, visible_after=10**9), clock=clock, sleep=clock.sleep,
                        on_ack=lambda write, at: acks.append((write, at)), cancelled=lambda: clock.now > 0.5)
    assert acks == [(100, pytest.approx(0.01))]
    assert not result.ok and result.stopped and result.reason.startswith("stopped before write 100")


def test_holds_id_matches_the_captured_key_only():
    """The id counts under its own key, as a number or a string, never as a prefix or under another key."""
    assert holds_id(b'{"items": [{"id": 12, "user_id": 7}]}', "id", 12)
    assert holds_id(b'{"id": "12"}', "id", 12) and holds_id(b'{"id":"a-b"}', "id", "a-b")
    assert not holds_id(b'{"id": 123}', "id", 12) and not holds_id(b'{"user_id": 12}', "id", 12)
    assert not holds_id(b'{"id": 12.5}', "id", 12)
    assert with_id("http://svc/x/{id}", "a/b c") == "http://svc/x/a%2Fb%20c"


def test_summary_is_the_lag_distribution_and_the_never_visible_count():
    """Nearest-rank percentiles of the visible ones; never visible and not acknowledged counted apart; stopped left out."""
    seen = [Visibility(True, lag / 100, 0.01, i, 1, "") for i, lag in enumerate(range(1, 101))]
    never = Visibility(False, None, 0.01, 200, 9, "not visible")
    refused = Visibility(False, None, 0.01, None, 0, "write answered 503", acknowledged=False)
    stopped = Visibility(False, None, 0.01, 201, 2, "stopped", stopped=True)
    summary = summarize([*seen, never, refused, stopped])
    assert (summary.writes, summary.visible, summary.never_visible, summary.not_acknowledged) == (101, 100, 1, 1)
    assert (summary.lag_p50_s, summary.lag_p90_s, summary.lag_p99_s, summary.lag_max_s) == (0.5, 0.9, 0.99, 1.0)


def readable_http(present: set[int], flaky: frozenset[int] = frozenset(), lost: int = 404):
    def http(method: str, url: str, body: Any, timeout_s: float) -> tuple[int, bytes]:
        write = int(url.rsplit("/", 1)[1])
        if write in flaky:
            return 0, b"connection refused"
        return (200, b"{}") if write in present else (lost, b"{}")
    return http


def test_readable_counts_lost_and_checked():
    """Every acknowledged id is read once (duplicates too); answers in lost_status are lost and named."""
    result = check_readable([1, 2, 3, 4, 4], "http://svc/w/{id}", http=readable_http({1, 2, 4}))
    assert (result.acknowledged, result.checked, result.lost, result.unverified) == (4, 4, 1, 0)
    assert result.lost_ids == (3,) and not result.ok
    gone = check_readable([1, 2], "http://svc/w/{id}", lost_status=(410,), http=readable_http({1}, lost=410))
    assert gone.lost_ids == (2,)


def test_an_unexpected_answer_is_unverified_not_lost():
    """An answer neither 2xx nor in lost_status (a 503, none at all) leaves the write unverified, not ok."""
    result = check_readable([1, 2], "http://svc/w/{id}", http=readable_http({1}, flaky=frozenset({2})))
    assert (result.checked, result.lost, result.unverified) == (1, 0, 1) and not result.ok
    refused = check_readable([1], "http://svc/w/{id}", http=readable_http(set(), lost=503))
    assert (refused.lost, refused.unverified) == (0, 1)


def test_readable_but_not_in_the_store():
    """With a store lookup, a write served only from a cache is flagged."""
    result = check_readable([1, 2, 3], "http://svc/w/{id}", http=readable_http({1, 2, 3}),
                            stored=lambda ids: {"1", "2"})
    assert result.not_stored == 1 and not result.ok and "not in the store, e.g. [3]" in result.notes[0]


def test_all_readable_is_ok():
    """Nothing lost, everything checked: ok, and to_dict says how many."""
    result = check_readable(range(1, 51), "http://svc/w/{id}", http=readable_http(set(range(1, 51))))
    assert result.ok and result.to_dict()["checked"] == 50


def test_the_budget_leaves_the_rest_unverified():
    """Reads stop when the budget runs out; what was left is unverified, never present."""
    clock = FakeClock()

    def slow(method: str, url: str, body: Any, timeout_s: float) -> tuple[int, bytes]:
        clock.now += 1.0
        return 200, b"{}"

    result = check_readable(range(10), "http://svc/w/{id}", budget_s=3.5, workers=1, http=slow, clock=clock)
    assert (result.checked, result.unverified) == (4, 6) and "3.5 s budget" in result.notes[0]


def test_a_store_that_cannot_be_asked_leaves_readable_writes_unverified():
    """stored raising LookupError: the readable writes are unverified, and a note says why."""
    def unreachable(ids):
        raise LookupError("psql exited 2")

    result = check_readable([1, 2, 3], "http://svc/w/{id}", http=readable_http({1, 2}), stored=unreachable)
    assert (result.checked, result.lost, result.unverified) == (1, 1, 2) and not result.ok
    assert "the store could not be asked (psql exited 2): 2 readable write(s)" in result.notes[0]


def test_pending_waits_for_the_store_to_catch_up_within_the_bound():
    """Asked again each poll_every: writes delivered meanwhile leave the list; it ends once none is left."""
    clock = FakeClock()
    asked: list[list[str]] = []

    def pending(ids):
        asked.append(list(ids))
        return {"2", "3"} & set(ids) if clock.now < 1.0 else set()

    result = check_pending([1, 2, 3], pending, within_s=30, poll_every_s=0.5, clock=clock, sleep=clock.sleep)
    assert result.ok and result.waited_s == 1.0 and asked == [["1", "2", "3"], ["2", "3"], ["2", "3"]]


def test_pending_after_the_bound_is_reported():
    """Still listed when ``within`` has passed: counted and named."""
    clock = FakeClock()
    result = check_pending([1, 2, 3], lambda ids: {"3"} & set(ids), within_s=2, poll_every_s=0.5, clock=clock,
                           sleep=clock.sleep)
    assert (result.acknowledged, result.pending, result.pending_ids, result.waited_s) == (3, 1, (3,), 2.0)
    assert not result.ok


def test_pending_with_a_store_that_cannot_be_asked_is_unverified():
    """pending raising LookupError: every write still in question is unverified, with why."""
    def unreachable(ids):
        raise LookupError("no postgres")

    result = check_pending([1, 2], unreachable, clock=FakeClock(), sleep=FakeClock().sleep)
    assert (result.pending, result.unverified) == (0, 2) and "no postgres" in result.notes[0]
