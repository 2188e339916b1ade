"""SigmaDetector: alerts from batches, and correlation rules fed with the rows base rules matched."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from chainbreaker.detect.sigma import load_rules
from chainbreaker.detect.sigma.detector import SigmaDetector
from chainbreaker.detect.sigma.loader import load_correlations
from chainbreaker.events import conform

BASE = """title: Failed logon (test)
id: 7d0c7f0e-0000-4000-8000-00000000aa01
name: test_failed_logon
status: test
level: low
tags: [attack.credential-access, attack.t1110]
logsource: {product: windows, service: security}
detection:
  sel: {EventID: 4625}
  condition: sel
"""
CORRELATION = """title: Many failed logons for one account (test)
id: 7d0c7f0e-0000-4000-8000-00000000aa02
status: test
level: high
tags: [attack.credential-access, attack.t1110.001]
correlation:
  type: event_count
  rules: [test_failed_logon]
  group-by: [TargetUserName]
  timespan: 5m
  condition: {gte: 3}
"""


def security_events(users: list[str], start: datetime) -> pl.DataFrame:
    n = len(users)
    return conform(
        pl.DataFrame(
            {
                "timestamp": [start + timedelta(seconds=30 * i) for i in range(n)],
                "source": ["windows.security"] * n,
                "channel": ["Security"] * n,
                "event_code": [4625] * n,
                "host": ["WKS-1"] * n,
                "EventID": ["4625"] * n,
                "TargetUserName": users,
                "user": users,
                "event_ref": [{"file": "test.evtx", "record": i + 1} for i in range(n)],
            }
        )
    )


@pytest.fixture()
def rules_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CHAINBREAKER_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "base.yml").write_text(BASE)
    (tmp_path / "rules" / "correlation.yml").write_text(CORRELATION)
    return tmp_path / "rules"


def test_alerts_carry_rule_attack_and_event_fields(rules_dir: Path) -> None:
    (rules_dir / "correlation.yml").unlink()
    ruleset = load_rules([rules_dir])
    detector = SigmaDetector(ruleset.rules, min_rows=10)
    start = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    alerts = detector.observe(security_events(["alice", "bob"], start)) + detector.finish()
    assert [a.user for a in alerts] == ["alice", "bob"]
    first = alerts[0]
    assert (first.rule_id, first.detector, first.level.name) == (
        "7d0c7f0e-0000-4000-8000-00000000aa01",
        "sigma",
        "low",
    )
    assert first.techniques == ("T1110",) and "credential-access" in first.tactics
    assert first.killchain_phases and first.ukc_phases
    assert first.time == start and first.host == "WKS-1"
    assert first.event_refs[0].file == "test.evtx" and first.event_refs[0].record == 1
    assert dict(first.matched) == {"EventID": "4625"}
    assert detector.skipped_reasons() == []  # its one rule saw Security events


def test_correlation_rules_get_the_matched_rows(rules_dir: Path) -> None:
    ruleset = load_rules([rules_dir])
    assert len(ruleset.rules) == 1 and len(ruleset.correlation_files) == 1
    correlations = load_correlations(ruleset.correlation_files)
    detector = SigmaDetector(ruleset.rules, correlations, min_rows=2)
    start = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    alerts = detector.observe(security_events(["alice", "alice", "bob"], start))
    alerts += detector.observe(security_events(["alice"], start + timedelta(minutes=2)))
    alerts += detector.finish()
    correlated = [a for a in alerts if a.detector == "sigma-correlation"]
    assert len(correlated) == 1
    assert correlated[0].count == 3 and correlated[0].techniques == ("T1110.001",)
    # the base rule is referenced by a correlation without `generate: true`: it stays silent
    assert not [a for a in alerts if a.detector == "sigma"]


def test_rules_whose_source_never_occurs_are_reported(rules_dir: Path) -> None:
    (rules_dir / "correlation.yml").unlink()
    (rules_dir / "system.yml").write_text(
        BASE.replace("aa01", "aa03").replace("service: security", "service: system")
    )
    detector = SigmaDetector(load_rules([rules_dir]).rules)
    detector.observe(security_events(["alice"], datetime(2024, 5, 1, tzinfo=UTC)))
    detector.finish()
    assert detector.skipped_reasons() == ["sigma: 1 of 2 rules saw no events of their log source"]
