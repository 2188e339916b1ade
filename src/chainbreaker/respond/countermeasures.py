"""Where to break the chain: the earliest visible phase and the countermeasures per phase reached.

Countermeasures come from the Lockheed Martin table in chainbreaker.frameworks (KILLCHAIN_PHASES),
so guidance and the ``frameworks killchain`` command never disagree.
"""

from __future__ import annotations

from chainbreaker.frameworks import KILLCHAIN_PHASES
from chainbreaker.incidents import ModelProgression, PhaseGuidance


def break_at(killchain: ModelProgression) -> str | None:
    """The earliest kill-chain phase (in chain order) at which the incident was visible.

    That is the first point where defenders had a detection and could have broken the chain; later
    phases are what the intrusion achieved beyond it.
    """
    return killchain.phases[0].phase if killchain.phases else None


def guidance(killchain: ModelProgression) -> tuple[PhaseGuidance, ...]:
    """Countermeasures for every kill-chain phase reached, in chain order."""
    by_id = {p.id: p for p in KILLCHAIN_PHASES}
    out = []
    for span in killchain.phases:
        phase = by_id.get(span.phase)
        if phase is not None:
            out.append(PhaseGuidance(phase.id, phase.name, span.first_seen, phase.countermeasures))
    return tuple(out)
