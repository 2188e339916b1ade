"""Every shipped base rule loads with pySigma, compiles, fires on its positive case and not on its negative.

The events are written by hand in cases.yml and cases_*.yml (techniques, not samples; one file per
batch of rules, so that rule authors working side by side never edit the same file) and go through the real
Sigma engine (chainbreaker.detect.sigma.engine.SigmaEngine), partitioning and field mapping included.
"""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.rule import SigmaRule

from chainbreaker.detect.sigma.engine import SigmaEngine
from chainbreaker.detect.sigma.loader import load_rules
from chainbreaker.detect.sigma.rules import RuleSet
from chainbreaker.events import conform
from chainbreaker.readers.windows_fields import channel_source

RULES = Path(str(resources.files("chainbreaker") / "rules"))


def load_cases() -> dict[str, dict[str, Any]]:
    """Every case file's cases by rule name; a name given twice is an error, not an override."""
    cases: dict[str, dict[str, Any]] = {}
    for path in sorted(Path(__file__).parent.glob("cases*.yml")):
        for name, case in (yaml.safe_load(path.read_text()) or {}).items():
            assert name not in cases, f"{name} has cases in two files ({path.name})"
            cases[name] = case
    return cases


CASES = load_cases()
SYSMON = ("windows.sysmon", "Microsoft-Windows-Sysmon/Operational", "Microsoft-Windows-Sysmon")

#: kind -> (source, channel, provider, event id or None to take the event's EventID)
KINDS: dict[str, tuple[str, str, str, int | None]] = {
    **{f"sysmon{n}": (*SYSMON, n) for n in range(1, 30)},
    "security": ("windows.security", "Security", "Microsoft-Windows-Security-Auditing", None),
    "system": ("windows.system", "System", "", None),
    "application": ("windows.application", "Application", "", None),
    "ps4104": (
        "windows.powershell",
        "Microsoft-Windows-PowerShell/Operational",
        "Microsoft-Windows-PowerShell",
        4104,
    ),
    "bits": (
        "windows.microsoft-windows-bits-client/operational",
        "Microsoft-Windows-Bits-Client/Operational",
        "Microsoft-Windows-Bits-Client",
        None,
    ),
    "rcm": (
        "windows.microsoft-windows-terminalservices-remoteconnectionmanager/operational",
        "Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational",
        "Microsoft-Windows-TerminalServices-RemoteConnectionManager",
        None,
    ),
    "pca": (
        "windows.microsoft-windows-application-experience/program-compatibility-assistant",
        "Microsoft-Windows-Application-Experience/Program-Compatibility-Assistant",
        "Microsoft-Windows-Application-Experience",
        None,
    ),
    "pcatelemetry": (
        "windows.microsoft-windows-application-experience/program-telemetry",
        "Microsoft-Windows-Application-Experience/Program-Telemetry",
        "Microsoft-Windows-Application-Experience",
        None,
    ),
    "web_iis": ("web.iis", "w3c", "", None),
    "web_access": ("web.access", "access", "", None),
    "sshd": ("linux.auth", "sshd", "sshd", None),
    "sudo": ("linux.auth", "sudo", "sudo", None),
    "useradd": ("linux.auth", "useradd", "useradd", None),
}


def event(kind: str, fields: dict[str, str], record: int = 1) -> dict[str, Any]:
    if kind == "channel":  # any other Windows channel: the case gives Channel, Provider_Name, EventID
        channel = fields["Channel"]
        source, provider, code = channel_source(channel), fields.get("Provider_Name", ""), None
    else:
        source, channel, provider, code = KINDS[kind]
    windows = source.startswith("windows.")
    out: dict[str, Any] = {
        "timestamp": datetime(2024, 5, 1, 9, 30, tzinfo=UTC),
        "source": source,
        "host": "WKS-01" if windows else "web-01",
        "channel": channel,
        "provider": fields.get("Provider_Name") or provider,
        "event_code": code if code is not None else (int(fields["EventID"]) if "EventID" in fields else None),
        "event_ref": {"file": "cases.yml", "record": record},
    }
    if windows:
        out |= {"Channel": channel, "Computer": "WKS-01", "Provider_Name": out["provider"]}
        out["EventID"] = str(out["event_code"])
    return out | fields


def frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return conform(pl.DataFrame(rows, infer_schema_length=None))


@pytest.fixture(scope="module")
def ruleset() -> RuleSet:
    return load_rules([RULES / "sigma"], use_cache=False)


def fired(ruleset: RuleSet, batch: pl.DataFrame) -> set[str]:
    return {m.rule.name or m.rule.id for m in SigmaEngine(ruleset.rules).matches(batch) if m.rows.height}


def test_every_shipped_rule_loads_and_compiles(ruleset: RuleSet) -> None:
    report = ruleset.report()
    assert report["failed"] == 0 and report["unsupported"] == 0, report
    assert report["loaded"] == len(CASES)


def test_every_rule_has_a_case_and_every_case_a_rule(ruleset: RuleSet) -> None:
    assert {r.name for r in ruleset.rules} == set(CASES)


def test_rule_files_follow_the_house_style() -> None:
    ids: set[str] = set()
    # One collection over every file, so that correlation references resolve across files.
    collection = SigmaCollection.load_ruleset([str(RULES)], collect_errors=True)
    assert not collection.errors, collection.errors
    base = [r for r in collection.rules if not isinstance(r, SigmaCorrelationRule)]
    assert len(base) == len(CASES)
    for rule in collection.rules:
        path = rule.source
        if True:
            assert not rule.errors, (path, rule.errors)
            assert rule.id is not None and str(rule.id) not in ids, path
            ids.add(str(rule.id))
            if isinstance(rule, SigmaRule) or (isinstance(rule, SigmaCorrelationRule) and rule.level):
                assert rule.level is not None and rule.status is not None, path
                assert rule.description and rule.tags, path
                assert any(str(t).startswith("attack.t") for t in rule.tags), path
                assert "attack.defense-evasion" not in {str(t) for t in rule.tags}, path


@pytest.mark.parametrize("name", sorted(CASES))
def test_positive_case_fires(ruleset: RuleSet, name: str) -> None:
    case = CASES[name]
    assert name in fired(ruleset, frame([event(case["kind"], case["positive"])]))


@pytest.mark.parametrize("name", sorted(CASES))
def test_negative_case_does_not_fire(ruleset: RuleSet, name: str) -> None:
    case = CASES[name]
    assert name not in fired(ruleset, frame([event(case["kind"], case["negative"])]))


def test_all_cases_in_one_batch(ruleset: RuleSet) -> None:
    """Mixed sources in one batch (as a hunt reads them): each rule still takes its own positive
    and leaves its own negative."""
    names = sorted(CASES)
    rows = [event(CASES[n]["kind"], CASES[n]["positive"], i) for i, n in enumerate(names)]
    rows += [event(CASES[n]["kind"], CASES[n]["negative"], 1000 + i) for i, n in enumerate(names)]
    records: dict[str, set[int]] = {}
    for match in SigmaEngine(ruleset.rules).matches(frame(rows)):
        records.setdefault(match.rule.name or "", set()).update(
            r["record"] for r in match.rows["event_ref"].to_list()
        )
    for i, name in enumerate(names):
        assert i in records.get(name, set()), name
        assert 1000 + i not in records.get(name, set()), name
