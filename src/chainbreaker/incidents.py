"""Incidents and findings: what correlation (chainbreaker.correlate) makes of alerts.

An incident is a group of alerts that share entities (hosts, accounts, addresses, process trees)
close in time. Inside an incident, repeated hits of one rule on one entity are folded into a
:class:`Finding` with a count. Every value here is frozen and validated on construction; the
result document spells them through ``as_dict`` (docs/CORRELATION.md describes every field).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chainbreaker.alerts import Level
from chainbreaker.events import EventRef

#: The three kill-chain models a progression is computed on.
MODELS = ("killchain", "attack", "ukc")


def iso(value: datetime | None) -> str | None:
    """UTC timestamps as the result document spells them (``...Z``)."""
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule on one entity, its repeated hits folded: count, first and last time."""

    id: str
    rule_id: str
    title: str
    level: Level
    detector: str
    entity: str  # the entity the hits were folded on: "host:wks-05", "ip:10.0.0.5", "user:alice"
    first_seen: datetime
    last_seen: datetime
    count: int  # events behind the finding (sum of the alerts' counts)
    alert_ids: tuple[str, ...]
    techniques: tuple[str, ...] = ()
    tactics: tuple[str, ...] = ()
    killchain_phases: tuple[str, ...] = ()
    ukc_phases: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()
    event_refs: tuple[EventRef, ...] = ()  # the first few (MAX_REFS_PER_FINDING) of its evidence
    matched: tuple[tuple[str, str], ...] = ()  # from the first hit
    description: str = ""

    def __post_init__(self) -> None:
        if self.count < 1 or not self.alert_ids:
            raise ValueError(f"finding {self.id} without alerts")
        if self.last_seen < self.first_seen:
            raise ValueError(f"finding {self.id}: last_seen before first_seen")

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "rule_id": self.rule_id,
            "title": self.title,
            "level": self.level.name,
            "detector": self.detector,
            "entity": self.entity,
            "first_seen": iso(self.first_seen),
            "last_seen": iso(self.last_seen),
            "count": self.count,
            "alerts": len(self.alert_ids),
            "alert_ids": list(self.alert_ids),
            "techniques": list(self.techniques),
            "tactics": list(self.tactics),
            "killchain_phases": list(self.killchain_phases),
            "ukc_phases": list(self.ukc_phases),
            "hosts": list(self.hosts),
            "users": list(self.users),
            "addresses": list(self.addresses),
            "event_refs": [r.as_dict() for r in self.event_refs],
            "matched": dict(self.matched),
            "description": self.description,
        }


@dataclass(frozen=True, slots=True)
class PhaseSpan:
    """When one phase (of one model) was seen in an incident."""

    phase: str
    first_seen: datetime
    last_seen: datetime
    alerts: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "phase": self.phase,
            "first_seen": iso(self.first_seen),
            "last_seen": iso(self.last_seen),
            "alerts": self.alerts,
        }


@dataclass(frozen=True, slots=True)
class ModelProgression:
    """Progression on one model: phases in the model's order, the furthest, and the observed path."""

    model: str
    phases: tuple[PhaseSpan, ...]  # in the model's own order
    furthest: str | None  # the phase furthest along the model's order
    path: tuple[str, ...]  # phases ordered by when they were first seen
    total: int  # how many phases the model has

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ValueError(f"unknown model {self.model!r}")

    def reached(self) -> tuple[str, ...]:
        return tuple(p.phase for p in self.phases)

    def as_dict(self) -> dict[str, Any]:
        return {
            "phases": [p.as_dict() for p in self.phases],
            "furthest": self.furthest,
            "path": list(self.path),
            "reached": len(self.phases),
            "total": self.total,
        }


@dataclass(frozen=True, slots=True)
class Progression:
    killchain: ModelProgression
    attack: ModelProgression
    ukc: ModelProgression
    dwell_seconds: float  # first malicious activity -> last
    seconds_to_first_high: float | None  # first malicious activity -> first high/critical alert

    def as_dict(self) -> dict[str, Any]:
        return {
            "killchain": self.killchain.as_dict(),
            "attack": self.attack.as_dict(),
            "ukc": self.ukc.as_dict(),
            "dwell_seconds": self.dwell_seconds,
            "seconds_to_first_high": self.seconds_to_first_high,
        }


@dataclass(frozen=True, slots=True)
class ScoreTerm:
    """One term of the score formula (docs/CORRELATION.md): its name, points and why."""

    term: str
    points: float
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"term": self.term, "points": self.points, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class PhaseGuidance:
    """Countermeasures for one kill-chain phase the incident reached."""

    phase: str
    name: str
    first_seen: datetime
    countermeasures: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "phase": self.phase,
            "name": self.name,
            "first_seen": iso(self.first_seen),
            "countermeasures": list(self.countermeasures),
        }


@dataclass(frozen=True, slots=True)
class Containment:
    """Concrete containment items drawn from the evidence."""

    hosts: tuple[str, ...] = ()  # to isolate
    accounts: tuple[str, ...] = ()  # to disable / reset
    addresses: tuple[str, ...] = ()  # external addresses to block
    domains: tuple[str, ...] = ()  # domains to block / sinkhole

    def as_dict(self) -> dict[str, Any]:
        return {
            "hosts": list(self.hosts),
            "accounts": list(self.accounts),
            "addresses": list(self.addresses),
            "domains": list(self.domains),
        }


@dataclass(frozen=True, slots=True)
class Incident:
    id: str
    title: str
    level: Level  # the highest level among its alerts
    score: int
    first_seen: datetime
    last_seen: datetime
    alert_ids: tuple[str, ...]
    findings: tuple[Finding, ...]
    progression: Progression
    score_explanation: tuple[ScoreTerm, ...]
    hosts: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    techniques: tuple[str, ...] = ()
    break_at: str | None = None  # earliest kill-chain phase (chain order) at which it was visible
    countermeasures: tuple[PhaseGuidance, ...] = ()
    containment: Containment = field(default_factory=Containment)

    def __post_init__(self) -> None:
        if not self.id or not self.alert_ids:
            raise ValueError("incident without id or alerts")
        if not 0 <= self.score <= 100:
            raise ValueError(f"incident {self.id}: score {self.score} outside 0..100")
        if self.last_seen < self.first_seen:
            raise ValueError(f"incident {self.id}: last_seen before first_seen")

    @property
    def killchain_phases(self) -> tuple[str, ...]:
        return self.progression.killchain.reached()

    @property
    def ukc_phases(self) -> tuple[str, ...]:
        return self.progression.ukc.reached()

    @property
    def tactics(self) -> tuple[str, ...]:
        return self.progression.attack.reached()

    @property
    def dwell_seconds(self) -> float:
        return self.progression.dwell_seconds

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "level": self.level.name,
            "score": self.score,
            "hosts": list(self.hosts),
            "users": list(self.users),
            "addresses": list(self.addresses),
            "domains": list(self.domains),
            "techniques": list(self.techniques),
            "killchain_phases": list(self.killchain_phases),
            "ukc_phases": list(self.ukc_phases),
            "tactics": list(self.tactics),
            "first_seen": iso(self.first_seen),
            "last_seen": iso(self.last_seen),
            "dwell_seconds": self.dwell_seconds,
            "alert_ids": list(self.alert_ids),
            "break_at": self.break_at,
            "findings": [f.as_dict() for f in self.findings],
            "progression": self.progression.as_dict(),
            "score_explanation": [t.as_dict() for t in self.score_explanation],
            "countermeasures": [c.as_dict() for c in self.countermeasures],
            "containment": self.containment.as_dict(),
        }
