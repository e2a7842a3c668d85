"""The guard's watch loop: goodbye, death of the controller, and silence."""

from __future__ import annotations

import os
import threading
import time

from chaoskit.run.guard import watch


def test_goodbye_ends_the_watch_without_a_revert() -> None:
    """A run that ends normally says goodbye: nothing is reverted."""
    read_end, write_end = os.pipe()
    os.write(write_end, b"..D")
    reverts: list[str] = []
    assert watch(read_end, 5.0, reverts.append) == "goodbye"
    assert reverts == []


def test_end_of_file_without_goodbye_reverts_at_once() -> None:
    """The pipe closes without a goodbye (the controller died): revert at once, not after dead_man."""
    read_end, write_end = os.pipe()
    os.write(write_end, b"...")
    os.close(write_end)
    reverts: list[str] = []
    started = time.monotonic()
    assert watch(read_end, 30.0, reverts.append) == "gone"
    assert reverts == ["the controller died"] and time.monotonic() - started < 1


def test_silence_reverts_after_dead_man_and_keeps_watching() -> None:
    """No beat for dead_man seconds: revert, and go on watching until goodbye."""
    read_end, write_end = os.pipe()
    reverts: list[float] = []
    started = time.monotonic()
    threading.Timer(0.5, lambda: os.write(write_end, b"D")).start()
    assert watch(read_end, 0.2, lambda reason: reverts.append(time.monotonic() - started)) == "goodbye"
    assert len(reverts) >= 2 and 0.15 <= reverts[0] <= 0.4
