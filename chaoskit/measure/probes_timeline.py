"""Probes of the sample home-timeline stack: fan-out lag and durability.

* :func:`fanout_lag` posts a tweet and polls a follower's home timeline
  until it appears: the time from the 201 to visibility is what fan-out on
  write costs a reader (DDIA ch. 1), and what a queue or cache fault stretches.
  :func:`find_fanout_pair` picks who posts and whose timeline is read.
* :func:`check_durability` takes every tweet id the system acknowledged with
  201 during the run (captured by the load generator, ``RequestSpec.capture``)
  and checks, after recovery, that each is readable (``GET /tweets/{id}``)
  and, when the caller can ask Postgres directly, stored there. A tweet
  answered 404 is lost; one that could not be checked (an error, the time
  budget, a database that could not be asked) is reported apart, never
  counted as present.

HTTP goes through a one-function seam (:data:`Http`), urllib by default, so
the decisions are tested without a network. Every loop here is bounded in
time and in count.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Durability", "FanoutLag", "Http", "check_durability", "fanout_lag", "find_fanout_pair", "urllib_http"]

# (method, url, JSON body or None, timeout s) -> (status, body); status 0 when no answer came.
Http = Callable[[str, str, Any, float], tuple[int, bytes]]


def urllib_http(method: str, url: str, body: Any, timeout_s: float) -> tuple[int, bytes]:
    """The default transport: one urllib request; a transport error is status 0 with its text."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json", "User-Agent": "chaoskit"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read() if exc.fp is not None else b""
    except (OSError, ValueError) as exc:
        return 0, str(exc).encode()


@dataclass(frozen=True)
class FanoutLag:
    """One fan-out lag measurement."""

    ok: bool
    lag_s: float | None  # from the post's 201 to the tweet in the follower's timeline
    post_s: float | None  # how long the post itself took
    tweet_id: int | None
    polls: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def fanout_lag(base_url: str, poster: int, follower: int, *, timeout_s: float = 10.0, poll_every_s: float = 0.05,
               limit: int = 50, text: str | None = None, request_timeout_s: float = 2.0, http: Http = urllib_http,
               clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
               on_ack: Callable[[int, float], None] | None = None,
               cancelled: Callable[[], bool] = lambda: False) -> FanoutLag:
    """Post as ``poster``, then poll ``follower``'s timeline until the tweet shows (at most ``timeout_s``).

    ``on_ack(tweet_id, acked)`` is called once the post was acknowledged, so a
    caller in another thread can tell how late the tweet is while it polls;
    ``cancelled()`` ends the polling early (the result says so).
    """
    base = base_url.rstrip("/")
    body = {"user_id": poster, "text": text if text is not None else f"chaoskit fan-out probe {time.time_ns()}"}
    started = clock()
    status, answer = http("POST", f"{base}/tweets", body, request_timeout_s)
    acked = clock()
    if status != 201:
        return FanoutLag(False, None, acked - started, None, 0, f"post answered {status or 'nothing'}: {answer[:200]!r}")
    try:
        tweet_id = int(json.loads(answer)["id"])
    except (ValueError, KeyError, TypeError):
        return FanoutLag(False, None, acked - started, None, 0, f"post answered 201 without an id: {answer[:200]!r}")
    if on_ack is not None:
        on_ack(tweet_id, acked)
    polls = 0
    last = ""
    while True:
        polls += 1
        status, page = http("GET", f"{base}/timeline/{follower}?limit={limit}", None, request_timeout_s)
        seen = clock()
        if status == 200:
            try:
                ids = {int(t["id"]) for t in json.loads(page).get("tweets", [])}
            except (ValueError, KeyError, TypeError, AttributeError):
                ids, last = set(), f"timeline answer is not the expected JSON: {page[:120]!r}"
            if tweet_id in ids:
                return FanoutLag(True, seen - acked, acked - started, tweet_id, polls,
                                 f"tweet {tweet_id} in user {follower}'s timeline after {seen - acked:.3f} s")
        else:
            last = f"timeline answered {status or 'nothing'}"
        if cancelled():
            return FanoutLag(False, None, acked - started, tweet_id, polls,
                             f"stopped before tweet {tweet_id} was in user {follower}'s timeline")
        if seen - acked >= timeout_s:
            return FanoutLag(False, None, acked - started, tweet_id, polls,
                             f"tweet {tweet_id} not in user {follower}'s timeline after {timeout_s:g} s"
                             + (f" ({last})" if last else ""))
        sleep(min(poll_every_s, max(0.0, timeout_s - (seen - acked))))


