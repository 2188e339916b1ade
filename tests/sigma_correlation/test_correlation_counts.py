"""event_count and value_count: exact closed windows, group-by, episodes, caps, condition operators."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest
from corr_streams import T0, correlation, events, load, matches

from chainbreaker.detect.sigma.correlation import evaluate_correlations


def brute(condition: dict[str, float], timespan: str = "5m") -> list:
    return load(
        correlation("event_count", ["failed"], timespan, group_by=["TargetUserName"], condition=condition)
    )


def fails(*offsets: float, user: str = "admin") -> dict:
    return matches(failed=events(*[(o, {"TargetUserName": user, "host": "WKS-01"}) for o in offsets]))


def test_event_count_window_is_closed_exactly_timespan_apart_is_in() -> None:
    alerts = evaluate_correlations(brute({"gte": 3}), fails(0, 150, 300))
    assert len(alerts) == 1
    assert alerts[0].count == 3
    assert alerts[0].time == T0 + timedelta(seconds=300)
    assert [r.record for r in alerts[0].event_refs] == [1, 2, 3]


def test_event_count_one_nanosecond_past_timespan_is_out() -> None:
    frame = fails(0, 150)["failed"]
    late = events((300, {"TargetUserName": "admin"}), first=3)
    late = late.with_columns(pl.col("timestamp") + pl.duration(nanoseconds=1))
    combined = frame.vstack(late.select(frame.columns))
    assert evaluate_correlations(brute({"gte": 3}), matches(failed=combined)) == []


def test_count_never_runs_past_timespan() -> None:
    # 6 failures over 25 minutes, never 3 within 5 minutes: an engine counting per group
    # (or per fixed bucket boundaries extended past the timespan) would fire.
    assert evaluate_correlations(brute({"gte": 3}), fails(0, 240, 600, 840, 1200, 1440)) == []


def test_group_by_separates_users_and_ignores_case() -> None:
    stream = events(
        (0, {"TargetUserName": "admin"}),
        (10, {"TargetUserName": "bob"}),
        (20, {"TargetUserName": "ADMIN"}),
        (30, {"TargetUserName": "bob"}),
    )
    assert evaluate_correlations(brute({"gte": 3}), matches(failed=stream)) == []
    alerts = evaluate_correlations(brute({"gte": 2}), matches(failed=stream))
    assert sorted(a.user.lower() for a in alerts if a.user) == ["admin", "bob"]


def test_rows_without_group_value_take_no_part() -> None:
    stream = events((0, {"TargetUserName": "admin"}), (1, {}), (2, {}))
    assert evaluate_correlations(brute({"gte": 2}), matches(failed=stream)) == []


def test_one_alert_per_episode_with_the_largest_window() -> None:
    alerts = evaluate_correlations(brute({"gte": 10}), fails(*range(0, 12 * 20, 20)))
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert.count == 12
    assert alert.description.startswith("12 events of 'Base failed' for TargetUserName=admin within 5m")
    assert alert.user == "admin" and alert.host == "WKS-01"
    assert alert.detector == "sigma-correlation" and alert.techniques == ("T1110",)


def test_two_separate_bursts_give_two_alerts() -> None:
    alerts = evaluate_correlations(brute({"gte": 3}), fails(0, 10, 20, 1000, 1010, 1020))
    assert [a.count for a in alerts] == [3, 3]
    assert alerts[1].time == T0 + timedelta(seconds=1020)


def test_refs_are_capped_count_is_exact_and_closing_event_is_cited() -> None:
    alerts = evaluate_correlations(brute({"gte": 50}), fails(*[i * 0.5 for i in range(150)]))
    assert len(alerts) == 1
    assert alerts[0].count == 150
    assert len(alerts[0].event_refs) == 100
    assert alerts[0].event_refs[-1].record == 150


@pytest.mark.parametrize(
    ("condition", "fires"),
    [
        ({"gt": 2}, True),
        ({"gt": 3}, False),
        ({"gte": 3}, True),
        ({"eq": 3}, True),
        ({"eq": 4}, False),
        ({"lt": 2}, True),  # the first window holds one event
        ({"lte": 0}, False),
        ({"neq": 3}, True),
    ],
)
def test_condition_operators(condition: dict[str, float], fires: bool) -> None:
    assert bool(evaluate_correlations(brute(condition), fails(0, 10, 20))) is fires


def test_range_condition_needs_both_bounds() -> None:
    assert evaluate_correlations(brute({"gt": 3, "lte": 5}), fails(0, 10, 20)) == []
    alerts = evaluate_correlations(brute({"gt": 3, "lte": 5}), fails(0, 10, 20, 30))
    assert [a.count for a in alerts] == [4]
    assert evaluate_correlations(brute({"gt": 3, "lte": 5}), fails(*range(0, 60, 10))) != []
    # with 8 events the largest window breaks the upper bound, smaller windows still satisfy it
    eight = evaluate_correlations(brute({"gt": 3, "lte": 5}), fails(*range(0, 80, 10)))
    assert all(4 <= a.count <= 5 for a in eight)


def test_no_group_by_counts_everything() -> None:
    rules = load(correlation("event_count", ["failed"], "1m", condition={"gte": 3}))
    stream = events(
        (0, {"TargetUserName": "a"}), (30, {"TargetUserName": "b"}), (60, {"TargetUserName": "c"})
    )
    alerts = evaluate_correlations(rules, matches(failed=stream))
    assert len(alerts) == 1 and alerts[0].user is None


def spray(condition: dict[str, float]) -> list:
    return load(
        correlation(
            "value_count",
            ["failed"],
            "10m",
            group_by=["IpAddress"],
            condition={"field": "TargetUserName", **condition},
        )
    )


def test_value_count_counts_distinct_values_within_the_window() -> None:
    stream = events(
        (0, {"IpAddress": "10.0.0.5", "TargetUserName": "alice"}),
        (60, {"IpAddress": "10.0.0.5", "TargetUserName": "ALICE"}),  # same value, other case
        (120, {"IpAddress": "10.0.0.5", "TargetUserName": "bob"}),
        (180, {"IpAddress": "10.0.0.5"}),  # no value: not counted
        (600, {"IpAddress": "10.0.0.5", "TargetUserName": "carol"}),  # exactly 10m after the first
        (130, {"IpAddress": "10.0.0.9", "TargetUserName": "dave"}),  # other source
    )
    alerts = evaluate_correlations(spray({"gte": 3}), matches(failed=stream))
    assert len(alerts) == 1
    assert alerts[0].description.startswith("3 distinct TargetUserName values in 5 events")
    assert alerts[0].count == 5
    assert dict(alerts[0].matched)["IpAddress"] == "10.0.0.5"
    assert evaluate_correlations(spray({"gte": 4}), matches(failed=stream)) == []


def test_value_count_drops_values_past_the_window() -> None:
    stream = events(
        (0, {"IpAddress": "10.0.0.5", "TargetUserName": "alice"}),
        (300, {"IpAddress": "10.0.0.5", "TargetUserName": "bob"}),
        (600.5, {"IpAddress": "10.0.0.5", "TargetUserName": "carol"}),
    )
    assert evaluate_correlations(spray({"gte": 3}), matches(failed=stream)) == []


def test_rule_that_matched_nothing_gives_nothing() -> None:
    assert evaluate_correlations(brute({"gte": 1}), {}) == []
