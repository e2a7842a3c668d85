"""The sample stack's HTTP API in memory, for tests of its probes (their ``http`` seam)."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

from chaoskit.testing._run import FakeClock

__all__ = ["FakeStack"]


class FakeStack:
    """The sample stack's HTTP API in memory, as its probes call it (their ``http`` seam).

    Posts get ids from 100 up. A post shows in the follower's timeline once
    ``visible`` is set, or from the ``visible_after``-th timeline poll on;
    before that the timeline holds only an older tweet (id 7). With a
    ``clock`` (a :class:`FakeClock`) every request takes 10 ms of it.
    ``calls`` lists each request as (method, url, body).
    """

    FIRST_ID = 100

    def __init__(self, clock: FakeClock | None = None, *, visible_after: int | None = None,
                 post_status: int = 201, followers_status: int = 200):
        self.clock = clock
        self.visible = threading.Event()
        self.visible_after = visible_after
        self.post_status = post_status
        self.followers_status = followers_status
        self.next_id = self.FIRST_ID - 1
        self.polls = 0
        self.calls: list[tuple[str, str, Any]] = []

    def __call__(self, method: str, url: str, body: Any, timeout_s: float) -> tuple[int, bytes]:
        self.calls.append((method, url, body))
        if self.clock is not None:
            self.clock.now += 0.01
        if method == "POST":
            self.next_id += 1
            user = body.get("user_id") if isinstance(body, Mapping) else None
            return self.post_status, json.dumps({"id": self.next_id, "user_id": user}).encode()
        if "/followers" in url:
            return self.followers_status, json.dumps({"celebrity": False, "followers": [42]}).encode()
        self.polls += 1
        shown = self.visible.is_set() or (self.visible_after is not None and self.polls >= self.visible_after)
        tweets = [{"id": i} for i in range(self.FIRST_ID, self.next_id + 1)] if shown else [{"id": 7}]
        return 200, json.dumps({"user_id": 2, "source": "cache", "tweets": tweets}).encode()
