"""Resolving what correlation rules refer to (check_references), and feeder correlations that the
rule selection keeps for a chain: they are evaluated but raise no alert of their own."""

from __future__ import annotations

import copy

from corr_streams import BASE_RULES, base_rule, correlation, events, load, load_unresolved, matches

from chainbreaker.detect.sigma.correlation import FEEDER, evaluate_correlations, is_feeder, references
from chainbreaker.detect.sigma.correlation_load import check_references

KNOWN = {n for name in BASE_RULES for n in (name, base_rule(name)["id"])}


def count(refs: list[str], name: str, number: int) -> dict:
    return correlation(
        "event_count", refs, name=name, number=number, group_by=["Computer"], condition={"gte": 2}
    )


def test_references_of_rules_and_of_extended_conditions() -> None:
    listed, extended = load(
        count(["rule_a", "rule_b"], "listed", 1),
        correlation(
            "temporal", None, name="ext", number=2, group_by=["Computer"], condition="rule_a and not rule_c"
        ),
    )
    assert references(listed) == ["rule_a", "rule_b"]
    assert sorted(references(extended)) == ["rule_a", "rule_c"]


def test_good_references_by_name_id_and_chain_are_kept() -> None:
    rules = load(
        count(["rule_a"], "by_name", 1),
        count([base_rule("rule_b")["id"]], "by_id", 2),
        count(["by_name"], "chained", 3),
    )
    kept, left_out = check_references(rules, KNOWN)
    assert [c.name for c in kept] == ["by_name", "by_id", "chained"] and left_out == []


def test_missing_reference_is_left_out_and_the_others_stay() -> None:
    rules = load_unresolved(count(["rule_a", "nope", "nada"], "bad", 1), count(["rule_b"], "good", 2))
    kept, left_out = check_references(rules, KNOWN)
    assert [c.name for c in kept] == ["good"]
    assert [(c.name, reason) for c, reason in left_out] == [
        ("bad", "correlation refers to 'nope', 'nada': no such rule is loaded")
    ]
    # without the base rules loaded, every reference to them is missing
    kept, left_out = check_references(rules, set())
    assert kept == [] and len(left_out) == 2


def test_loops_and_everything_built_on_them_are_left_out() -> None:
    rules = load_unresolved(
        count(["c"], "a", 1),
        count(["a"], "b", 2),
        count(["b"], "c", 3),
        count(["me"], "me", 4),
        count(["a", "rule_a"], "on_loop", 5),
        count(["on_loop"], "on_on_loop", 6),
        count(["rule_a"], "fine", 7),
    )
    kept, left_out = check_references(rules, KNOWN)
    assert [c.name for c in kept] == ["fine"]
    reasons = {c.name: reason for c, reason in left_out}
    assert reasons["a"] == reasons["b"] == reasons["c"]
    assert reasons["a"] == "correlation rules refer to each other in a loop: a -> c -> b -> a"
    assert reasons["me"] == "correlation rules refer to each other in a loop: me -> me"
    assert reasons["on_loop"] == "correlation refers to correlation 'a', which is left out"
    assert reasons["on_on_loop"] == "correlation refers to correlation 'on_loop', which is left out"
    # what is kept evaluates without the cycle error the loop would raise
    data = matches(rule_a=events((0, {"Computer": "h"}), (30, {"Computer": "h"})))
    assert [a.title for a in evaluate_correlations(kept, data)] == ["Correlation event_count 7"]


def test_feeder_correlation_feeds_its_chain_but_raises_no_alert() -> None:
    inner = count(["rule_a"], "inner", 1)
    outer = correlation(
        "event_count", ["inner"], "10m", number=2, group_by=["Computer"], condition={"gte": 1}, generate=True
    )
    data = matches(rule_a=events((0, {"Computer": "h"}), (30, {"Computer": "h"})))
    plain = load(inner, outer)
    assert sorted(a.title for a in evaluate_correlations(plain, data)) == [
        "Correlation event_count 1",  # generate: true on the outer one lets the inner one alert
        "Correlation event_count 2",
    ]
    fed = load(inner, outer)
    marked = copy.copy(fed[0])
    marked.custom_attributes = {**fed[0].custom_attributes, FEEDER: True}
    assert is_feeder(marked) and not is_feeder(fed[0])
    assert [a.title for a in evaluate_correlations([marked, fed[1]], data)] == ["Correlation event_count 2"]
