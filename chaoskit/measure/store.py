"""Where completed seconds and tenths of load are kept: bounded in memory however long the load runs.

A second's :class:`~chaoskit.measure.buckets.Bucket` holds two HDR histograms
(about 20-40 kB in memory, a few hundred bytes encoded): kept in memory for a
day at one per second they would take gigabytes. So the store keeps the
latest ``keep_s`` seconds as they are (what the live run loop and the phase
windows read) and spills older ones to an unlinked temporary file, in their
journal encoding, one line each, with an in-memory index of their start
times (16 bytes a second). Nothing is summarised away: a window that reaches
back reads every spilled second of its span, with every request in it, one
second at a time as it is iterated (:class:`Seconds`), so judging a window of
any length never holds its seconds together.

Tenths (:class:`~chaoskit.measure.buckets.Slice`) are only for live
detection: the latest ``slices_s`` seconds of them are kept, older ones dropped.

Appended by the generator's thread, read by anyone (thread-safe).
"""

from __future__ import annotations

import bisect
import json
import tempfile
import threading
from array import array
from collections import deque
from collections.abc import Callable, Iterator
from typing import IO, Any

from chaoskit.measure.buckets import SLICE_S, Bucket, Slice

__all__ = ["BucketDicts", "BucketStore", "Seconds"]


