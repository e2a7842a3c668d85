"""Fan-out completeness of the sample stack: acknowledged tweets that never reached followers' caches.

A post is committed in Postgres with ``fanned_out = false`` and queued; the
worker writes it into every follower's cached home timeline and then marks it
fanned out. A job the worker held when it died is lost unless something
redelivers it (its processing list, the outbox sweep). After recovery,
:func:`check_fanout` asks Postgres which captured tweets are still pending,
waits a bounded time for the outbox to catch up, and confirms what is left
from a user's side: for a bounded sample, one follower's cached timeline
(``GET /timeline/{follower}?source=cache``) must lack the tweet.

* pending in Postgres and absent from the follower's cache: **lost**;
* pending but present: **unconfirmed** (fanned out, the mark did not follow:
  a worker killed between the two), noted, never counted as lost;
* a celebrity's tweet (merged at read time, never fanned out) or one whose
  author has no follower: **skipped**, nobody misses it by design;
* whatever could not be told (an error, a cold or evicted cache, a cached
  timeline that does not reach back to the tweet, a pending tweet beyond the
  sample): **unverified**, neither lost nor shown delivered.

:func:`judge_fanout` makes that decision from what was seen (pure);
:func:`check_fanout` does the asking, through the one-function HTTP seam of
:mod:`chaoskit.measure.probes_timeline` and a ``pending(ids)`` callable the
caller backs with Postgres. Every loop is bounded in time and in count.
"""

from __future__ import annotations

import enum
import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from chaoskit.measure.probes_timeline import Http, urllib_http

__all__ = ["FanoutCompleteness", "Sighting", "check_fanout", "judge_fanout"]

# The cache keeps this many entries per timeline (TIMELINE_CACHE_CAP), and the API serves at most that many.
CACHE_LIMIT = 800


class Sighting(enum.Enum):
    """What a follower's side showed of one pending tweet."""

    ABSENT = "absent"  # not in the follower's cached timeline, which reaches back past it
    PRESENT = "present"
    CELEBRITY = "celebrity"  # its author is a celebrity: merged at read time, not fanned out
    NO_FOLLOWER = "no_follower"
    UNKNOWN = "unknown"  # could not be told; the reason goes to the notes


