"""Alerts: what every detector (Sigma, analytics, intel, sensor verdicts) produces.

Bulk data travels as columnar batches; alerts are per-finding Python values because people
read them. They are frozen and validated on construction, so an invalid alert cannot exist.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Any

from chainbreaker.events import EventRef


class Level(IntEnum):
    """Sigma's severity levels, ordered so that comparisons work (``Level.high > Level.low``)."""

    informational = 1
    low = 2
    medium = 3
    high = 4
    critical = 5

    @classmethod
    def parse(cls, value: str | Level | None) -> Level:
        if isinstance(value, Level):
            return value
        if not value:
            return cls.medium
        try:
            return cls[str(value).strip().lower()]
        except KeyError:
            raise ValueError(
                f"unknown level {value!r}; expected one of {', '.join(cls.__members__)}"
            ) from None


#: Detector kinds, the ``detector`` field of an alert.
DETECTOR_KINDS = ("sigma", "sigma-correlation", "analytic", "intel", "suricata", "zeek-notice")


def alert_id(rule_id: str, refs: tuple[EventRef, ...], time: datetime) -> str:
    """Deterministic alert id: the same rule on the same evidence gives the same id on every run."""
    digest = hashlib.sha1(rule_id.encode())
    for ref in refs:
        digest.update(f"|{ref.file}#{ref.record}".encode())
    digest.update(time.isoformat().encode())
    return digest.hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Alert:
    rule_id: str
    title: str
    level: Level
    detector: str
    time: datetime
    event_refs: tuple[EventRef, ...]
    techniques: tuple[str, ...] = ()  # ATT&CK ids, upper case: T1059.001
    tactics: tuple[str, ...] = ()  # ATT&CK tactic short names: execution, stealth...
    killchain_phases: tuple[str, ...] = ()  # Lockheed Martin phase names
    ukc_phases: tuple[str, ...] = ()  # Unified Kill Chain phase names
    status: str = "stable"
    host: str | None = None
    user: str | None = None
    src_ip: str | None = None
    dst_ip: str | None = None
    process_guid: str | None = None
    parent_process_guid: str | None = None
    matched: tuple[tuple[str, str], ...] = ()  # (field, value) pairs that made the rule fire
    description: str = ""  # why it fired, with the numbers (analytics) or the rule's description
    count: int = 1  # events behind this alert (correlation rules and analytics may cite many)
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    id: str = ""

    def __post_init__(self) -> None:
        if not self.rule_id:
            raise ValueError("alert without rule_id")
        if self.detector not in DETECTOR_KINDS:
            raise ValueError(f"unknown detector kind {self.detector!r}")
        if self.time.tzinfo is None:
            raise ValueError("alert time must be timezone-aware (UTC)")
        if not self.id:
            object.__setattr__(self, "id", alert_id(self.rule_id, self.event_refs, self.time))

    def as_dict(self) -> dict[str, Any]:
        """The alert as the result document (docs/OUTPUTS.md) spells it."""
        first = self.event_refs[0] if self.event_refs else None
        return {
            "id": self.id,
            "rule_id": self.rule_id,
            "title": self.title,
            "level": self.level.name,
            "status": self.status,
            "detector": self.detector,
            "techniques": list(self.techniques),
            "tactics": list(self.tactics),
            "killchain_phases": list(self.killchain_phases),
            "ukc_phases": list(self.ukc_phases),
            "time": self.time.isoformat().replace("+00:00", "Z"),
            "host": self.host,
            "user": self.user,
            "src_ip": self.src_ip,
            "dst_ip": self.dst_ip,
            "process_guid": self.process_guid,
            "event_ref": first.as_dict() if first else None,
            "event_refs": [r.as_dict() for r in self.event_refs],
            "matched": dict(self.matched),
            "description": self.description,
            "count": self.count,
        }