class BucketStore:
    """Completed buckets (the latest ``keep_s`` in memory, older ones spilled) and the latest tenths."""

    def __init__(self, keep_s: int = 600, slices_s: float = 10.0):
        if keep_s < 1:
            raise ValueError(f"keep_s must be >= 1, got {keep_s}")
        self.keep_s = keep_s
        self.slices_s = slices_s
        self._recent: deque[Bucket] = deque()
        self._slices: deque[Slice] = deque(maxlen=max(1, round(slices_s / SLICE_S)))
        self._spill: IO[bytes] | None = None
        self._spilled_start = array("d")  # start_mono of each spilled bucket, in order
        self._spilled_end = array("d")
        self._spilled_at = array("q")  # offset of its line in the spill file
        self._changed = threading.Condition()

    # -- the generator's side -------------------------------------------------

    def append(self, bucket: Bucket) -> None:
        with self._changed:
            self._recent.append(bucket)
            if len(self._recent) > self.keep_s:
                self._spill_one(self._recent.popleft())
            self._changed.notify_all()

    def append_slice(self, piece: Slice) -> None:
        with self._changed:
            self._slices.append(piece)

    def _spill_one(self, bucket: Bucket) -> None:
        if self._spill is None:
            self._spill = tempfile.TemporaryFile(prefix="chaoskit-buckets-")
        spill = self._spill
        spill.seek(0, 2)
        self._spilled_at.append(spill.tell())
        self._spilled_start.append(bucket.start_mono)
        self._spilled_end.append(bucket.end_mono)
        spill.write(json.dumps(bucket.to_dict(), separators=(",", ":")).encode("ascii") + b"\n")

    # -- readers ------------------------------------------------------------------

    def __len__(self) -> int:
        with self._changed:
            return len(self._spilled_at) + len(self._recent)

    def latest(self, count: int) -> tuple[Bucket, ...]:
        """The last ``count`` completed buckets (at most the ``keep_s`` held in memory)."""
        with self._changed:
            recent = list(self._recent)
        return tuple(recent[-count:]) if count > 0 else ()

    def seconds(self, start: float, end: float) -> Seconds:
        """The whole seconds inside [start, end) on the ``mono`` clock (those it overlaps if none is whole).

        Found by the index alone; each is read back when the result is iterated,
        so a window of any length costs nothing until it is read, one second at a time.
        """
        eps = 1e-6  # bucket edges are sums of floats
        with self._changed:
            recent = [b for b in self._recent if b.start_mono >= start - eps and b.end_mono <= end + eps]
            first = bisect.bisect_left(self._spilled_start, start - eps)
            spilled = range(first, max(first, bisect.bisect_right(self._spilled_end, end + eps)))
            if not spilled and not recent:  # no whole second: the ones it overlaps
                recent = [b for b in self._recent if b.end_mono > start and b.start_mono < end]
                first = bisect.bisect_right(self._spilled_end, start)
                spilled = range(first, max(first, bisect.bisect_left(self._spilled_start, end)))
        return Seconds(self._read, spilled, tuple(recent))

    def snapshot(self) -> tuple[Bucket, ...]:
        """Every completed bucket (spilled ones read back: for whole-load summaries, not for live reading)."""
        return tuple(self)

    def __iter__(self) -> Iterator[Bucket]:
        """Every completed bucket in order, one at a time (a spilled one is read when its turn comes)."""
        return (Bucket.from_dict(b) if isinstance(b, dict) else b for b in self._each())

    def dicts(self) -> Iterator[dict[str, Any]]:
        """Every completed bucket in its journal encoding, in order (spilled ones as they were written)."""
        return (b if isinstance(b, dict) else b.to_dict() for b in self._each())

    def _each(self) -> Iterator[dict[str, Any] | Bucket]:
        """The spilled buckets as their journal dicts, then the ones in memory; all that were complete at the call."""
        with self._changed:
            spilled, recent = len(self._spilled_at), list(self._recent)
        for i in range(spilled):
            with self._changed:
                data = self._line(i)
            yield data
        yield from recent

    def slices(self, span_s: float) -> list[Slice]:
        """The tenths lying inside the last ``span_s`` seconds of load (counted back from the latest tenth's end)."""
        with self._changed:
            pieces = list(self._slices)
        if not pieces:
            return []
        since = pieces[-1].end_mono - span_s - 1e-6
        return [p for p in pieces if p.start_mono >= since]

    def _read(self, i: int) -> Bucket:
        """The ``i``-th spilled second, read back (any thread)."""
        with self._changed:
            data = self._line(i)
        return Bucket.from_dict(data)

    def _line(self, i: int) -> dict[str, Any]:
        assert self._spill is not None
        self._spill.seek(self._spilled_at[i])
        data: dict[str, Any] = json.loads(self._spill.readline())
        return data

    def wait_for(self, count: int, timeout_s: float) -> bool:
        """Block until at least ``count`` buckets are complete; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self._spilled_at) + len(self._recent) >= count,
                                          timeout=timeout_s)

    def wake_all(self) -> None:
        with self._changed:
            self._changed.notify_all()


class Seconds:
    """A span of a store's seconds, in order: spilled ones are read back each time it is iterated, never held together."""

    def __init__(self, read: Callable[[int], Bucket], spilled: range, recent: tuple[Bucket, ...]):
        self._read, self._spilled, self._recent = read, spilled, recent

    def __iter__(self) -> Iterator[Bucket]:
        yield from map(self._read, self._spilled)
        yield from self._recent

    def __len__(self) -> int:
        return len(self._spilled) + len(self._recent)

    def __bool__(self) -> bool:
        return len(self) > 0


class BucketDicts(list):  # type: ignore[type-arg]
    """Every bucket of a store in its journal encoding, produced again each time it is read, never held whole.

    A list to ``json`` and to the journal, which writes it item by item
    without a copy (``streamed``); ``len`` is known up front; indexing reads it
    whole (for tests and small loads only). ``t0``: each bucket also gets
    ``t``, its start in seconds since ``t0`` on the ``mono`` clock (the run's clock).
    """

    streamed = True

    def __init__(self, store: BucketStore, t0: float | None = None):
        super().__init__()
        self._store, self._t0, self._count = store, t0, len(store)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for data in self._store.dicts():
            if self._t0 is not None:
                data["t"] = round(data["start_mono"] - self._t0, 3)
            yield data

    def __len__(self) -> int:
        return self._count

    def __bool__(self) -> bool:
        return self._count > 0

    def __getitem__(self, index: Any) -> Any:
        return list(iter(self))[index]

    def __eq__(self, other: object) -> bool:
        return list(iter(self)) == other
