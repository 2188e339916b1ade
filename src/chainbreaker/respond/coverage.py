"""Detection coverage: which kill-chain phases, ATT&CK tactics and techniques the loaded Sigma rules
and the registered analytics can see, and the gaps per phase.

Input is a list of :class:`Detection` (one per rule or analytic: its techniques, tactics and
phases); :func:`coverage` compares them with the shipped ATT&CK data. A technique counts as covered
when a detection names it; a phase or tactic is a gap when no detection reaches it. Per phase the
report also lists the current ATT&CK techniques that map to the phase (chainbreaker.frameworks
mapping) and that nothing covers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from chainbreaker.frameworks import KILLCHAIN_PHASES, UKC_PHASES, attack, canonical_tactic, phases_for


@dataclass(frozen=True, slots=True)
class Detection:
    kind: str  # "sigma" or "analytic"
    id: str
    title: str
    techniques: tuple[str, ...] = ()
    tactics: tuple[str, ...] = ()
    killchain_phases: tuple[str, ...] = ()
    ukc_phases: tuple[str, ...] = ()


def detection(
    kind: str,
    id: str,
    title: str,
    techniques: Iterable[str] = (),
    tactics: Iterable[str] = (),
    killchain_phases: Iterable[str] = (),
    ukc_phases: Iterable[str] = (),
) -> Detection:
    """A Detection with tactics canonicalised and missing phases derived from techniques/tactics."""
    techs = tuple(t.upper() for t in techniques)
    tacs = tuple(dict.fromkeys(c for c in (canonical_tactic(t) for t in tactics) if c))
    if not tacs:
        known = attack().techniques
        tacs = tuple(dict.fromkeys(tac for t in techs if t in known for tac in known[t].tactics))
    kc, ukc = tuple(killchain_phases), tuple(ukc_phases)
    if not kc or not ukc:
        derived_kc, derived_ukc = phases_for(techs, tacs)
        kc, ukc = kc or derived_kc, ukc or derived_ukc
    return Detection(kind, id, title, techs, tacs, kc, ukc)


def _technique_phases() -> dict[str, tuple[str, ...]]:
    """Current technique id -> Lockheed phases it maps to."""
    return {t.id: phases_for((t.id,), t.tactics)[0] for t in attack().current_techniques()}


def coverage(detections: Sequence[Detection], missing_limit: int = 25) -> dict[str, Any]:
    """The coverage report (``chainbreaker coverage --format json`` prints it as is)."""
    data = attack()
    by_technique: dict[str, dict[str, int]] = defaultdict(lambda: {"sigma": 0, "analytic": 0})
    by_phase: dict[str, dict[str, int]] = defaultdict(lambda: {"sigma": 0, "analytic": 0})
    by_tactic: dict[str, dict[str, int]] = defaultdict(lambda: {"sigma": 0, "analytic": 0})
    by_ukc: dict[str, dict[str, int]] = defaultdict(lambda: {"sigma": 0, "analytic": 0})
    for det in detections:
        for tid in det.techniques:
            by_technique[tid][det.kind] += 1
        for phase in det.killchain_phases:
            by_phase[phase][det.kind] += 1
        for tactic in det.tactics:
            by_tactic[tactic][det.kind] += 1
        for phase in det.ukc_phases:
            by_ukc[phase][det.kind] += 1
    covered = set(by_technique)
    tech_phases = _technique_phases()
    killchain = []
    for kc in KILLCHAIN_PHASES:
        mapped = sorted(t for t, phases in tech_phases.items() if kc.id in phases)
        missing = [t for t in mapped if t not in covered]
        counts = by_phase.get(kc.id, {"sigma": 0, "analytic": 0})
        killchain.append(
            {
                "phase": kc.id,
                "name": kc.name,
                "sigma": counts["sigma"],
                "analytics": counts["analytic"],
                "gap": counts["sigma"] + counts["analytic"] == 0,
                "techniques_total": len(mapped),
                "techniques_covered": len(mapped) - len(missing),
                "missing_techniques": missing[:missing_limit],
                "missing_total": len(missing),
            }
        )
    tactics = []
    for tac in data.tactics:
        in_tactic = [t.id for t in data.current_techniques() if tac.short_name in t.tactics]
        counts = by_tactic.get(tac.short_name, {"sigma": 0, "analytic": 0})
        tactics.append(
            {
                "tactic": tac.short_name,
                "id": tac.id,
                "name": tac.name,
                "sigma": counts["sigma"],
                "analytics": counts["analytic"],
                "gap": counts["sigma"] + counts["analytic"] == 0,
                "techniques_total": len(in_tactic),
                "techniques_covered": len([t for t in in_tactic if t in covered]),
            }
        )
    ukc = [
        {
            "phase": p.id,
            "name": p.name,
            "group": p.group,
            "sigma": by_ukc.get(p.id, {}).get("sigma", 0),
            "analytics": by_ukc.get(p.id, {}).get("analytic", 0),
            "gap": p.id not in by_ukc,
        }
        for p in UKC_PHASES
    ]
    techniques = {
        tid: {
            "name": data.techniques[tid].name if tid in data.techniques else None,
            "sigma": counts["sigma"],
            "analytics": counts["analytic"],
        }
        for tid, counts in sorted(by_technique.items())
    }
    return {
        "attack_version": data.version,
        "sigma_rules": sum(1 for d in detections if d.kind == "sigma"),
        "analytics": sum(1 for d in detections if d.kind == "analytic"),
        "techniques_covered": len([t for t in covered if t in data.techniques]),
        "techniques_total": len(data.current_techniques()),
        "killchain": killchain,
        "tactics": tactics,
        "ukc": ukc,
        "techniques": techniques,
    }
