"""Statistics: the exact U distribution, Hodges-Lehmann shift and interval, and the tolerance decision."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats as scipy_stats

from chaoskit.measure.stats import compare, decide_shift, hodges_lehmann, shift_interval, u_distribution

# R's ?wilcox.test example (Hollander & Wolfe 1973, p. 69): x is the fault sample, y the baseline.
HW_X = [0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46]
HW_Y = [1.15, 0.88, 0.90, 0.74, 1.21]


def brute_force_u_cdf(m: int, n: int) -> np.ndarray:
    """P(U <= u) by enumerating every way the m x's can sit among the m+n ranks."""
    counts = np.zeros(m * n + 1)
    for x_ranks in itertools.combinations(range(m + n), m):
        # U = pairs (x, y) with x > y = sum over x of the y's below it.
        counts[sum(r - i for i, r in enumerate(x_ranks))] += 1
    return np.cumsum(counts) / counts.sum()


@pytest.mark.parametrize("m,n", [(1, 1), (3, 4), (5, 5), (2, 7)])
def test_exact_u_distribution_matches_enumeration(m: int, n: int):
    """The recurrence gives the same null distribution as enumerating all rank arrangements."""
    np.testing.assert_allclose(u_distribution(m, n), brute_force_u_cdf(m, n), atol=1e-12)


def test_exact_u_distribution_matches_scipy_p_values():
    """One-sided exact p-values from scipy equal P(U <= u) from our distribution."""
    rng = np.random.default_rng(3)
    cdf = u_distribution(7, 9)
    for _ in range(20):
        x, y = rng.normal(size=7), rng.normal(size=9) + 0.5
        result = scipy_stats.mannwhitneyu(x, y, alternative="less", method="exact")
        assert cdf[int(result.statistic)] == pytest.approx(result.pvalue, abs=1e-12)


def test_hodges_lehmann_by_hand():
    """Differences of [2,4,6] - [1,2,3] are -1,0,1,1,2,3,3,4,5: the median is 2."""
    assert hodges_lehmann([1, 2, 3], [2, 4, 6]) == 2.0


def test_published_example_estimate_and_test():
    """R's wilcox.test example: W = 35, two-sided p = 0.2544, difference in location 0.305."""
    shift = compare(HW_Y, HW_X, confidence=0.95)
    assert shift.u == 35
    assert shift.p_value == pytest.approx(0.2544, abs=5e-4)
    assert shift.estimate == pytest.approx(0.305)
    assert shift.method == "exact"


def test_published_example_interval_by_inverting_the_test():
    """The 95 % interval [-0.15, 0.76] is the set of shifts the exact two-sided test does not reject."""
    low, high, achieved, method = shift_interval(HW_Y, HW_X, confidence=0.95)
    assert (low, high, method) == (pytest.approx(-0.15), pytest.approx(0.76), "exact")
    assert achieved >= 0.95
    cdf = brute_force_u_cdf(len(HW_X), len(HW_Y))

    def rejected(delta: float) -> bool:
        u = sum(1 for a in HW_X for b in HW_Y if a - delta > b)
        return min(cdf[u], 1 - (cdf[u - 1] if u else 0.0)) < 0.025  # either tail beyond alpha/2

    assert not rejected(low + 1e-9) and not rejected(high - 1e-9)
    assert rejected(low - 0.02) and rejected(high + 0.02)


def test_interval_covers_the_true_shift_as_often_as_promised():
    """Over 300 seeded experiments the 98 % interval covers the true shift at least ~98 % of the time."""
    rng = np.random.default_rng(11)
    covered = 0
    for _ in range(300):
        baseline, fault = rng.exponential(size=12), rng.exponential(size=15) + 0.7
        low, high, _, _ = shift_interval(baseline, fault, 0.98)
        covered += low <= 0.7 <= high
    assert covered >= 290


def test_normal_approximation_agrees_with_exact():
    """Without ties, the normal-approximation bounds are the exact ones or their neighbours."""
    rng = np.random.default_rng(1)
    baseline, fault = rng.normal(size=30), rng.normal(size=25) + 1
    diffs = np.sort(np.subtract.outer(fault, baseline).ravel())
    exact = shift_interval(baseline, fault, 0.98, method="exact")
    normal = shift_interval(baseline, fault, 0.98, method="normal")
    i_exact, i_normal = np.searchsorted(diffs, exact[0]), np.searchsorted(diffs, normal[0])
    assert abs(i_exact - i_normal) <= 1
    assert normal[2] == pytest.approx(0.98, abs=0.005)


def test_ties_use_the_normal_approximation():
    """Quantised per-second values (ties) switch to the tie-corrected normal approximation."""
    shift = compare([1.0, 1.0, 2.0, 2.0, 3.0] * 4, [2.0, 3.0, 3.0, 4.0, 4.0] * 4)
    assert shift.method == "normal"
    assert shift.low <= shift.estimate <= shift.high
    with pytest.raises(ValueError, match="no ties"):
        shift_interval([1.0, 1.0], [2.0, 3.0], method="exact")


def test_identical_samples_show_no_shift():
    """All-equal samples (an error rate of 0 every second): shift 0, interval [0, 0], p = 1."""
    shift = compare([0.0] * 20, [0.0] * 20)
    assert (shift.estimate, shift.low, shift.high, shift.p_value) == (0.0, 0.0, 0.0, 1.0)


def test_u_and_p_are_scipys():
    """The reported U and p are scipy's two-sided Mann-Whitney for the fault sample."""
    baseline, fault = [3.1, 2.2, 4.5, 3.3, 2.9, 3.8], [4.4, 5.1, 3.9, 6.0, 4.8]
    expected = scipy_stats.mannwhitneyu(fault, baseline, alternative="two-sided")
    shift = compare(baseline, fault)
    assert (shift.u, shift.p_value) == (expected.statistic, pytest.approx(expected.pvalue))


@pytest.mark.parametrize("low,high,allowed,worse,decision", [
    (0.0, 0.1, 0.2, "higher", "within"),
    (0.3, 0.5, 0.2, "higher", "violated"),
    (0.1, 0.3, 0.2, "higher", "inconclusive"),
    (-0.1, 0.2, -0.2, "lower", "within"),
    (-0.5, -0.3, -0.2, "lower", "violated"),
    (-0.3, 0.0, -0.2, "lower", "inconclusive"),
])
def test_decision_against_the_tolerated_shift(low, high, allowed, worse, decision):
    """Whole interval tolerable: within; none of it: violated; straddling: inconclusive."""
    shift = compare([1.0, 2.0], [1.5, 2.5])
    shift = type(shift)(**{**shift.to_dict(), "low": low, "high": high})
    assert decide_shift(shift, allowed, worse) == decision


def test_empty_samples_are_refused():
    """A comparison needs values on both sides."""
    with pytest.raises(ValueError):
        compare([], [1.0])
