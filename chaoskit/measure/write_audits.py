"""Write audits: what became of the writes a system acknowledged (the decisions; the run wires the world in).

* :func:`visibility` makes one write, then polls a URL until its answer holds
  the write's id: the time from the acknowledgement to visibility is what a
  queue, a cache or a replica between the two costs a reader (fan-out on
  write, DDIA ch. 1), and what a fault stretches. :func:`summarize` gives the
  lag distribution of many and how many never became visible.
* :func:`check_readable` takes every id the load captured from an
  acknowledged write and reads each back through a URL template after
  recovery; an answer in ``lost_status`` is a lost write. When the store can
  be asked directly (``stored``), a readable id it does not list is lost too.
  One that could not be told (an error, the time budget, a store that could
  not be asked) is reported apart, never counted as present.
* :func:`check_pending` asks the store which of those ids it still holds as
  not done (an outbox not yet delivered), again and again within a bound;
  what is left is work the system acknowledged and dropped.

HTTP goes through a one-function seam (:data:`Http`) and the store through
another (:data:`Lookup`), so these are tested without a network. Every loop
is bounded in time and in count.
"""

from __future__ import annotations

import json
import re
import time
import urllib.parse
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

from chaoskit.model.probes import ID_FIELD, WriteRequest

__all__ = ["Http", "LagSummary", "Lookup", "Pending", "Readability", "Visibility", "check_pending", "check_readable",
           "holds_id", "summarize", "visibility", "with_id"]

# (method, url, JSON body or None, timeout s) -> (status, body); status 0 when no answer came.
Http = Callable[[str, str, Any, float], tuple[int, bytes]]
# Write ids (as text) -> those of them the store lists; LookupError when it cannot be asked.
Lookup = Callable[[Sequence[str]], set[str]]


def with_id(template: str, write_id: Any) -> str:
    """``template`` with ``{id}`` replaced by the id, escaped for a URL."""
    return template.replace(ID_FIELD, urllib.parse.quote(str(write_id), safe=""))


def holds_id(body: bytes, key: str, write_id: Any) -> bool:
    """Whether a JSON answer holds ``"key": write_id`` anywhere (as a number or a string)."""
    value = re.escape(str(write_id))
    pattern = rb'"' + re.escape(key.encode()) + rb'"\s*:\s*(?:' + value.encode() + rb'(?![\w.])|"' + \
        value.encode() + rb'")'
    return re.search(pattern, body) is not None


@dataclass(frozen=True)
class Visibility:
    """One write timed until it was visible."""

    ok: bool
    lag_s: float | None  # from the write's acknowledgement to its id in the read answer
    write_s: float | None  # how long the write itself took
    write_id: Any
    polls: int
    reason: str
    acknowledged: bool = True
    stopped: bool = False  # cancelled before it was told


def visibility(write: WriteRequest, read: str, seq: int, *, within_s: float, poll_every_s: float, timeout_s: float,
               http: Http, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
               on_ack: Callable[[Any, float], None] | None = None,
               cancelled: Callable[[], bool] = lambda: False) -> Visibility:
    """Make write number ``seq``, then poll ``read`` until its answer holds the id (at most ``within_s``).

    ``on_ack(write_id, acked)`` is called once the write was acknowledged, so a
    caller in another thread can tell how late it is while polling;
    ``cancelled()`` ends the polling early (the result says so).
    """
    started = clock()
    status, answer = http(write.method, _numbered(write.url, seq), _numbered(write.json, seq), timeout_s)
    acked = clock()
    if not 200 <= status < 300:
        return Visibility(False, None, acked - started, None, 0,
                          f"write answered {status or 'nothing'}: {answer[:200]!r}", acknowledged=False)
    try:
        write_id = json.loads(answer)[write.capture]
    except (ValueError, KeyError, TypeError):
        return Visibility(False, None, acked - started, None, 0,
                          f"write answered {status} without {write.capture!r}: {answer[:200]!r}", acknowledged=False)
    if on_ack is not None:
        on_ack(write_id, acked)
    url = with_id(read, write_id)
    polls, last = 0, ""
    while True:
        polls += 1
        status, page = http("GET", url, None, timeout_s)
        seen = clock()
        if status == 200 and holds_id(page, write.capture, write_id):
            return Visibility(True, seen - acked, acked - started, write_id, polls,
                              f"write {write_id} visible at {url} after {seen - acked:.3f} s")
        last = "" if status == 200 else f" (last read answered {status or 'nothing'})"
        if cancelled():
            return Visibility(False, None, acked - started, write_id, polls, f"stopped before write {write_id} was "
                              f"visible at {url}", stopped=True)
        if seen - acked >= within_s:
            return Visibility(False, None, acked - started, write_id, polls,
                              f"write {write_id} not visible at {url} after {within_s:g} s{last}")
        sleep(min(poll_every_s, max(0.0, within_s - (seen - acked))))


def _numbered(value: Any, seq: int) -> Any:
    """``{seq}`` replaced in a string, or in every string of a JSON body."""
    if isinstance(value, str):
        return value.replace("{seq}", str(seq))
    if isinstance(value, dict):
        return {k: _numbered(v, seq) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbered(v, seq) for v in value]
    return value


