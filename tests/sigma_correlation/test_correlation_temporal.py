"""temporal and temporal_ordered: group-by respected, every rule checked, order checked, exact edges."""

from __future__ import annotations

import polars as pl
from corr_streams import correlation, events, load, matches

from chainbreaker.detect.sigma.correlation import evaluate_correlations

RULES = ["rule_a", "rule_b", "rule_c"]


def temporal(kind: str = "temporal", **extra: object) -> list:
    return load(correlation(kind, RULES, "5m", group_by=["Computer"], **extra))


def stream(**at: tuple[float, str]) -> dict[str, pl.DataFrame]:
    """rule name -> (seconds, Computer)."""
    frames = {
        name: events((offset, {"Computer": host}), first=10 * (i + 1))
        for i, (name, (offset, host)) in enumerate(at.items())
    }
    return matches(**frames)


def test_temporal_all_rules_within_timespan_fire() -> None:
    alerts = evaluate_correlations(
        temporal(), stream(rule_a=(0, "h1"), rule_c=(100, "h1"), rule_b=(300, "h1"))
    )
    assert len(alerts) == 1
    assert alerts[0].host == "h1"
    assert alerts[0].count == 3
    assert alerts[0].description.startswith("3 of 3 rules")


def test_temporal_one_nanosecond_late_does_not_fire() -> None:
    frames = stream(rule_a=(0, "h1"), rule_b=(100, "h1"), rule_c=(300, "h1"))
    late = frames["rule_c"].with_columns(pl.col("timestamp") + pl.duration(nanoseconds=1))
    frames |= matches(rule_c=late)
    assert evaluate_correlations(temporal(), frames) == []


def test_temporal_respects_group_by() -> None:
    # every rule matched within the timespan, but on two machines
    assert (
        evaluate_correlations(temporal(), stream(rule_a=(0, "h1"), rule_b=(10, "h2"), rule_c=(20, "h1")))
        == []
    )


def test_temporal_needs_every_rule() -> None:
    frames = matches(
        rule_a=events((0, {"Computer": "h1"}), (10, {"Computer": "h1"})),
        rule_b=events((20, {"Computer": "h1"}), first=5),
    )
    assert evaluate_correlations(temporal(), frames) == []


def test_temporal_count_condition() -> None:
    frames = stream(rule_a=(0, "h1"), rule_b=(10, "h1"))
    alerts = evaluate_correlations(temporal(condition={"gte": 2}), frames)
    assert len(alerts) == 1 and alerts[0].description.startswith("2 of 3 rules")


def test_temporal_extended_condition() -> None:
    # a window (ending at an event) holding an a and no b: "a not preceded by b within 5m"
    rules = load(
        correlation("temporal", None, "5m", group_by=["Computer"], condition="rule_a and not rule_b")
    )
    assert evaluate_correlations(rules, stream(rule_b=(0, "h1"), rule_a=(300, "h1"))) == []
    assert len(evaluate_correlations(rules, stream(rule_b=(0, "h1"), rule_a=(301, "h1")))) == 1
    assert len(evaluate_correlations(rules, stream(rule_b=(0, "h2"), rule_a=(100, "h1")))) == 1


def test_ordered_in_order_fires_and_cites_the_chain() -> None:
    alerts = evaluate_correlations(
        temporal("temporal_ordered"), stream(rule_a=(0, "h1"), rule_b=(100, "h1"), rule_c=(300, "h1"))
    )
    assert len(alerts) == 1
    assert [r.record for r in alerts[0].event_refs] == [10, 20, 30]
    assert "in order" in alerts[0].description


def test_ordered_checks_every_step_not_only_the_first() -> None:
    # a first, but c before b: a broken order after the first rule must not fire
    frames = stream(rule_a=(0, "h1"), rule_c=(100, "h1"), rule_b=(200, "h1"))
    assert evaluate_correlations(temporal("temporal_ordered"), frames) == []
    # while unordered temporal accepts it
    assert len(evaluate_correlations(temporal(), frames)) == 1


def test_ordered_respects_group_by_and_timespan() -> None:
    frames = stream(rule_a=(0, "h1"), rule_b=(100, "h2"), rule_c=(200, "h1"))
    assert evaluate_correlations(temporal("temporal_ordered"), frames) == []
    late = stream(rule_a=(0, "h1"), rule_b=(100, "h1"), rule_c=(300.5, "h1"))
    assert evaluate_correlations(temporal("temporal_ordered"), late) == []


def test_ordered_uses_the_latest_possible_start() -> None:
    # an early a (too old), then a fresh a, b, c: the chain from the fresh a fits the timespan
    frames = matches(
        rule_a=events((0, {"Computer": "h1"}), (400, {"Computer": "h1"})),
        rule_b=events((500, {"Computer": "h1"}), first=20),
        rule_c=events((700, {"Computer": "h1"}), first=30),
    )
    alerts = evaluate_correlations(temporal("temporal_ordered"), frames)
    assert len(alerts) == 1
    assert [r.record for r in alerts[0].event_refs] == [2, 20, 30]


def test_aliases_map_one_name_to_different_fields() -> None:
    rules = load(
        correlation(
            "temporal",
            ["rule_a", "rule_b"],
            "1m",
            group_by=["ip"],
            aliases={"ip": {"rule_a": "SourceIp", "rule_b": "DestinationIp"}},
        )
    )
    same = matches(
        rule_a=events((0, {"SourceIp": "10.1.1.1"})),
        rule_b=events((30, {"DestinationIp": "10.1.1.1"}), first=9),
    )
    other = matches(
        rule_a=events((0, {"SourceIp": "10.1.1.1"})),
        rule_b=events((30, {"DestinationIp": "10.1.1.2"}), first=9),
    )
    alerts = evaluate_correlations(rules, same)
    assert len(alerts) == 1 and dict(alerts[0].matched)["ip"] == "10.1.1.1"
    assert evaluate_correlations(rules, other) == []
