"""The Unified Kill Chain: 18 phases in three groups, in order (data in data/ukc.yaml)."""

from __future__ import annotations

from dataclasses import dataclass

from chainbreaker.errors import UnknownIdError
from chainbreaker.frameworks._data import load_yaml, normalise, suggest

UKC_GROUPS: tuple[str, ...] = ("in", "through", "out")


@dataclass(frozen=True, slots=True)
class UkcPhase:
    """One Unified Kill Chain phase; ``order`` counts from 1, ``group`` is in, through or out."""

    id: str
    name: str
    group: str
    order: int
    description: str = ""

    def __post_init__(self) -> None:
        if self.group not in UKC_GROUPS:
            raise ValueError(f"UKC phase {self.id!r}: group {self.group!r} not one of {UKC_GROUPS}")
        if self.id != normalise(self.id):
            raise ValueError(f"UKC phase id {self.id!r} is not kebab-case")


def _load() -> tuple[UkcPhase, ...]:
    rows = load_yaml("ukc.yaml")["phases"]
    phases = tuple(
        UkcPhase(id=row["id"], name=row["name"], group=row["group"], order=i, description=row["description"])
        for i, row in enumerate(rows, start=1)
    )
    groups = [p.group for p in phases]
    if groups != sorted(groups, key=UKC_GROUPS.index):
        raise ValueError("data/ukc.yaml: phases must be grouped in, through, out")
    return phases


UKC_PHASES: tuple[UkcPhase, ...] = _load()

_BY_KEY: dict[str, UkcPhase] = {}
for _phase in UKC_PHASES:
    _BY_KEY[_phase.id] = _phase
    _BY_KEY[str(_phase.order)] = _phase
    _BY_KEY[normalise(_phase.name.replace("&", "and"))] = _phase


def find_ukc_phase(value: str | int) -> UkcPhase | None:
    """Like :func:`ukc_phase` but returns ``None`` for an unknown value."""
    key = str(value) if isinstance(value, int) else normalise(value.replace("&", "and"))
    return _BY_KEY.get(key)


def ukc_phase(value: str | int) -> UkcPhase:
    """Look a phase up by id (``"pivoting"``), order number (``9``) or name (``"Command & Control"``)."""
    phase = find_ukc_phase(value)
    if phase is None:
        raise UnknownIdError("UKC phase", str(value), suggest(str(value), [p.id for p in UKC_PHASES]))
    return phase
