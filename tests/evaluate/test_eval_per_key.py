"""Simulator labels: a phase or tactic row credits only alerts of that phase or tactic, and each
intrusion says how many result incidents it is spread over. Expected figures computed by hand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from chainbreaker.evaluate import Score, evaluate, findings_from_document, load_labels
from chainbreaker.evaluate.metrics import Evaluation


def record(rec: int, phase: str, tactic: str, time: str, host: str | None = "H1") -> dict[str, Any]:
    return {
        "file": "logs/a.jsonl",
        "record": rec,
        "step": "s",
        "phase": phase,
        "technique": "T1059",
        "tactic": tactic,
        "host": host,
        "time": f"2026-01-05T{time}Z",
    }


def write_truth(folder: Path, records: list[dict[str, Any]], incidents: list[dict[str, Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ground_truth.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    (folder / "ground_truth.json").write_bytes(orjson.dumps({"incidents": incidents}))
    return folder


def alert(
    aid: str, time: str, records: list[int], tactic: str, phase: str, host: str = "H1"
) -> dict[str, Any]:
    return {
        "id": aid,
        "rule_id": aid,
        "time": f"2026-01-05T{time}Z",
        "host": host,
        "tactics": [tactic],
        "techniques": [],
        "killchain_phases": [phase],
        "event_refs": [{"file": "/x/tiny/logs/a.jsonl", "record": r} for r in records],
    }


def incident(
    iid: str, alert_ids: list[str], phases: list[str], hosts: tuple[str, ...] = ("H1",)
) -> dict[str, Any]:
    return {"id": iid, "hosts": list(hosts), "killchain_phases": phases, "alert_ids": alert_ids}


def row(rows: tuple[Score, ...], key: str) -> Score:
    return next(r for r in rows if r.key == key)


def figures(s: Score) -> tuple[Any, ...]:
    return (s.truth, s.detected, s.alerts, s.true_alerts, s.recall, s.precision, s.f1, s.time_to_detect_s)


EXPLOIT, INSTALL, AOO = "exploitation", "installation", "actions-on-objectives"

# The audit's case: three labelled records, one per phase, on host H1.
#   A1 (execution, 10:00:05) cites record 1 (execution)                       -> right
#   A2 (persistence, 10:01)  cites record 9, which is benign                  -> false positive
#   A3 (impact, 10:05)       cites record 3 (impact) and record 2 (persistence) -> right for impact only
RECORDS = [
    record(1, EXPLOIT, "execution", "10:00:00"),
    record(2, INSTALL, "persistence", "10:00:10"),
    record(3, AOO, "impact", "10:05:00"),
]
ALERTS = [
    alert("A1", "10:00:05", [1], "execution", EXPLOIT),
    alert("A2", "10:01:00", [9], "persistence", INSTALL),
    alert("A3", "10:05:00", [3, 2], "impact", AOO),
]
INTRUSION = {"id": "x-1", "hosts": ["H1"], "phases": [EXPLOIT, INSTALL, AOO]}


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return write_truth(tmp_path / "tiny", RECORDS, [INTRUSION])


def run(labels: Path, alerts: list[dict[str, Any]], incidents: list[dict[str, Any]]) -> Evaluation:
    return evaluate(load_labels(labels), findings_from_document({"alerts": alerts, "incidents": incidents}))


def test_rows_credit_only_alerts_of_their_phase_or_tactic(tiny: Path) -> None:
    result = run(tiny, ALERTS, [])
    # overall keeps the any-alert reading: all 3 records cited by some alert, 2 of 3 alerts right;
    # F1 = 2 * (2/3) * 1 / (2/3 + 1) = 0.8; first record 10:00:00 -> A1 sees record 1 at 10:00:05
    assert figures(result.overall) == (3, 3, 3, 2, 1.0, pytest.approx(2 / 3), pytest.approx(0.8), 5.0)
    # persistence: record 2 is cited only by A3 (impact), and A2 (persistence) cites no labelled record
    assert figures(row(result.tactics, "persistence")) == (1, 0, 1, 0, 0.0, 0.0, 0.0, None)
    assert figures(row(result.phases, INSTALL)) == (1, 0, 1, 0, 0.0, 0.0, 0.0, None)
    assert figures(row(result.tactics, "execution")) == (1, 1, 1, 1, 1.0, 1.0, 1.0, 5.0)
    assert figures(row(result.phases, EXPLOIT)) == (1, 1, 1, 1, 1.0, 1.0, 1.0, 5.0)
    # A3 is right for impact (record 3) although it also cites the persistence record
    assert figures(row(result.tactics, "impact")) == (1, 1, 1, 1, 1.0, 1.0, 1.0, 0.0)
    assert figures(row(result.phases, AOO)) == (1, 1, 1, 1, 1.0, 1.0, 1.0, 0.0)
    assert result.unmatched_alerts == 1


def test_a_tactic_with_alerts_but_no_labels_has_no_true_alert(tiny: Path) -> None:
    """An alert on a malicious record is not a true positive of a tactic that record does not carry
    (the audit's privilege-escalation row: 100 % precision with 0 labelled records)."""
    alerts = [alert("P", "10:05:00", [3], "privilege-escalation", AOO)]
    result = run(tiny, alerts, [])
    assert figures(row(result.tactics, "privilege-escalation")) == (0, 0, 1, 0, None, 0.0, None, None)
    assert figures(row(result.tactics, "impact")) == (1, 0, 0, 0, 0.0, None, None, None)
    assert figures(row(result.phases, AOO)) == (1, 1, 1, 1, 1.0, 1.0, 1.0, 0.0)  # the phase is right
    assert (result.overall.detected, result.overall.true_alerts) == (1, 1)


def test_time_to_detect_of_a_row_waits_for_an_alert_of_that_row(tiny: Path) -> None:
    """Record 2 (persistence, 10:00:10) is cited at 10:01 by an impact alert and at 10:20 by a
    persistence alert: the persistence row detects it 1190 s after it happened, not 50 s."""
    alerts = [
        alert("I", "10:01:00", [2], "impact", AOO),
        alert("P", "10:20:00", [2], "persistence", INSTALL),
    ]
    result = run(tiny, alerts, [])
    assert row(result.tactics, "persistence").time_to_detect_s == pytest.approx(1190.0)
    assert row(result.phases, INSTALL).time_to_detect_s == pytest.approx(1190.0)
    assert result.overall.time_to_detect_s == pytest.approx(60.0)  # 10:00:00 -> 10:01:00
    impact = row(result.tactics, "impact")
    assert (impact.detected, impact.alerts, impact.true_alerts, impact.time_to_detect_s) == (0, 1, 0, None)


def test_tactic_aliases_and_the_split_defense_evasion(tmp_path: Path) -> None:
    """Labels and alerts in any tactic spelling; a label with the pre-v19 "defense-evasion" is
    Stealth and accepts an alert of either half, a v19 "stealth" label only Stealth."""
    records = [
        record(1, EXPLOIT, "Execution", "10:00:00"),
        record(2, INSTALL, "defense-evasion", "10:00:10"),
        record(3, INSTALL, "stealth", "10:00:20"),
    ]
    labels = write_truth(tmp_path / "alias", records, [])
    alerts = [
        alert("E", "10:00:00", [1], "TA0002", EXPLOIT),  # execution by id
        alert("D", "10:00:30", [2, 3], "attack.defense-impairment", INSTALL),
    ]
    result = run(labels, alerts, [])
    assert figures(row(result.tactics, "execution")) == (1, 1, 1, 1, 1.0, 1.0, 1.0, 0.0)
    # stealth: records 2 and 3; only record 2 (old name) accepts the defense-impairment alert
    assert figures(row(result.tactics, "stealth")) == (2, 1, 0, 0, 0.5, None, None, 20.0)
    # defense-impairment: no record carries it, but D is right about record 2 (its split accepts it)
    assert figures(row(result.tactics, "defense-impairment")) == (0, 0, 1, 1, None, 1.0, None, None)
    assert [s.key for s in result.tactics] == ["defense-impairment", "execution", "stealth"]
    assert result.incidents["expected"] == 0 and result.incidents["details"] == []


def test_intrusion_spread_over_incidents(tiny: Path) -> None:
    """The audit's incidents: one per alert. I1 (A1) and I2 (A3) hold alerts on the intrusion's
    records, I3 only the false positive A2."""
    incidents = [
        incident("I1", ["A1"], [EXPLOIT]),
        incident("I2", ["A3"], [AOO]),
        incident("I3", ["A2"], [INSTALL]),
    ]
    inc = run(tiny, ALERTS, incidents).incidents
    assert (inc["expected"], inc["found"], inc["one_incident"]) == (1, 1, 0)
    assert (inc["result_incidents"], inc["false_incidents"]) == (3, 1)
    d = inc["details"][0]
    assert (d["found"], d["matched"], d["matched_incidents"], d["one_incident"]) == (
        True,
        2,
        ["I1", "I2"],
        False,
    )
    assert d["phases_found"] == [EXPLOIT, AOO]  # union over I1 and I2
    assert d["hosts_found"] == ["H1"]
    # best single incident: I1 and I2 tie (1 phase, 1 host, 1 alert); the result's order decides
    assert d["best_incident"] == {
        "id": "I1",
        "hosts_found": ["H1"],
        "phases_found": [EXPLOIT],
        "phases_confirmed": [EXPLOIT],
        "true_alerts": 1,
    }


def test_intrusion_as_one_incident(tiny: Path) -> None:
    """All three alerts in one incident on H1: one incident, its three phases claimed, two of them
    confirmed (installation rests on the false positive A2 and on A3, an impact alert)."""
    inc = run(tiny, ALERTS, [incident("I", ["A1", "A2", "A3"], [EXPLOIT, INSTALL, AOO])]).incidents
    assert (inc["found"], inc["one_incident"], inc["false_incidents"]) == (1, 1, 0)
    d = inc["details"][0]
    assert (d["matched"], d["one_incident"]) == (1, True)
    best = d["best_incident"]
    assert (best["id"], best["true_alerts"]) == ("I", 2)
    assert best["phases_found"] == [EXPLOIT, INSTALL, AOO]
    assert best["phases_confirmed"] == [EXPLOIT, AOO]


def test_one_incident_must_cover_the_intrusions_hosts(tmp_path: Path) -> None:
    """Two intrusions (H1, and H2+H3): records go to the intrusion of their host. The second is
    found in one incident that misses H3, so it is not reconstructed as one incident."""
    records = [
        record(1, EXPLOIT, "execution", "10:00:00", "H1"),
        record(2, EXPLOIT, "execution", "10:00:00", "H2"),
        record(3, AOO, "impact", "10:10:00", "H3"),
    ]
    intrusions = [
        {"id": "one", "hosts": ["H1"], "phases": [EXPLOIT]},
        {"id": "two", "hosts": ["H2", "H3"], "phases": [EXPLOIT, AOO]},
    ]
    labels = write_truth(tmp_path / "two", records, intrusions)
    alerts = [
        alert("a", "10:00:00", [1], "execution", EXPLOIT),
        alert("b", "10:00:00", [2], "execution", EXPLOIT, "H2"),
    ]
    incidents = [incident("I-1", ["a"], [EXPLOIT]), incident("I-2", ["b"], [EXPLOIT], ("H2",))]
    inc = run(labels, alerts, incidents).incidents
    one, two = inc["details"]
    assert (one["matched_incidents"], one["one_incident"]) == (["I-1"], True)
    assert (two["matched_incidents"], two["one_incident"]) == (["I-2"], False)
    assert (two["hosts_found"], two["best_incident"]["phases_found"]) == (["H2"], [EXPLOIT])
    assert (inc["found"], inc["one_incident"]) == (2, 1)


def test_no_matching_incident(tiny: Path) -> None:
    inc = run(tiny, ALERTS, [incident("I3", ["A2"], [INSTALL])]).incidents
    d = inc["details"][0]
    assert (d["found"], d["matched"], d["one_incident"], d["best_incident"]) == (False, 0, False, None)
    assert (inc["found"], inc["false_incidents"]) == (0, 1)
