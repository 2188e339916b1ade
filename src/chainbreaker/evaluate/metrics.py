"""Recall, precision, F1, incidents found and time to detect (definitions: docs/EVALUATION.md)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from chainbreaker.evaluate.findings import Finding, Findings
from chainbreaker.evaluate.incidents import match_incidents
from chainbreaker.evaluate.labels import FileLabels, GroundTruth, Labels, TruthEvent, phase_key
from chainbreaker.evaluate.paths import PathIndex


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

    def score(key: str, kind: str | None) -> Score:
        """Row ``key`` of ``kind`` ("phase", "tactic"; None: the overall row): records labelled
        ``key``, alerts carrying it. A record counts as detected, and an alert as true, only
        through an alert carrying ``key`` that cites a record labelled ``key``; in the overall row
        any alert on any labelled record counts."""

        def accepted(e: TruthEvent) -> frozenset[str]:
            # a record labelled with a split pre-v19 tactic accepts either half (as file labels do)
            return frozenset({e.phase}) if kind == "phase" else e.accepted_tactics

        def carried(a: Finding) -> frozenset[str]:
            return a.phases if kind == "phase" else a.tactics

        def labelled(e: TruthEvent) -> bool:
            return kind is None or getattr(e, kind) == key

        def right(e: TruthEvent) -> bool:  # an alert carrying ``key`` is right about record e
            return kind is None or key in accepted(e)

        def detects(a: Finding, e: TruthEvent) -> bool:
            return kind is None or not accepted(e).isdisjoint(carried(a))

        idx = [i for i, e in enumerate(ev) if labelled(e)]
        by = {i: [a for a in detected_by.get(i, ()) if detects(a, ev[i])] for i in idx}
        detected = [i for i in idx if by[i]]
        predicted = [n for n, a in enumerate(alerts) if kind is None or key in carried(a)]
        true_alerts = [n for n in predicted if any(right(ev[i]) for i in covers[n])]
        # An alert cannot have seen a record before it happened: it detects record i at the later of
        # its own time and the record's (an alert citing several records carries its first one's time).
        ttd = None
        times = [max(a.time, ev[i].time) for i in detected for a in by[i] if a.time is not None]
        if times:
            ttd = (min(times) - min(ev[i].time for i in idx)).total_seconds()
        return Score(key, len(idx), len(detected), len(predicted), len(true_alerts), ttd)

    phases = sorted({e.phase for e in ev} | {p for a in alerts for p in a.phases}, key=phase_key)
    tactics = sorted({e.tactic for e in ev} | {t for a in alerts for t in a.tactics})
    return Evaluation(
        labels_format=truth.format,
        unit="event",
        overall=score("all", None),
        phases=tuple(score(p, "phase") for p in phases),
        tactics=tuple(score(t, "tactic") for t in tactics),
        incidents=match_incidents(truth, findings, covers),
        unmatched_alerts=sum(1 for c in covers if not c),
    )


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
            for p in sorted({p for ps in phases_of.values() for p in ps}, key=phase_key)
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
