"""Order statistics of the m*n pairwise differences of two samples, without forming them (pure).

The Hodges-Lehmann shift and its interval (:mod:`chaoskit.measure.stats`)
are order statistics of every difference ``fault_i - baseline_j``. Formed
and sorted, those take O(m*n) memory: a day-long fault window (86,400
seconds) against an hour's baseline would be 311 million differences,
2.5 GB. Past :data:`MATERIALIZE_LIMIT` (131,072) differences they are selected
instead, exactly, in O(m + n) memory:

with ``x`` sorted up and ``y`` sorted down, the differences form a matrix
whose rows and columns both ascend (a float subtraction is monotone in
each operand, so this holds for the *computed* differences too). A random
candidate is taken as pivot; how many differences lie below it is counted
row by row by bisection (vectorised over rows, O(rows x log columns));
the candidates on the wrong side of the pivot are dropped. Each round
drops a constant share on average, so about log(m*n) rounds, until few
enough remain to be gathered and selected directly (Monahan 1984's
scheme for the one-sample estimator, here for two samples). The result is
the same float the sort would give: the selection compares the same
computed differences and never averages or interpolates.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["MATERIALIZE_LIMIT", "pairwise_order_statistics"]

# Up to this many differences (1 MiB of floats) they are simply formed and partitioned; a selection
# gathers its last candidates once this few remain (a few MiB of temporaries at most).
MATERIALIZE_LIMIT = 1 << 17


def pairwise_order_statistics(fault: Sequence[float], baseline: Sequence[float], ranks: Sequence[int],
                              limit: int | None = None) -> list[float]:
    """The differences ``fault_i - baseline_j`` of the given 0-based ``ranks`` in ascending order.

    ``limit``: how many differences may be formed at once (:data:`MATERIALIZE_LIMIT` by default).
    """
    limit = MATERIALIZE_LIMIT if limit is None else max(1, limit)
    x = np.sort(np.asarray(fault, float))
    y = np.sort(np.asarray(baseline, float))[::-1]
    total = len(x) * len(y)
    if total == 0:
        raise ValueError("both samples need at least one value")
    if any(not 0 <= k < total for k in ranks):
        raise ValueError(f"ranks must be in [0, {total})")
    if total <= limit:
        diffs = np.subtract.outer(x, y).ravel()
        diffs.partition(sorted(set(ranks)))
        return [float(diffs[k]) for k in ranks]
    matrix = _Matrix(x, y)
    return [matrix.select(k, limit) for k in ranks]


class _Matrix:
    """The differences ``x_i - y_j`` (``x`` ascending, ``y`` descending): rows are the shorter sample."""

    def __init__(self, x: np.ndarray, y: np.ndarray):
        self.x_rows = len(x) <= len(y)
        self.rows, self.cols = (x, y) if self.x_rows else (y, x)
        self.rng = np.random.default_rng(0)  # pivots are random; the result is not, only the time it takes

    def values(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """The computed differences at (row, column) index pairs."""
        if self.x_rows:
            return self.rows[rows] - self.cols[cols]
        return self.cols[cols] - self.rows[rows]

    def count_below(self, pivot: float, inclusive: bool) -> np.ndarray:
        """Per row, how many differences are below ``pivot`` (or at most ``pivot``): bisection over columns."""
        n_rows, n_cols = len(self.rows), len(self.cols)
        rows = np.arange(n_rows)
        low, high = np.zeros(n_rows, np.int64), np.full(n_rows, n_cols, np.int64)
        while True:
            open_ = low < high
            if not open_.any():
                return low
            mid = (low + high) // 2
            value = self.values(rows, np.minimum(mid, n_cols - 1))
            below = (value <= pivot if inclusive else value < pivot) & open_
            low = np.where(below, mid + 1, low)
            high = np.where(open_ & ~below, mid, high)

    def select(self, k: int, limit: int) -> float:
        """The difference of 0-based rank ``k``."""
        # Candidates are columns [lo, hi) of each row: left of lo lies below the answer, from hi on above it.
        lo = np.zeros(len(self.rows), np.int64)
        hi = np.full(len(self.rows), len(self.cols), np.int64)
        while True:
            widths = hi - lo
            remaining = int(widths.sum())
            if remaining <= limit:
                return self._gathered(lo, widths, k - int(lo.sum()))
            pick = int(self.rng.integers(remaining))
            ends = np.cumsum(widths)
            row = int(np.searchsorted(ends, pick, side="right"))
            col = int(lo[row] + pick - (ends[row] - widths[row]))
            pivot = float(self.values(np.array([row]), np.array([col]))[0])
            below, at_most = self.count_below(pivot, False), self.count_below(pivot, True)
            if int(below.sum()) <= k < int(at_most.sum()):
                return pivot
            if k < int(below.sum()):
                hi = np.minimum(hi, below)
            else:
                lo = np.maximum(lo, at_most)

    def _gathered(self, lo: np.ndarray, widths: np.ndarray, k: int) -> float:
        """Select rank ``k`` among the remaining candidates, formed explicitly."""
        rows = np.repeat(np.arange(len(self.rows)), widths)
        starts = np.cumsum(widths) - widths
        cols = np.arange(int(widths.sum())) - np.repeat(starts, widths) + np.repeat(lo, widths)
        values = self.values(rows, cols)
        values.partition(k)
        return float(values[k])