@dataclass(frozen=True)
class LagSummary:
    """The visibility of every write a probe made: the lag distribution and what never showed."""

    writes: int  # acknowledged writes whose fate is known
    visible: int
    never_visible: int
    not_acknowledged: int  # writes refused or unanswered: nothing to see
    lag_p50_s: float | None
    lag_p90_s: float | None
    lag_p99_s: float | None
    lag_max_s: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarize(measurements: Iterable[Visibility]) -> LagSummary:
    """The lag distribution (nearest rank) of finished measurements; a stopped one is not counted."""
    done = [m for m in measurements if not m.stopped]
    lags = sorted(m.lag_s for m in done if m.ok and m.lag_s is not None)

    def rank(q: float) -> float | None:
        return round(lags[min(len(lags) - 1, max(0, int(q * len(lags) + 0.999999) - 1))], 4) if lags else None

    refused = sum(1 for m in done if not m.acknowledged)
    return LagSummary(len(done) - refused, len(lags), len(done) - refused - len(lags), refused,
                      rank(0.5), rank(0.9), rank(0.99), rank(1.0))


@dataclass(frozen=True)
class Readability:
    """What became of the writes the system acknowledged, read back after recovery."""

    acknowledged: int
    checked: int  # ids whose fate is known (present or lost)
    lost: int
    unverified: int  # could not be told (errors, time budget): neither present nor lost
    lost_ids: tuple[Any, ...] = ()  # the first few
    not_stored: int = 0  # readable, yet not listed by the store
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Nothing lost and everything checked."""
        return self.lost == 0 and self.unverified == 0 and self.not_stored == 0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}

    def counts(self) -> dict[str, int]:
        """The counts alone, for a log line."""
        return {"acknowledged": self.acknowledged, "checked": self.checked, "lost": self.lost,
                "not_stored": self.not_stored, "unverified": self.unverified}


def check_readable(ids: Iterable[Any], url: str, *, lost_status: Sequence[int] = (404,), stored: Lookup | None = None,
                   budget_s: float = 60.0, workers: int = 8, timeout_s: float = 2.0, retries: int = 2,
                   http: Http, clock: Callable[[], float] = time.monotonic) -> Readability:
    """Read every acknowledged id back at ``url`` (``{id}``), and look the readable ones up in ``stored`` if given.

    A 2xx answer is present, one in ``lost_status`` lost; anything else is
    retried, then unverified. Reads stop when ``budget_s`` runs out; what was
    left is unverified.
    """
    wanted = list(dict.fromkeys(ids))  # unique, in order
    deadline = clock() + budget_s

    def fate(write_id: Any) -> str:
        for _ in range(retries + 1):
            if clock() > deadline:
                return "unverified"
            status, _ = http("GET", with_id(url, write_id), None, timeout_s)
            if 200 <= status < 300:
                return "present"
            if status in lost_status:
                return "lost"
        return "unverified"

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        fates = list(pool.map(fate, wanted))
    lost_ids = [i for i, f in zip(wanted, fates, strict=True) if f == "lost"]
    unverified = fates.count("unverified")
    notes: list[str] = []
    if unverified:
        notes.append(f"{unverified} write(s) could not be read back (errors or the {budget_s:g} s budget)")
    not_stored = 0
    present = [i for i, f in zip(wanted, fates, strict=True) if f == "present"]
    if stored is not None and present:
        try:
            listed = stored([str(i) for i in present])
        except LookupError as exc:
            unverified += len(present)
            notes.append(f"the store could not be asked ({exc}): {len(present)} readable write(s) unverified there")
        else:
            missing = [i for i in present if str(i) not in listed]
            not_stored = len(missing)
            if missing:
                notes.append(f"{len(missing)} write(s) readable but not in the store, e.g. {missing[:5]}")
    return Readability(len(wanted), len(wanted) - unverified, len(lost_ids), unverified, tuple(lost_ids[:20]),
                       not_stored, tuple(notes))


@dataclass(frozen=True)
class Pending:
    """Acknowledged writes the store still held as not done at the end of the wait."""

    acknowledged: int
    pending: int
    unverified: int  # the store could not be asked: every write still in question
    waited_s: float
    pending_ids: tuple[Any, ...] = ()  # the first few
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.pending == 0 and self.unverified == 0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}

    def counts(self) -> dict[str, int]:
        return {"acknowledged": self.acknowledged, "pending": self.pending, "unverified": self.unverified}


def check_pending(ids: Iterable[Any], pending: Lookup, *, within_s: float = 30.0, poll_every_s: float = 0.5,
                  clock: Callable[[], float] = time.monotonic,
                  sleep: Callable[[float], None] = time.sleep) -> Pending:
    """Ask ``pending`` which ids are still not done, every ``poll_every_s`` until none or ``within_s`` passed."""
    wanted = list(dict.fromkeys(ids))
    started = clock()
    still = wanted
    try:
        while still:
            listed = pending([str(i) for i in still])
            still = [i for i in still if str(i) in listed]
            if not still or clock() - started >= within_s:
                break
            sleep(min(poll_every_s, max(0.0, within_s - (clock() - started))))
    except LookupError as exc:
        return Pending(len(wanted), 0, len(still), round(clock() - started, 3),
                       notes=(f"the store could not be asked which writes are pending ({exc})",))
    return Pending(len(wanted), len(still), 0, round(clock() - started, 3), tuple(still[:20]))
