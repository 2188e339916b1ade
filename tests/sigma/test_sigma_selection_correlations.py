"""The rule selection (--min-level, --rule-id, --exclude, --tag, --logsource) applied to correlation
rules, with the base rules (and chained correlations) a kept correlation needs run as silent
feeders; and tactic tags selecting through their synonyms (old attack.defense-evasion)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import orjson
import pytest

from chainbreaker.alerts import Level
from chainbreaker.detect.sigma import RuleSet
from chainbreaker.detect.sigma.loader import compile_yaml, load_correlations, load_rules
from chainbreaker.detect.sigma.selection import Selection
from chainbreaker.pipeline import HuntOptions, hunt, sigma_detector
from chainbreaker.simulate import SimConfig, simulate

RULES = """\
title: Base A
id: 30000000-0000-4000-8000-000000000001
name: base_a
status: test
tags: [attack.discovery, attack.t1087]
logsource: {category: process_creation, product: windows}
detection: {sel: {CommandLine|contains: alpha}, condition: sel}
level: low
---
title: Base B
id: 30000000-0000-4000-8000-000000000002
name: base_b
status: test
logsource: {category: process_creation, product: windows}
detection: {sel: {CommandLine|contains: beta}, condition: sel}
level: medium
---
title: Plain High
id: 30000000-0000-4000-8000-000000000003
name: plain_high
status: test
logsource: {category: process_creation, product: windows}
detection: {sel: {CommandLine|contains: gamma}, condition: sel}
level: high
---
title: Count A
id: 30000000-0000-4000-8000-000000000011
name: count_a
status: test
tags: [attack.t1087]
correlation:
  type: event_count
  rules: [base_a]
  generate: true
  group-by: [Computer]
  timespan: 5m
  condition: {gte: 2}
level: high
---
title: Count B
id: 30000000-0000-4000-8000-000000000012
name: count_b
status: test
correlation:
  type: event_count
  rules: [base_b]
  group-by: [Computer]
  timespan: 5m
  condition: {gte: 2}
level: medium
---
title: Chain Top
id: 30000000-0000-4000-8000-000000000013
name: chain_top
status: test
correlation:
  type: event_count
  rules: [count_b]
  group-by: [Computer]
  timespan: 10m
  condition: {gte: 1}