@dataclass(frozen=True)
class FanoutCompleteness:
    """What became of the fan-outs of the tweets the system acknowledged."""

    acknowledged: int
    pending: int  # still not fanned out in Postgres at the end of the wait
    checked: int  # pending tweets whose follower side was looked at and told
    lost: int
    unconfirmed: int  # pending in Postgres, yet in the follower's cache
    skipped: int  # celebrities' tweets and tweets of authors without followers
    unverified: int  # pending tweets whose fate is not known (errors, beyond the sample)
    waited_s: float
    lost_ids: tuple[int, ...] = ()  # the first few
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Nothing lost and nothing left unknown."""
        return self.lost == 0 and self.unverified == 0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}

    def counts(self) -> dict[str, int]:
        """The counts alone, for a log line."""
        return {"acknowledged": self.acknowledged, "pending": self.pending, "checked": self.checked,
                "lost": self.lost, "unconfirmed": self.unconfirmed, "unverified": self.unverified}


def judge_fanout(acknowledged: int, pending: Sequence[int], seen: Mapping[int, Sighting], waited_s: float,
                 notes: Iterable[str] = ()) -> FanoutCompleteness:
    """Classify the still-pending tweets by what their follower side showed (``seen``; absent: not looked at)."""
    by = {s: [i for i in pending if seen.get(i) is s] for s in Sighting}
    lost = by[Sighting.ABSENT]
    unconfirmed = by[Sighting.PRESENT]
    skipped = len(by[Sighting.CELEBRITY]) + len(by[Sighting.NO_FOLLOWER])
    unsampled = sum(1 for i in pending if i not in seen)
    unverified = len(by[Sighting.UNKNOWN]) + unsampled
    said = list(notes)
    if unconfirmed:
        said.append(f"{len(unconfirmed)} tweet(s) pending in Postgres but in the follower's cache (fanned out, "
                    f"not marked), e.g. {unconfirmed[:5]}")
    if unsampled:
        said.append(f"{unsampled} pending tweet(s) beyond the sample were not looked for")
    return FanoutCompleteness(acknowledged, len(pending), len(pending) - unverified, len(lost), len(unconfirmed),
                              skipped, unverified, round(waited_s, 3), tuple(lost[:20]), tuple(said))


def check_fanout(ids: Iterable[int], base_url: str, *, pending: Callable[[Sequence[int]], set[int]],
                 budget_s: float = 30.0, sample: int = 20, poll_every_s: float = 0.5, request_timeout_s: float = 2.0,
                 http: Http = urllib_http, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> FanoutCompleteness:
    """Which acknowledged tweets' fan-out was lost (see the module docstring).

    ``pending(ids)`` returns the subset of ``ids`` not yet fanned out in
    Postgres, or raises ``LookupError`` when it cannot ask (every tweet is
    then unverified). It is asked again every ``poll_every_s`` until nothing
    is pending or ``budget_s`` has passed; then at most ``sample`` tweets are
    looked for in a follower's cache (three requests each).
    """
    wanted = list(dict.fromkeys(int(i) for i in ids))  # unique, in order
    started = clock()
    still = wanted
    try:
        while still:
            found = pending(still)
            still = [i for i in still if i in found]
            if not still or clock() - started >= budget_s:
                break
            sleep(min(poll_every_s, max(0.0, budget_s - (clock() - started))))
    except LookupError as exc:
        return judge_fanout(len(wanted), still, {}, clock() - started,
                            [f"Postgres could not be asked which tweets are pending ({exc})"])
    waited = clock() - started
    seen: dict[int, Sighting] = {}
    notes: list[str] = []
    base = base_url.rstrip("/")
    for tweet_id in still[:sample]:
        seen[tweet_id], why = _follower_side(base, tweet_id, request_timeout_s, http)
        if why and len(notes) < 5:
            notes.append(f"tweet {tweet_id}: {why}")
    return judge_fanout(len(wanted), still, seen, waited, notes)


def _follower_side(base: str, tweet_id: int, timeout_s: float, http: Http) -> tuple[Sighting, str]:
    """Whether one follower of the tweet's author has it in their cached timeline, and why not told if not."""
    tweet, error = _get_json(http, f"{base}/tweets/{tweet_id}", timeout_s)
    if error:
        return Sighting.UNKNOWN, error
    author = tweet.get("user_id") if isinstance(tweet, dict) else None
    if not isinstance(author, int):
        return Sighting.UNKNOWN, f"GET /tweets/{tweet_id} names no author"
    page, error = _get_json(http, f"{base}/users/{author}/followers?limit=1", timeout_s)
    if error:
        return Sighting.UNKNOWN, error
    try:
        celebrity, followers = bool(page["celebrity"]), [int(f) for f in page["followers"]]
    except (KeyError, TypeError, ValueError):
        return Sighting.UNKNOWN, f"GET /users/{author}/followers answered unexpected JSON"
    if celebrity:
        return Sighting.CELEBRITY, ""
    if not followers:
        return Sighting.NO_FOLLOWER, ""
    follower = followers[0]
    timeline, error = _get_json(http, f"{base}/timeline/{follower}?limit={CACHE_LIMIT}&source=cache", timeout_s)
    if error:
        # A cold or evicted cache answers an error: that follower reads SQL, which has the tweet.
        return Sighting.UNKNOWN, f"user {follower}'s cached timeline: {error}"
    try:
        cached = [int(t["id"]) for t in timeline["tweets"]]
    except (KeyError, TypeError, ValueError):
        return Sighting.UNKNOWN, f"user {follower}'s cached timeline is not the expected JSON"
    if tweet_id in cached:
        return Sighting.PRESENT, ""
    if len(cached) >= CACHE_LIMIT and min(cached) > tweet_id:
        # A full cache that ends after the tweet: it may have been fanned out and trimmed since.
        return Sighting.UNKNOWN, f"user {follower}'s cached timeline ({len(cached)} tweets) does not reach back to it"
    return Sighting.ABSENT, ""


def _get_json(http: Http, url: str, timeout_s: float) -> tuple[Any, str]:
    """(parsed JSON of a 200 answer, "") or (None, what came instead)."""
    status, body = http("GET", url, None, timeout_s)
    path = "/" + url.split("/", 3)[-1]
    if status != 200:
        return None, f"GET {path} answered {status or 'nothing'}: {body[:120]!r}"
    try:
        return json.loads(body), ""
    except ValueError:
        return None, f"GET {path} answered 200 with no JSON: {body[:120]!r}"
