"""ATT&CK -> Lockheed Martin kill chain and Unified Kill Chain, driven by data/mapping.yaml."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache

from chainbreaker.frameworks._data import load_yaml
from chainbreaker.frameworks.attack import attack, find_technique
from chainbreaker.frameworks.killchain import KILLCHAIN_PHASES
from chainbreaker.frameworks.tags import canonical_tactic
from chainbreaker.frameworks.ukc import UKC_PHASES

_KC_ORDER = {p.id: i for i, p in enumerate(KILLCHAIN_PHASES)}
_UKC_ORDER = {p.id: i for i, p in enumerate(UKC_PHASES)}


@dataclass(frozen=True, slots=True)
class PhaseMapping:
    """Where one tactic, or one technique under a tactic, lands in each model."""

    killchain: tuple[str, ...]
    ukc: tuple[str, ...]

    def __post_init__(self) -> None:
        bad = [p for p in self.killchain if p not in _KC_ORDER] + [p for p in self.ukc if p not in _UKC_ORDER]
        if bad or not self.killchain or not self.ukc:
            raise ValueError(f"data/mapping.yaml: unknown or missing phase ids {bad}")


@dataclass(frozen=True, slots=True)
class TechniqueOverride:
    technique: str
    name: str
    tactic: str | None  # None: applies whatever tactic the technique is used under
    phases: PhaseMapping


@dataclass(frozen=True)
class Mapping:
    tactics: dict[str, PhaseMapping]
    overrides: dict[str, TechniqueOverride]

    def override_for(self, technique_id: str, tactic: str) -> TechniqueOverride | None:
        """The technique's own override, else its parent's; only if it covers ``tactic``."""
        for key in (technique_id, technique_id.split(".", 1)[0]):
            found = self.overrides.get(key)
            if found is not None:
                return found if found.tactic in (None, tactic) else None
        return None


def _phases(row: dict[str, list[str]]) -> PhaseMapping:
    return PhaseMapping(killchain=tuple(row["killchain"]), ukc=tuple(row["ukc"]))


@cache
def mapping() -> Mapping:
    """The parsed mapping file, checked against the shipped ATT&CK tactics and the two models."""
    doc = load_yaml("mapping.yaml")
    tactics = {name: _phases(row) for name, row in doc["tactics"].items()}
    known = {t.short_name for t in attack().tactics}
    if set(tactics) != known:
        raise ValueError(f"data/mapping.yaml: tactics differ from ATT&CK: {sorted(set(tactics) ^ known)}")
    overrides = {}
    for tid, row in doc["technique_overrides"].items():
        tactic = row.get("tactic")
        if tactic is not None and tactic not in known:
            raise ValueError(f"data/mapping.yaml: override {tid}: unknown tactic {tactic!r}")
        overrides[tid] = TechniqueOverride(tid, row["name"], tactic, _phases(row))
    return Mapping(tactics=tactics, overrides=overrides)


@lru_cache(maxsize=8192)
def _phases_for(
    techniques: tuple[str, ...], tactics: tuple[str, ...]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    table = mapping()
    given = tuple(dict.fromkeys(t for t in (canonical_tactic(x) for x in tactics) if t is not None))
    hits: list[PhaseMapping] = []
    covered: set[str] = set()
    for tid in techniques:
        tech = find_technique(tid)
        if tech is None:
            continue
        used = [t for t in tech.tactics if t in given] if given else list(tech.tactics)
        for tac in used:
            covered.add(tac)
            override = table.override_for(tech.id, tac)
            if override is not None:
                hits.append(override.phases)
            elif tac in table.tactics:
                hits.append(table.tactics[tac])
    hits.extend(table.tactics[t] for t in given if t not in covered and t in table.tactics)
    kc = {p for h in hits for p in h.killchain}
    ukc = {p for h in hits for p in h.ukc}
    return tuple(sorted(kc, key=_KC_ORDER.__getitem__)), tuple(sorted(ukc, key=_UKC_ORDER.__getitem__))


def phases_for(
    techniques: Iterable[str] = (), tactics: Iterable[str] = ()
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(kill-chain phase ids, UKC phase ids), each in chain order, for an alert's ATT&CK tags.

    ``tactics`` may use any spelling (``"Defense Evasion"``, ``"TA0005"``...). A technique counts
    under the given tactics it belongs to (or under all its ATT&CK tactics when no tactic is
    given), through its technique override when there is one. Given tactics that no technique
    covers map through the tactic rows. Unknown techniques and tactics add nothing.
    """
    techs = tuple(t.strip().upper() for t in techniques)
    return _phases_for(techs, tuple(tactics))
