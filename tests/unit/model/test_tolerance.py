"""Tolerances: each kind judged on its own, then checks over a probe's observations."""

from __future__ import annotations

from chaoskit.model.tolerance import (
    AllOf,
    Check,
    Equals,
    InRange,
    JsonPath,
    OneOf,
    Regex,
    Relative,
    Threshold,
    evaluate,
    evaluate_checks,
    json_path_lookup,
    valid_json_path,
)


def test_equals_does_not_confuse_true_with_one() -> None:
    """Equality holds for equal values, and a boolean never equals a number."""
    assert evaluate(Equals(200), 200).ok
    assert not evaluate(Equals(200), 500).ok
    assert not evaluate(Equals(1), True).ok
    assert evaluate(Equals(True), True).ok


def test_one_of() -> None:
    """OneOf accepts any listed value and names the set when it fails."""
    assert evaluate(OneOf((200, 204)), 204).ok
    judged = evaluate(OneOf((200, 204)), 503)
    assert not judged.ok and "not in" in judged.reason


def test_range_is_inclusive_and_needs_a_number() -> None:
    """InRange includes both bounds and refuses non-numbers."""
    assert evaluate(InRange(200, 299), 200).ok and evaluate(InRange(200, 299), 299).ok
    assert not evaluate(InRange(200, 299), 300).ok
    assert not evaluate(InRange(0, 1), None).ok


def test_threshold_min_and_max() -> None:
    """Threshold fails above max and below min, and says which bound was crossed."""
    assert evaluate(Threshold(max=0.25), 0.2).ok
    judged = evaluate(Threshold(max=0.25), 0.3)
    assert not judged.ok and "max 0.25" in judged.reason
    assert not evaluate(Threshold(min=10), 9).ok
    assert not evaluate(Threshold(max=1), float("nan")).ok


def test_regex_searches_text_and_bytes() -> None:
    """Regex searches anywhere in the text; bytes are decoded; None never matches."""
    assert evaluate(Regex("ok"), '{"status": "ok"}').ok
    assert evaluate(Regex("^PONG"), b"PONG\n").ok
    assert not evaluate(Regex("ok"), "fail").ok
    assert not evaluate(Regex("ok"), None).ok


def test_json_path_on_text_and_parsed_documents() -> None:
    """JsonPath parses JSON text, walks keys and indexes, and judges the value found."""
    body = '{"data": {"items": [{"id": 7}, {"id": 8}]}, "status": "ok"}'
    assert evaluate(JsonPath("data.items[1].id", Equals(8)), body).ok
    assert evaluate(JsonPath("$.status", Equals("ok")), body).ok
    assert not evaluate(JsonPath("data.items[5].id", Equals(8)), body).ok
    assert "not found" in evaluate(JsonPath("nope", Equals(1)), body).reason
    assert "not JSON" in evaluate(JsonPath("a", Equals(1)), "<html>").reason
    assert evaluate(JsonPath("count", Threshold(max=3)), {"count": 2}).ok


def test_json_path_lookup_edges() -> None:
    """The tiny path language handles negative indexes and refuses walking into scalars."""
    assert json_path_lookup({"a": [1, 2, 3]}, "a[-1]") == (True, 3)
    assert json_path_lookup({"a": 1}, "a.b") == (False, None)
    assert json_path_lookup([{"x": 1}], "[0].x") == (True, 1)
    assert valid_json_path("data.items[0].id") and not valid_json_path("a[b]")


def test_relative_against_baseline() -> None:
    """Relative compares ratio and increase with the baseline; without one it is inconclusive."""
    assert evaluate(Relative(max_ratio=2), 0.19, 0.1).ok
    judged = evaluate(Relative(max_ratio=2), 0.3, 0.1)
    assert not judged.ok and "x3.00" in judged.reason
    assert not evaluate(Relative(max_increase=0.005), 0.02, 0.01).ok
    assert evaluate(Relative(max_increase=0.005), 0.014, 0.01).ok
    assert not evaluate(Relative(min_ratio=0.9), 80, 100).ok
    unknown = evaluate(Relative(max_ratio=2), 0.3, None)
    assert not unknown.ok and unknown.inconclusive


def test_all_of_prefers_a_clear_violation_over_uncertainty() -> None:
    """AllOf fails on the first clear violation even when another part is inconclusive."""
    tolerance = AllOf((Relative(max_ratio=2), Threshold(max=1)))
    judged = evaluate(tolerance, 5, None)
    assert not judged.ok and not judged.inconclusive
    unsure = evaluate(tolerance, 0.5, None)
    assert not unsure.ok and unsure.inconclusive
    assert evaluate(tolerance, 0.5, 0.4).ok


def test_checks_over_observations() -> None:
    """evaluate_checks judges each subject, names the failing one, and flags a missing subject."""
    checks = (Check("status", InRange(200, 299)), Check("latency", Threshold(max=0.5)))
    assert evaluate_checks(checks, {"status": 200, "latency": 0.1}).ok
    judged = evaluate_checks(checks, {"status": 200, "latency": 0.9})
    assert not judged.ok and judged.reason.startswith("latency:")
    assert evaluate_checks(checks, {"status": 200}).reason == "latency: not observed"
    relative = (Check("p99", Relative(max_ratio=2)),)
    assert not evaluate_checks(relative, {"p99": 0.5}, {"p99": 0.1}).ok


def test_tolerances_describe_themselves() -> None:
    """Each tolerance prints as a short expression for reports."""
    assert str(Threshold(max=0.25)) == "<= 0.25"
    assert str(AllOf((Threshold(max=0.5), Relative(max_ratio=3)))) == "<= 0.5 and <= 3x baseline"
    assert str(Check("body", JsonPath("status", Equals("ok")))) == "body status == 'ok'"
