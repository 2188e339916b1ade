"""value_sum / value_avg / value_median / value_percentile, chained correlations and ``generate``."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from corr_streams import correlation, events, load, matches
from sigma.correlations import SigmaCorrelationRule

from chainbreaker.detect.sigma.correlation import evaluate_correlations, rule_is_generated, suppressed_rules
from chainbreaker.detect.sigma.correlation_load import load_rules
from chainbreaker.errors import RuleError


def transfers(*rows: tuple[float, str]) -> dict:
    """(seconds, bytes) rows of one host; one non-numeric value that must be ignored."""
    return matches(rule_a=events(*[(t, {"Computer": "h1", "Bytes": b}) for t, b in rows]))


def metric(kind: str, condition: dict[str, float]) -> list:
    return load(
        correlation(kind, ["rule_a"], "1m", group_by=["Computer"], condition={"field": "Bytes", **condition})
    )


def test_value_sum_within_closed_window() -> None:
    data = transfers((0, "600"), (30, "n/a"), (60, "500"))
    alerts = evaluate_correlations(metric("value_sum", {"gte": 1100}), data)
    assert len(alerts) == 1
    assert alerts[0].description.startswith("sum of Bytes = 1100 over 3 events")
    late = transfers((0, "600"), (60.001, "500"))
    assert evaluate_correlations(metric("value_sum", {"gte": 1100}), late) == []


def test_value_avg() -> None:
    data = transfers((0, "100"), (10, "300"), (20, "800"))
    alerts = evaluate_correlations(metric("value_avg", {"gt": 350}), data)
    assert len(alerts) == 1 and dict(alerts[0].matched)["correlation_value"] == "400"
    assert evaluate_correlations(metric("value_avg", {"gt": 400}), data) == []


def test_value_median_and_percentile() -> None:
    data = transfers((0, "1"), (1, "2"), (2, "3"), (3, "4"), (4, "100"))
    assert len(evaluate_correlations(metric("value_median", {"eq": 3}), data)) == 1
    # linear interpolation: the 90th percentile of 1,2,3,4,100 is 4 + 0.6 * 96 = 61.6
    assert len(evaluate_correlations(metric("value_percentile", {"gte": 61.6, "percentile": 90}), data)) == 1
    assert evaluate_correlations(metric("value_percentile", {"gte": 61.7, "percentile": 90}), data) == []


def test_value_percentile_without_percentile_is_a_rule_error() -> None:
    with pytest.raises(RuleError, match="percentile"):
        evaluate_correlations(metric("value_percentile", {"gte": 1}), transfers((0, "1")))


def chain(generate: bool) -> list:
    inner = correlation(
        "event_count",
        ["failed"],
        "5m",
        name="many_failed",
        number=1,
        group_by=["TargetUserName"],
        condition={"gte": 3},
    )
    outer = correlation(
        "temporal_ordered",
        ["many_failed", "success"],
        "10m",
        number=2,
        group_by=["TargetUserName"],
        generate=generate,
    )
    return load(inner, outer)


def logons(success_at: float) -> dict:
    failed = events(*[(t, {"TargetUserName": "admin"}) for t in (0, 10, 20, 30)])
    success = events((success_at, {"TargetUserName": "Admin"}), first=50)
    return matches(failed=failed, success=success)


def test_chained_correlation_reads_the_inner_rows() -> None:
    alerts = evaluate_correlations(chain(generate=False), logons(success_at=60))
    assert [a.title for a in alerts] == ["Correlation temporal_ordered 2"]  # inner one is suppressed
    outer = alerts[0]
    assert outer.user == "Admin"
    assert [r.record for r in outer.event_refs] == [1, 2, 3, 4, 50]
    assert outer.count == 5


def test_chained_correlation_order_and_generate() -> None:
    assert evaluate_correlations(chain(generate=False), logons(success_at=-10)) == []
    both = evaluate_correlations(chain(generate=True), logons(success_at=60))
    assert sorted(a.title for a in both) == ["Correlation event_count 1", "Correlation temporal_ordered 2"]


def test_suppressed_rules_follow_generate() -> None:
    rules = chain(generate=False)
    suppressed = suppressed_rules(rules)
    assert {"many_failed", "success", "00000000-0000-4000-8000-000000000004"} <= suppressed
    assert not rule_is_generated(None, "success", suppressed)
    assert rule_is_generated("some-other-id", None, suppressed)
    assert "success" not in suppressed_rules(chain(generate=True))


def test_extended_condition_on_ordered_is_refused() -> None:
    rules = load(
        correlation("temporal_ordered", None, "5m", group_by=["Computer"], condition="rule_a and rule_b")
    )
    with pytest.raises(RuleError, match="temporal_ordered"):
        evaluate_correlations(rules, matches(rule_a=events((0, {"Computer": "h"}))))


def test_cycles_are_rule_errors() -> None:
    first = correlation("event_count", ["second"], name="first", number=1, condition={"gte": 1})
    second = correlation("event_count", ["first"], name="second", number=2, condition={"gte": 1})
    with pytest.raises(RuleError, match="cycle"):
        evaluate_correlations(load(first, second), {})


def test_range_rules_load_from_files(tmp_path: Path) -> None:
    text = yaml.safe_dump_all(
        [
            {
                "title": "Base",
                "name": "base",
                "logsource": {"product": "windows", "service": "security"},
                "detection": {"sel": {"EventID": 4625}, "condition": "sel"},
            },
            correlation("event_count", ["base"], condition={"gt": 1, "lt": 3}),
        ]
    )
    (tmp_path / "rules.yml").write_text(text)
    rules = [r for r in load_rules([tmp_path / "rules.yml"]) if isinstance(r, SigmaCorrelationRule)]
    frames = {"base": events((0, {}), (1, {}))}
    assert len(evaluate_correlations(rules, frames)) == 1
    frames = {"base": events((0, {}), (1, {}), (2, {}))}
    assert [a.count for a in evaluate_correlations(rules, frames)] == [2]
