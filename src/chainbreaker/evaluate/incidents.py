"""Expected incidents (the intrusions of the simulator's ground truth) against result incidents.

A result incident *matches* an intrusion when it groups (``alert_ids``) at least one alert that
cites a labelled record of that intrusion. With one expected incident every labelled record is
its own; with several, a record belongs to the intrusions whose hosts include its host (records
without a host, such as network flows, to all of them). Definitions: docs/EVALUATION.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chainbreaker.evaluate.findings import Finding, Findings
from chainbreaker.evaluate.labels import ExpectedIncident, GroundTruth, TruthEvent, phase_key


def match_incidents(
    truth: GroundTruth, findings: Findings, covers: Sequence[Sequence[int]]
) -> dict[str, Any]:
    """``covers[n]``: positions in ``truth.events`` of the labelled records alert n cites."""
    alerts = findings.alerts
    true_ids = {a.id for a, c in zip(alerts, covers, strict=True) if c}
    details = [_intrusion(exp, truth, findings, covers) for exp in truth.incidents]
    return {
        "expected": len(truth.incidents),
        "found": sum(1 for d in details if d["found"]),
        "one_incident": sum(1 for d in details if d["one_incident"]),
        "result_incidents": len(findings.incidents),
        "false_incidents": sum(1 for inc in findings.incidents if not _alert_ids(inc) & true_ids),
        "details": details,
    }


def _alert_ids(incident: dict[str, Any]) -> set[str]:
    return {str(i) for i in incident.get("alert_ids") or []}


def _belongs(e: TruthEvent, exp: ExpectedIncident, truth: GroundTruth) -> bool:
    return len(truth.incidents) == 1 or e.host is None or e.host in exp.hosts


def _intrusion(
    exp: ExpectedIncident, truth: GroundTruth, findings: Findings, covers: Sequence[Sequence[int]]
) -> dict[str, Any]:
    ev = truth.events
    # per alert id: the alert and the records of this intrusion it cites
    cites: dict[str, tuple[Finding, list[TruthEvent]]] = {}
    for a, c in zip(findings.alerts, covers, strict=True):
        own = [ev[i] for i in c if _belongs(ev[i], exp, truth)]
        if own:
            cites[a.id] = (a, own)
    hits = [inc for inc in findings.incidents if _alert_ids(inc) & cites.keys()]
    expected_hosts, expected_phases = set(exp.hosts), set(exp.phases)

    def hosts_of(incs: list[dict[str, Any]]) -> list[str]:
        return sorted({h for inc in incs for h in inc.get("hosts") or []} & expected_hosts)

    def phases_of(incs: list[dict[str, Any]]) -> list[str]:
        got = {p for inc in incs for p in inc.get("killchain_phases") or []}
        return sorted(got & expected_phases, key=phase_key)

    def confirmed(inc: dict[str, Any]) -> list[str]:
        """Expected phases P for which the incident groups an alert carrying P that cites a record
        of this intrusion labelled P (the per-phase rule of the phase rows)."""
        got = {
            e.phase
            for aid in _alert_ids(inc) & cites.keys()
            for e in cites[aid][1]
            if e.phase in cites[aid][0].phases
        }
        return sorted(got & expected_phases, key=phase_key)

    def summary(inc: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": str(inc.get("id")),
            "hosts_found": hosts_of([inc]),
            "phases_found": phases_of([inc]),
            "phases_confirmed": confirmed(inc),
            "true_alerts": len(_alert_ids(inc) & cites.keys()),
        }

    ranked = [summary(inc) for inc in hits]
    # the best single incident: most expected phases, then hosts, then true alerts; ties keep the
    # result's own order (incidents are ranked by score)
    best = max(
        ranked,
        key=lambda s: (len(s["phases_found"]), len(s["hosts_found"]), s["true_alerts"]),
        default=None,
    )
    return {
        "id": exp.id,
        "found": bool(hits),
        "matched_incidents": [s["id"] for s in ranked],
        "matched": len(hits),
        "one_incident": len(hits) == 1 and expected_hosts <= set(hits[0].get("hosts") or []),
        "hosts_expected": list(exp.hosts),
        "hosts_found": hosts_of(hits),  # union over the matching incidents
        "phases_expected": list(exp.phases),
        "phases_found": phases_of(hits),  # union over the matching incidents
        "best_incident": best,
    }