level: critical
"""


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAINBREAKER_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def case(tmp_path: Path) -> tuple[Path, Path]:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "rules.yml").write_text(RULES)
    lines = [
        {
            "EventID": 1,
            "Channel": "Microsoft-Windows-Sysmon/Operational",
            "Computer": "wks-1",
            "TimeCreated": f"2024-01-01T00:0{i}:00Z",
            "CommandLine": f"run {word}",
            "Image": "C:\\x.exe",
        }
        for i, word in enumerate(["alpha", "beta", "alpha", "beta", "gamma"])
    ]
    events = tmp_path / "ev.jsonl"
    events.write_bytes(b"\n".join(orjson.dumps(line) for line in lines) + b"\n")
    return rules, events


def _titles(case: tuple[Path, Path], selection: Selection) -> Counter[str]:
    rules, events = case
    options = HuntOptions(sigma=[rules], selection=selection, use_cache=False, workers=1, correlate=False)
    options.analytics = options.verdicts = False
    return Counter(a.title for a in hunt([events], options).alerts)


def test_default_selection_runs_everything(case: tuple[Path, Path]) -> None:
    # Base A alerts (its correlation says generate: true); Base B and Count B feed silently.
    assert _titles(case, Selection()) == Counter({"Base A": 2, "Count A": 1, "Chain Top": 1, "Plain High": 1})


def test_min_level_keeps_the_correlations_and_their_feeders(case: tuple[Path, Path]) -> None:
    # Base A (low), Base B and Count B (medium) are below the floor, but the high and critical
    # correlations need them: they run as feeders (before: 0 correlation alerts).
    assert _titles(case, Selection(min_level=Level.high)) == Counter(
        {"Count A": 1, "Chain Top": 1, "Plain High": 1}
    )


def test_rule_id_of_a_correlation_runs_its_chain_silently(case: tuple[Path, Path]) -> None:
    assert _titles(case, Selection(rule_ids=frozenset({"chain_top"}))) == Counter({"Chain Top": 1})
    # generate: true does not make a feeder the selection rejected alert
    by_id = Selection(rule_ids=frozenset({"30000000-0000-4000-8000-000000000011"}))
    assert _titles(case, by_id) == Counter({"Count A": 1})


def test_excluded_correlation_does_not_run(case: tuple[Path, Path]) -> None:
    excluded = Selection(excluded_ids=frozenset({"count_a", "30000000-0000-4000-8000-000000000013"}))
    # Base A is no longer referenced by a running correlation: it alerts as a plain rule. Count B,
    # no longer inside a running chain, alerts on its own; Base B still feeds it silently.
    assert _titles(case, excluded) == Counter({"Base A": 2, "Count B": 1, "Plain High": 1})


def test_tags_and_logsource_apply_to_correlations(case: tuple[Path, Path]) -> None:
    tagged = Selection(tags=frozenset({"attack.t1087"}))
    assert _titles(case, tagged) == Counter({"Base A": 2, "Count A": 1})
    assert _titles(case, Selection(logsources=(("product", "linux"),))) == Counter()
    windows = Selection(logsources=(("category", "process_creation"),), min_level=Level.critical)
    assert _titles(case, windows) == Counter({"Chain Top": 1})


def test_select_reports_feeders(case: tuple[Path, Path]) -> None:
    ruleset = load_rules([case[0]], use_cache=False)
    correlations = load_correlations(ruleset.correlation_files, ruleset)
    chosen = Selection(min_level=Level.critical).select(ruleset.rules, correlations)
    assert [r.name for r in chosen.rules] == ["base_b"]
    assert chosen.feeders == {"30000000-0000-4000-8000-000000000002"}
    assert [(c.name, c.custom_attributes.get("chainbreaker_feeder", False)) for c in chosen.correlations] == [
        ("count_b", True),
        ("chain_top", False),
    ]
    assert not correlations[1].custom_attributes.get("chainbreaker_feeder")  # the input is unchanged
    detector, _ = sigma_detector(
        HuntOptions(sigma=[case[0]], selection=Selection(min_level=Level.critical), use_cache=False)
    )
    assert detector.routing(detector.engine.rules[0]) == (("base_b",), False)


TAGGED = """\
title: {title}
id: 40000000-0000-4000-8000-00000000000{n}
status: test
tags: {tags}
logsource: {{category: process_creation, product: windows}}
detection: {{sel: {{CommandLine|contains: x{n}}}, condition: sel}}
level: medium
"""


@pytest.fixture(scope="module")
def tagged_rules() -> RuleSet:
    docs = [
        TAGGED.format(title="old registry", n=1, tags="[attack.defense-evasion, attack.t1112]"),
        TAGGED.format(title="old masquerade", n=2, tags="[attack.defense_evasion, attack.t1036]"),
        TAGGED.format(title="new stealth", n=3, tags="[attack.stealth, attack.t1036]"),
        TAGGED.format(title="new impairment", n=4, tags="[attack.defense-impairment, attack.t1112]"),
        TAGGED.format(title="execution", n=5, tags="[attack.execution, attack.t1059]"),
    ]
    return compile_yaml("---\n".join(docs))


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("attack.defense-evasion", {"old registry", "old masquerade", "new stealth", "new impairment"}),
        ("attack.defense_evasion", {"old registry", "old masquerade", "new stealth", "new impairment"}),
        ("attack.stealth", {"old masquerade", "new stealth"}),
        ("attack.ta0005", {"old masquerade", "new stealth"}),
        ("attack.defense-impairment", {"old registry", "new impairment"}),
        ("attack.execution", {"execution"}),
        ("attack.t1112", {"old registry", "new impairment"}),
    ],
)
def test_tactic_tags_select_through_synonyms(tagged_rules: RuleSet, tag: str, expected: set[str]) -> None:
    assert {r.title for r in Selection(tags=frozenset({tag})).apply(tagged_rules.rules)} == expected


def test_old_defense_evasion_tag_resolves_by_technique(tagged_rules: RuleSet) -> None:
    tactics = {r.title: r.tactics for r in tagged_rules.rules}
    assert tactics["old registry"] == ("defense-impairment",)  # T1112 is under Defense Impairment
    assert tactics["old masquerade"] == ("stealth",)
    assert tactics["new stealth"] == ("stealth",) and tactics["new impairment"] == ("defense-impairment",)


def test_old_tag_selects_sigmahq_rules_of_both_successors(sigmahq_rules: RuleSet) -> None:
    rules = sigmahq_rules.rules
    new = {r.id for r in rules if {"attack.stealth", "attack.defense-impairment"} & set(r.tags)}
    assert len(new) > 500  # SigmaHQ retagged its defense-evasion rules after ATT&CK v19
    old = {r.id for r in Selection(tags=frozenset({"attack.defense-evasion"})).apply(rules)}
    assert new <= old


def test_shipped_ransomware_correlations_survive_min_level_high(tmp_path: Path) -> None:
    simulate("lockbit", tmp_path, SimConfig(hosts=4, days=0.15, noise=10, seed=5))

    def correlated(level: Level) -> Counter[str]:
        options = HuntOptions(
            selection=Selection(min_level=level), workers=1, correlate=False, use_cache=False
        )
        options.analytics = options.verdicts = False
        found = hunt([tmp_path / "logs"], options).alerts
        return Counter(a.title for a in found if a.detector == "sigma-correlation" and a.level >= Level.high)

    everything = correlated(Level.informational)
    assert everything["Ransom Notes Dropped in Many Folders"] >= 1, everything
    assert correlated(Level.high) == everything
    summary = json.loads((tmp_path / "ground_truth.json").read_text())
    assert summary["incidents"]  # the simulation did play an intrusion
