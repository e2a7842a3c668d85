"""What a report shows of a verdict's interval agrees with the verdict: the deciding interval, labelled."""

from __future__ import annotations

import numpy as np

from chaoskit.model.probes import LoadProbe
from chaoskit.model.tolerance import Check, Threshold
from chaoskit.report.findings import describe_comparison
from chaoskit.report.probes import _comparisons
from chaoskit.run.judging import judge_window
from tests.unit.measure.factory import bucket

P99 = LoadProbe("p99", "p99", (Check("p99", Threshold(max=0.5)),))


def _window(first: int, slow_share: float) -> list:
    rng = np.random.default_rng(first)
    out = []
    for i in range(20):
        values = rng.lognormal(np.log(0.01), 0.3, 200)
        values[rng.random(200) < slow_share] = 1.0
        out.append(bucket(first + i, values.tolist()))
    return out


def test_a_violated_p99_shows_its_interval_beyond_the_limit_and_the_typical_shift_apart():
    """10% of requests at 1 s: the report's deciding interval lies above 500 ms; the unchanged typical second is
    shown under its own label, deciding nothing."""
    judged = judge_window(P99, "fault", _window(0, 0.0), _window(100, 0.1))
    assert judged.decision == "violated"
    shown = _comparisons(judged.comparisons(), [])
    deciding = [c for c in shown if c.decision == "violated"]
    assert len(deciding) == 1 and deciding[0].label == "p99 of the window" and deciding[0].low > 0.5
    text = describe_comparison(deciding[0], "s")
    assert text.startswith("p99 of the window ") and "(violated)" in text and "+" not in text
    typical = [c for c in shown if c.label == "typical shift"]
    assert len(typical) == 1 and typical[0].decision == ""
