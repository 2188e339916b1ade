"""Recall, precision, F1, incidents found and time to detect (definitions: docs/EVALUATION.md)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from chainbreaker.evaluate.findings import Finding, Findings
from chainbreaker.evaluate.labels import FileLabels, GroundTruth, Labels
from chainbreaker.evaluate.paths import PathIndex
from chainbreaker.frameworks import KILLCHAIN_PHASES


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


@dataclass(frozen=True, slots=True)
class Score:
    """One row: ``truth`` labelled units, ``detected`` of them "
    "found; ``alerts`` predictions, ``true_alerts`` right."""

    key: str
    truth: int
    detected: int
    alerts: int
    true_alerts: int
    time_to_detect_s: float | None = None

    @property
    def recall(self) -> float | None:
        return _ratio(self.detected, self.truth)

    @property
    def precision(self) -> float | None:
        return _ratio(self.true_alerts, self.alerts)

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if p is None or r is None or p + r == 0:
            return None if p is None or r is None else 0.0
        return 2 * p * r / (p + r)

    def as_dict(self) -> dict[str, Any]:
        def rnd(v: float | None) -> float | None:
            return None if v is None else round(v, 4)

        return {
            "key": self.key,
            "truth": self.truth,
            "detected": self.detected,
            "recall": rnd(self.recall),
            "alerts": self.alerts,
            "true_alerts": self.true_alerts,
            "precision": rnd(self.precision),
            "f1": rnd(self.f1),
            "time_to_detect_s": rnd(self.time_to_detect_s),
        }


@dataclass(frozen=True)
class Evaluation:
    labels_format: str
    unit: str  # "event" or "file"
    overall: Score
    phases: tuple[Score, ...]
    tactics: tuple[Score, ...]
    techniques: tuple[Score, ...] = ()
    incidents: dict[str, Any] = field(default_factory=dict)
    unmatched_alerts: int = 0  # alerts citing no labelled file / event at all

    def as_dict(self) -> dict[str, Any]:
        return {
            "labels_format": self.labels_format,
            "unit": self.unit,
            "overall": self.overall.as_dict(),
            "phases": [s.as_dict() for s in self.phases],
            "tactics": [s.as_dict() for s in self.tactics],
            "techniques": [s.as_dict() for s in self.techniques],
            "incidents": self.incidents,
            "unmatched_alerts": self.unmatched_alerts,
        }


def evaluate(labels: Labels, findings: Findings) -> Evaluation:
    if isinstance(labels, GroundTruth):
        return _evaluate_events(labels, findings)
    return _evaluate_files(labels, findings)


_PHASE_ORDER = [p.id for p in KILLCHAIN_PHASES]


def _phase_key(p: str) -> tuple[int, str]:
    return (_PHASE_ORDER.index(p) if p in _PHASE_ORDER else 99, p)


# -- (a) event-level ground truth --------------------------------------------------------------------
def _evaluate_events(truth: GroundTruth, findings: Findings) -> Evaluation:
    ev = truth.events
    index = PathIndex({e.file for e in ev})
    event_pos = {(e.file, e.record): i for i, e in enumerate(ev)}
    alerts = findings.alerts
    covers: list[list[int]] = []  # per alert: positions of the truth events it cites
    detected_by: dict[int, list[Finding]] = defaultdict(list)
    for a in alerts:
        hits = []
        for f, r in a.refs:
            labelled = index.lookup(f)
            pos = event_pos.get((labelled, r)) if labelled is not None else None
            if pos is not None:
                hits.append(pos)
                detected_by[pos].append(a)
        covers.append(hits)

    def score(key: str, truth_field: str | None, alert_field: str | None) -> Score:
        """Truth events whose ``truth_field`` equals ``key``; alerts whose ``alert_field`` holds it."""
        idx = [i for i, e in enumerate(ev) if truth_field is None or getattr(e, truth_field) == key]
        detected = [i for i in idx if detected_by.get(i)]
        predicted = [n for n, a in enumerate(alerts) if alert_field is None or key in getattr(a, alert_field)]
        true_alerts = [n for n in predicted if covers[n]]
        # An alert cannot have seen a record before it happened: it detects record i at the later of
        # its own time and the record's (an alert citing several records carries its first one's time).
        ttd = None
        times = [max(a.time, ev[i].time) for i in detected for a in detected_by[i] if a.time is not None]
        if times:
            ttd = (min(times) - min(ev[i].time for i in idx)).total_seconds()
        return Score(key, len(idx), len(detected), len(predicted), len(true_alerts), ttd)

    phases = sorted({e.phase for e in ev} | {p for a in alerts for p in a.phases}, key=_phase_key)
    tactics = sorted({e.tactic for e in ev} | {t for a in alerts for t in a.tactics})
    return Evaluation(
        labels_format=truth.format,
        unit="event",
        overall=score("all", None, None),
        phases=tuple(score(p, "phase", "phases") for p in phases),
        tactics=tuple(score(t, "tactic", "tactics") for t in tactics),
        incidents=_incidents(truth, findings, {a.id for n, a in enumerate(alerts) if covers[n]}),
        unmatched_alerts=sum(1 for c in covers if not c),
    )