def find_fanout_pair(base_url: str, poster: int | None = None, follower: int | None = None, *,
                     candidates: Iterable[int] = range(1, 51), request_timeout_s: float = 2.0,
                     http: Http = urllib_http) -> tuple[int, int]:
    """(poster, follower) for :func:`fanout_lag`: an ordinary user with followers, and one of them.

    Given both, they are used as they are. Otherwise the stack is asked
    (``GET /users/{id}/followers``) about the given poster, or about each of
    ``candidates`` in turn until one is no celebrity (a celebrity's tweets are
    merged at read time, so no fan-out would be timed) and has a follower.
    ``LookupError`` says why no pair was found.
    """
    if poster is not None and follower is not None:
        return poster, follower
    base = base_url.rstrip("/")
    for user in [poster] if poster is not None else candidates:
        url = f"{base}/users/{user}/followers?limit=1"
        status, body = http("GET", url, None, request_timeout_s)
        text = body[:200].decode("utf-8", "replace")
        if status != 200:
            raise LookupError(f"GET {url} answered {status or 'nothing'}: {text}")
        try:
            page = json.loads(body)
            celebrity, followers = bool(page["celebrity"]), [int(f) for f in page["followers"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise LookupError(f"GET {url} answered unexpected JSON ({exc!r}): {text}") from None
        if not celebrity and followers:
            return int(user), followers[0]
        if poster is not None:
            why = "is a celebrity (its tweets are merged at read time, not fanned out)" if celebrity else \
                "has no followers"
            raise LookupError(f"user {poster} {why}: choose another poster")
    raise LookupError("none of the users asked is an ordinary user with followers: give params poster and follower")


@dataclass(frozen=True)
class Durability:
    """What became of the tweets the system acknowledged."""

    acknowledged: int
    checked: int  # ids whose fate is known (present or lost)
    lost: int
    unverified: int  # could not be checked (errors, time budget): neither present nor lost
    lost_ids: tuple[int, ...] = ()  # the first few
    not_in_database: int = 0  # readable through the API, yet absent from Postgres
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """Nothing lost and everything checked."""
        return self.lost == 0 and self.unverified == 0 and self.not_in_database == 0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}

    def counts(self) -> dict[str, int]:
        """The counts alone, for a log line."""
        return {"acknowledged": self.acknowledged, "checked": self.checked, "lost": self.lost,
                "unverified": self.unverified}


def check_durability(ids: Iterable[int], base_url: str, *, in_database: Callable[[Sequence[int]], set[int]] | None
                     = None, budget_s: float = 60.0, workers: int = 8, request_timeout_s: float = 2.0,
                     retries: int = 1, http: Http = urllib_http,
                     clock: Callable[[], float] = time.monotonic) -> Durability:
    """Check that every acknowledged tweet id is readable (and in Postgres when ``in_database`` is given).

    ``in_database(ids)`` returns the subset of ``ids`` stored in Postgres
    (the caller asks it, e.g. through the Docker adapter), or raises
    ``LookupError`` when it cannot ask: the readable tweets are then
    unverified. Checks stop when ``budget_s`` runs out; what was left is
    reported as unverified.
    """
    wanted = list(dict.fromkeys(int(i) for i in ids))  # unique, in order
    base = base_url.rstrip("/")
    deadline = clock() + budget_s

    def fate(tweet_id: int) -> str:
        for _ in range(retries + 1):
            if clock() > deadline:
                return "unverified"
            status, _ = http("GET", f"{base}/tweets/{tweet_id}", None, request_timeout_s)
            if status == 200:
                return "present"
            if status == 404:
                return "lost"
        return "unverified"

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        fates = list(pool.map(fate, wanted))
    lost_ids = [i for i, f in zip(wanted, fates) if f == "lost"]
    unverified = sum(1 for f in fates if f == "unverified")
    notes: list[str] = []
    if unverified:
        notes.append(f"{unverified} tweet(s) could not be checked (errors or the {budget_s:g} s budget)")
    not_in_database = 0
    if in_database is not None and wanted:
        present = [i for i, f in zip(wanted, fates) if f == "present"]
        try:
            stored = in_database(present) if present else set()
        except LookupError as exc:
            unverified += len(present)
            notes.append(f"Postgres could not be asked ({exc}): {len(present)} readable tweet(s) unverified there")
        else:
            missing = [i for i in present if i not in stored]
            not_in_database = len(missing)
            if missing:
                notes.append(f"{len(missing)} tweet(s) readable but not in Postgres, e.g. {missing[:5]}")
    return Durability(len(wanted), len(wanted) - unverified, len(lost_ids), unverified, tuple(lost_ids[:20]),
                      not_in_database, tuple(notes))
