"""Kill-chain progression of an incident on the three models, and its dwell time.

Per model (Lockheed Martin's 7 phases, ATT&CK tactics, the Unified Kill Chain's 18 phases): the
phases reached in the model's order with first/last time and alert count, the furthest phase
(furthest along the model's order), and the path (phases in the order they were first seen).
Dwell time runs from the first alert to the last, and to the first high or critical alert.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache

from chainbreaker.alerts import Alert, Level
from chainbreaker.frameworks import KILLCHAIN_PHASES, UKC_PHASES, attack, canonical_tactic, phases_for
from chainbreaker.frameworks.attack import find_technique
from chainbreaker.incidents import ModelProgression, PhaseSpan, Progression


@lru_cache(maxsize=8192)
def _phases(
    techniques: tuple[str, ...], tactics: tuple[str, ...], killchain: tuple[str, ...], ukc: tuple[str, ...]
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    canon = tuple(dict.fromkeys(t for t in (canonical_tactic(x) for x in tactics) if t))
    if not canon:
        found = (find_technique(t) for t in techniques)
        canon = tuple(dict.fromkeys(tac for tech in found if tech for tac in tech.tactics))
    if not killchain or not ukc:
        derived_kc, derived_ukc = phases_for(techniques, canon)
        killchain = killchain or derived_kc
        ukc = ukc or derived_ukc
    return killchain, canon, ukc


def alert_phases(alert: Alert) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(kill-chain phases, ATT&CK tactics, UKC phases) of an alert: its own, else derived from
    its techniques and tactics through chainbreaker.frameworks."""
    return _phases(alert.techniques, alert.tactics, alert.killchain_phases, alert.ukc_phases)


def _orders() -> dict[str, dict[str, int]]:
    return {
        "killchain": {p.id: i for i, p in enumerate(KILLCHAIN_PHASES)},
        "attack": {t.short_name: i for i, t in enumerate(attack().tactics)},
        "ukc": {p.id: i for i, p in enumerate(UKC_PHASES)},
    }


def _model(
    model: str, order: dict[str, int], hits: list[tuple[datetime, tuple[str, ...]]]
) -> ModelProgression:
    spans: dict[str, list[datetime]] = {}
    counts: dict[str, int] = {}
    for time, phases in hits:
        for phase in phases:
            span = spans.setdefault(phase, [time, time])
            span[0], span[1] = min(span[0], time), max(span[1], time)
            counts[phase] = counts.get(phase, 0) + 1
    known = [p for p in spans if p in order]  # phases a model does not know are ignored
    ordered = sorted(known, key=lambda p: order[p])
    path = sorted(known, key=lambda p: (spans[p][0], order[p]))
    return ModelProgression(
        model=model,
        phases=tuple(PhaseSpan(p, spans[p][0], spans[p][1], counts[p]) for p in ordered),
        furthest=ordered[-1] if ordered else None,
        path=tuple(path),
        total=len(order),
    )


def progression(alerts: Sequence[Alert]) -> Progression:
    """Progression of one incident's alerts (any order)."""
    if not alerts:
        raise ValueError("progression of no alerts")
    orders = _orders()
    kc_hits, attack_hits, ukc_hits = [], [], []
    for alert in alerts:
        kc, tactics, ukc = alert_phases(alert)
        kc_hits.append((alert.time, kc))
        attack_hits.append((alert.time, tactics))
        ukc_hits.append((alert.time, ukc))
    first = min(a.time for a in alerts)
    last = max(a.time for a in alerts)
    highs = [a.time for a in alerts if a.level >= Level.high]
    return Progression(
        killchain=_model("killchain", orders["killchain"], kc_hits),
        attack=_model("attack", orders["attack"], attack_hits),
        ukc=_model("ukc", orders["ukc"], ukc_hits),
        dwell_seconds=(last - first).total_seconds(),
        seconds_to_first_high=(min(highs) - first).total_seconds() if highs else None,
    )