def _incidents(truth: GroundTruth, findings: Findings, true_alert_ids: set[str]) -> dict[str, Any]:
    """An expected incident counts as found when a result incident groups at least one alert that
    cites one of its malicious events; we also report the hosts and phases that incident covers."""
    hits = []
    for inc in findings.incidents:
        ids = set(inc.get("alert_ids") or [])
        if ids & true_alert_ids:
            hits.append(inc)
    details = []
    for exp in truth.incidents:
        hosts = sorted({h for inc in hits for h in inc.get("hosts") or []} & set(exp.hosts))
        phases = sorted(
            {p for inc in hits for p in inc.get("killchain_phases") or []} & set(exp.phases), key=_phase_key
        )
        details.append(
            {
                "id": exp.id,
                "found": bool(hits),
                "matched_incidents": [str(i.get("id")) for i in hits],
                "hosts_expected": list(exp.hosts),
                "hosts_found": hosts,
                "phases_expected": list(exp.phases),
                "phases_found": phases,
            }
        )
    return {
        "expected": len(truth.incidents),
        "found": sum(1 for d in details if d["found"]),
        "result_incidents": len(findings.incidents),
        "false_incidents": sum(
            1 for inc in findings.incidents if not set(inc.get("alert_ids") or []) & true_alert_ids
        ),
        "details": details,
    }


# -- (b)/(c) file-level labels ------------------------------------------------------------------------
def _evaluate_files(labels: FileLabels, findings: Findings) -> Evaluation:
    index = PathIndex(labels.tactics, drop_member=True)
    on_file: dict[str, list[Finding]] = defaultdict(list)
    unmatched = 0
    for a in findings.alerts:
        files = {f for f in (index.lookup(cited) for cited, _ in a.refs) if f is not None}
        if not files:
            unmatched += 1
        for f in files:
            on_file[f].append(a)

    def score(key: str, expected_by_file: dict[str, frozenset[str]], alert_field: str | None) -> Score:
        """Files labelled ``key``; files with an alert whose ``alert_field`` holds it (any alert if None)."""
        expected = {f for f, keys in expected_by_file.items() if key in keys or alert_field is None}

        def hit(f: str, a: Finding) -> bool:
            if alert_field == "tactics":  # a split tactic (old Defense Evasion) accepts either half
                return labels.detects(f, key, frozenset(a.tactics))
            return _carries(a, alert_field, key)

        predicted = {f for f, hits in on_file.items() if any(hit(f, a) for a in hits)}
        return Score(key, len(expected), len(expected & predicted), len(predicted), len(expected & predicted))

    phases_of = labels.phases
    return Evaluation(
        labels_format=labels.format,
        unit="file",
        overall=score("any", labels.tactics, None),
        phases=tuple(
            score(p, phases_of, "phases")
            for p in sorted({p for ps in phases_of.values() for p in ps}, key=_phase_key)
        ),
        tactics=tuple(
            score(t, labels.tactics, "tactics")
            for t in sorted({t for ts in labels.tactics.values() for t in ts})
        ),
        techniques=tuple(
            score(t, labels.techniques, "techniques")
            for t in sorted({t for ts in labels.techniques.values() for t in ts})
        ),
        unmatched_alerts=unmatched,
    )


def _carries(a: Finding, alert_field: str | None, key: str) -> bool:
    if alert_field is None:
        return True
    if alert_field == "techniques":
        return any(_same_technique(key, got) for got in a.techniques)
    return key in getattr(a, alert_field)


def _same_technique(expected: str, got: str) -> bool:
    """Equal, or one is a sub-technique of the other (T1003 vs T1003.001)."""
    return expected == got or got.startswith(expected + ".") or expected.startswith(got + ".")
