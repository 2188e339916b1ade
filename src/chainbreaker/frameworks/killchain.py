"""The Lockheed Martin Cyber Kill Chain: seven phases in chain order (data in data/killchain.yaml)."""

from __future__ import annotations

from dataclasses import dataclass

from chainbreaker.errors import UnknownIdError
from chainbreaker.frameworks._data import load_yaml, normalise, suggest


@dataclass(frozen=True, slots=True)
class KillChainPhase:
    """One Lockheed Martin phase; ``ocsf_id`` is the OCSF ``kill_chain.phase_id`` (1..7)."""

    id: str
    ocsf_id: int
    name: str
    description: str
    typical_attacks: tuple[str, ...]
    countermeasures: tuple[str, ...]

    def __post_init__(self) -> None:
        if not 1 <= self.ocsf_id <= 7:
            raise ValueError(f"kill-chain phase {self.id!r}: ocsf_id {self.ocsf_id} outside 1..7")
        if self.id != normalise(self.id):
            raise ValueError(f"kill-chain phase id {self.id!r} is not kebab-case")


def _load() -> tuple[KillChainPhase, ...]:
    phases = tuple(
        KillChainPhase(
            id=row["id"],
            ocsf_id=int(row["ocsf_id"]),
            name=row["name"],
            description=" ".join(row["description"].split()),
            typical_attacks=tuple(row["typical_attacks"]),
            countermeasures=tuple(row["countermeasures"]),
        )
        for row in load_yaml("killchain.yaml")["phases"]
    )
    if [p.ocsf_id for p in phases] != list(range(1, len(phases) + 1)):
        raise ValueError("data/killchain.yaml: phases must be listed in chain order with ocsf_id 1..7")
    return phases


KILLCHAIN_PHASES: tuple[KillChainPhase, ...] = _load()

#: OCSF kill_chain.phase_id values outside the seven phases.
OCSF_UNKNOWN = 0
OCSF_OTHER = 99

_BY_KEY: dict[str, KillChainPhase] = {}
for _phase in KILLCHAIN_PHASES:
    _BY_KEY[_phase.id] = _phase
    _BY_KEY[str(_phase.ocsf_id)] = _phase
    _BY_KEY[normalise(_phase.name)] = _phase
    _BY_KEY[normalise(_phase.name.replace("&", "and"))] = _phase


def find_killchain_phase(value: str | int) -> KillChainPhase | None:
    """Like :func:`killchain_phase` but returns ``None`` for an unknown value."""
    key = str(value) if isinstance(value, int) else normalise(value.replace("&", "and"))
    return _BY_KEY.get(key)


def killchain_phase(value: str | int) -> KillChainPhase:
    """Look a phase up by id (``"delivery"``), OCSF number (``3`` / ``"3"``) or name (``"Delivery"``)."""
    phase = find_killchain_phase(value)
    if phase is None:
        raise UnknownIdError(
            "kill-chain phase", str(value), suggest(str(value), [p.id for p in KILLCHAIN_PHASES])
        )
    return phase
