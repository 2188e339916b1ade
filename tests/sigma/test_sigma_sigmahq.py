"""The whole SigmaHQ rule set: what loads, what does not and why, and SigmaHQ's regression data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chainbreaker.detect.sigma import RuleSet, SigmaEngine, load_rules
from chainbreaker.events import concat
from chainbreaker.readers import ReadReport, read_paths


def test_every_rule_loads_or_is_reported_with_a_reason(sigmahq_rules: RuleSet) -> None:
    report = sigmahq_rules.report()
    assert report["files"] > 3700
    assert report["total"] == report["loaded"] + report["failed"] + report["unsupported"]
    assert report["loaded"] > 2900
    # the only real failures: rules that need site-specific placeholder values
    assert {p.reason.split("%")[0] for p in sigmahq_rules.failed} <= {"unknown placeholder "}
    assert all(p.reason.startswith("unsupported: no source for ") for p in sigmahq_rules.unsupported)
    assert all(p.file and p.reason for p in sigmahq_rules.problems)


def test_every_windows_and_zeek_rule_is_supported(sigmahq_rules: RuleSet) -> None:
    unsupported = {p.reason for p in sigmahq_rules.unsupported}
    assert not [r for r in unsupported if "product:zeek" in r]
    # Windows: file_rename is logged by EDR products only, no event log chainbreaker reads has it
    windows = {r for r in unsupported if "product:windows" in r}
    assert windows <= {"unsupported: no source for product:windows category:file_rename"}


def test_second_load_comes_from_the_cache(
    sigmahq: Path, sigmahq_rules: RuleSet, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CHAINBREAKER_CACHE_DIR", str(tmp_path))
    folder = [sigmahq / "rules" / "windows" / "builtin" / "security"]
    first = load_rules(folder)
    second = load_rules(folder)
    assert not first.from_cache and second.from_cache
    assert [r.id for r in second.rules] == [r.id for r in first.rules]
    assert second.rules == first.rules


def _regression_cases(root: Path) -> list[dict[str, str]]:
    lines = (root / "regression_tests.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_sigmahq_regression_data_every_supported_rule_fires(sigmahq: Path, sigmahq_rules: RuleSet) -> None:
    """Each rule of regression_tests.jsonl must match its recorded event file (EVTX)."""
    by_id = {r.id: r for r in sigmahq_rules.rules}
    unsupported = {p.rule_id for p in sigmahq_rules.unsupported}
    cases = _regression_cases(sigmahq)
    assert len(cases) >= 200
    missed, ran = [], 0
    for case in cases:
        rule = by_id.get(case["rule_id"])
        if rule is None:
            assert case["rule_id"] in unsupported, f"{case['rule_id']} neither loaded nor unsupported"
            continue
        report = ReadReport()
        batch = concat(list(read_paths([sigmahq / case["path"]], report, workers=1)))
        assert batch.height > 0 and not report.skipped, case["path"]
        ran += 1
        if not any(m.rows.height for m in SigmaEngine([rule]).matches(batch)):
            missed.append((case["rule_id"], case["title"]))
    assert ran >= 200
    assert missed == []
