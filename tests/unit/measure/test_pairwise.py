"""Order statistics of pairwise differences: selected without forming them, the same floats as sorting them all."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chaoskit.measure.pairwise import pairwise_order_statistics

# Few distinct values (ties), wide magnitudes and negatives: what the selection must get exactly right.
VALUES = st.one_of(st.sampled_from([0.0, 0.001, 0.002, 0.5, -1.0]),
                   st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False))
SAMPLE = st.lists(VALUES, min_size=1, max_size=40)


def sorted_differences(fault, baseline) -> np.ndarray:
    return np.sort(np.subtract.outer(np.asarray(fault, float), np.asarray(baseline, float)).ravel())


@settings(max_examples=300, deadline=None)
@given(fault=SAMPLE, baseline=SAMPLE, limit=st.integers(1, 64), data=st.data())
def test_selection_gives_the_sorted_differences(fault, baseline, limit, data):
    """Whatever the samples, ties and limit, each rank's difference is the one a full sort puts there."""
    diffs = sorted_differences(fault, baseline)
    ranks = data.draw(st.lists(st.integers(0, len(diffs) - 1), min_size=1, max_size=6))
    assert pairwise_order_statistics(fault, baseline, ranks, limit=limit) == [float(diffs[k]) for k in ranks]


def test_larger_samples_selected_within_the_limit():
    """3,000 x 400 differences selected 1,000 at a time: median and extremes as the sort has them."""
    rng = np.random.default_rng(7)
    fault, baseline = rng.lognormal(-5, 0.5, 3000).round(5), rng.lognormal(-5.1, 0.5, 400).round(5)
    diffs = sorted_differences(fault, baseline)
    ranks = [0, 17, len(diffs) // 2 - 1, len(diffs) // 2, len(diffs) - 30, len(diffs) - 1]
    assert pairwise_order_statistics(fault, baseline, ranks, limit=1000) == [float(diffs[k]) for k in ranks]


def test_ranks_and_samples_are_checked():
    with pytest.raises(ValueError):
        pairwise_order_statistics([1.0], [], [0])
    with pytest.raises(ValueError):
        pairwise_order_statistics([1.0, 2.0], [1.0], [2])
