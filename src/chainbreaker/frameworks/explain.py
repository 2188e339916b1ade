"""``explain``: walk one identifier through ATT&CK, the kill chain and the Unified Kill Chain."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from chainbreaker.errors import UnknownIdError
from chainbreaker.frameworks._data import suggest
from chainbreaker.frameworks.attack import attack, find_technique, technique
from chainbreaker.frameworks.killchain import KILLCHAIN_PHASES, KillChainPhase, find_killchain_phase
from chainbreaker.frameworks.mapping import mapping, phases_for
from chainbreaker.frameworks.tags import canonical_tactic
from chainbreaker.frameworks.ukc import UKC_PHASES, UkcPhase, find_ukc_phase

_LOOKS_LIKE_TECHNIQUE = re.compile(r"^(attack\.)?t\d", re.IGNORECASE)


@dataclass(frozen=True)
class Explanation:
    """What an identifier is and where it sits in each model; phases in chain order."""

    kind: str  # technique | tactic | killchain-phase | ukc-phase
    id: str
    name: str
    description: str
    tactics: tuple[dict[str, str], ...]
    killchain: tuple[KillChainPhase, ...]
    ukc: tuple[UkcPhase, ...]
    details: dict[str, Any]

    @property
    def countermeasures(self) -> tuple[str, ...]:
        return tuple(c for p in self.killchain for c in p.countermeasures)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "name": self.name,
            "description": self.description,
            **self.details,
            "tactics": list(self.tactics),
            "killchain_phases": [
                {"id": p.id, "ocsf_id": p.ocsf_id, "name": p.name, "countermeasures": list(p.countermeasures)}
                for p in self.killchain
            ],
            "ukc_phases": [asdict(p) for p in self.ukc],
            "countermeasures": list(self.countermeasures),
        }


def _tactic_rows(short_names: tuple[str, ...]) -> tuple[dict[str, str], ...]:
    rows = []
    for short in short_names:
        tac = attack().tactic(short)
        if tac is not None:
            rows.append({"id": tac.id, "short_name": tac.short_name, "name": tac.name})
    return tuple(rows)


def _resolve(
    kc_ids: tuple[str, ...], ukc_ids: tuple[str, ...]
) -> tuple[tuple[KillChainPhase, ...], tuple[UkcPhase, ...]]:
    kc = tuple(p for p in KILLCHAIN_PHASES if p.id in kc_ids)
    return kc, tuple(p for p in UKC_PHASES if p.id in ukc_ids)


def _tactics_to(phase_id: str, model: str) -> tuple[str, ...]:
    return tuple(t for t, row in mapping().tactics.items() if phase_id in getattr(row, model))


def explain(value: str) -> Explanation:
    """Explain a technique (T1566.001), a tactic (TA0005, stealth) or a phase (delivery, pivoting).

    Names shared by several models resolve in that order: technique, tactic, kill-chain phase,
    UKC phase. Raises UnknownIdError with close matches for anything else.
    """
    if _LOOKS_LIKE_TECHNIQUE.match(value.strip()):
        tech = technique(value)
        kc, ukc = _resolve(*phases_for((tech.id,), ()))
        parent = find_technique(tech.parent) if tech.parent else None
        overrides = [mapping().override_for(tech.id, t) for t in tech.tactics]
        details = {
            "platforms": list(tech.platforms),
            "deprecated": tech.deprecated,
            "revoked": tech.revoked,
            "parent": {"id": parent.id, "name": parent.name} if parent else None,
            "overrides": sorted({o.technique for o in overrides if o is not None}),
        }
        details["full_name"] = f"{parent.name}: {tech.name}" if parent else tech.name
        return Explanation("technique", tech.id, tech.name, "", _tactic_rows(tech.tactics), kc, ukc, details)
    short = canonical_tactic(value)
    tac = attack().tactic(short) if short else None
    if tac is not None:
        kc, ukc = _resolve(*phases_for((), (tac.short_name,)))
        count = sum(1 for t in attack().current_techniques() if tac.short_name in t.tactics)
        return Explanation(
            "tactic", tac.id, tac.name, "", _tactic_rows((tac.short_name,)), kc, ukc, {"techniques": count}
        )
    phase = find_killchain_phase(value)
    if phase is not None:
        tactics = _tactics_to(phase.id, "killchain")
        ukc = tuple(p for p in UKC_PHASES if any(p.id in mapping().tactics[t].ukc for t in tactics))
        details = {"ocsf_id": phase.ocsf_id, "typical_attacks": list(phase.typical_attacks)}
        return Explanation(
            "killchain-phase",
            phase.id,
            phase.name,
            phase.description,
            _tactic_rows(tactics),
            (phase,),
            ukc,
            details,
        )
    uphase = find_ukc_phase(value)
    if uphase is not None:
        tactics = _tactics_to(uphase.id, "ukc")
        kc = tuple(
            p for p in KILLCHAIN_PHASES if any(p.id in mapping().tactics[t].killchain for t in tactics)
        )
        details = {"group": uphase.group, "order": uphase.order}
        return Explanation(
            "ukc-phase",
            uphase.id,
            uphase.name,
            uphase.description,
            _tactic_rows(tactics),
            kc,
            (uphase,),
            details,
        )
    pool = (
        [t.short_name for t in attack().tactics]
        + [p.id for p in KILLCHAIN_PHASES]
        + [p.id for p in UKC_PHASES]
    )
    raise UnknownIdError("technique, tactic or phase", value, suggest(value, pool))
