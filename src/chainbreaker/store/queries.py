"""Read side of the store: incident lists with filters and sorting, incidents, alerts, runs.

Every filter value travels as a bound parameter; sort keys come from a fixed whitelist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from chainbreaker.errors import UnknownIdError, UsageError
from chainbreaker.store.backend import Database, Row
from chainbreaker.store.schema import STATUSES

#: Sort keys of the incident list -> SQL expression (a whitelist: nothing else reaches the query).
SORT_KEYS: dict[str, str] = {
    "score": "i.score",
    "first_seen": "i.first_seen",
    "last_seen": "i.last_seen",
    "phase": "i.phase_index",
    "title": "i.title",
    "alerts": "i.alert_count",
    "status": "status",
    "level": "i.level",
}


@dataclass(frozen=True, slots=True)
class IncidentFilter:
    """What the incident list can be narrowed by; every field is optional."""

    min_score: int | None = None
    max_score: int | None = None
    phase: str | None = None  # a kill-chain phase, UKC phase or ATT&CK tactic id
    host: str | None = None
    user: str | None = None
    status: str | None = None
    since: str | None = None  # ISO time: incidents still active at or after it
    until: str | None = None  # ISO time: incidents that started at or before it
    run_id: str | None = None
    sort: str = "score"
    descending: bool = True
    limit: int = 200
    offset: int = 0

    def __post_init__(self) -> None:
        if self.sort not in SORT_KEYS:
            raise UsageError(f"unknown sort key {self.sort!r}; expected one of {', '.join(SORT_KEYS)}")
        if self.status is not None and self.status not in STATUSES:
            raise UsageError(f"unknown status {self.status!r}; expected one of {', '.join(STATUSES)}")
        if not 1 <= self.limit <= 5000 or self.offset < 0:
            raise UsageError("limit must be 1..5000 and offset >= 0")


def loads(text: str | None) -> Any:
    return orjson.loads(text) if text else None


_SUMMARY = """SELECT i.id, i.run_id, i.title, i.level, i.score, i.first_seen, i.last_seen,
    i.furthest_phase, i.killchain_phases, i.ukc_phases, i.tactics, i.alert_count, i.hosts, i.users,
    COALESCE(t.status, 'new') AS status, t.assignee, t.updated_at AS triaged_at, t.updated_by AS triaged_by
    FROM incidents i LEFT JOIN triage t ON t.incident_id = i.id"""


def _summary(row: Row) -> Row:
    for key in ("killchain_phases", "ukc_phases", "tactics", "hosts", "users"):
        row[key] = loads(row[key]) or []
    return row


def list_incidents(db: Database, flt: IncidentFilter) -> list[Row]:
    where: list[str] = []
    params: list[Any] = []
    if flt.min_score is not None:
        where.append("i.score >= ?")
        params.append(flt.min_score)
    if flt.max_score is not None:
        where.append("i.score <= ?")
        params.append(flt.max_score)
    if flt.phase:
        quoted = orjson.dumps(flt.phase).decode()
        where.append("(i.killchain_phases LIKE ? OR i.ukc_phases LIKE ? OR i.tactics LIKE ?)")
        params += [f"%{quoted}%"] * 3
    for kind, value in (("host", flt.host), ("user", flt.user)):
        if value:
            where.append(
                "EXISTS (SELECT 1 FROM incident_entities e WHERE e.incident_id = i.id"
                " AND e.kind = ? AND LOWER(e.value) LIKE ?)"
            )
            params += [kind, f"%{value.lower()}%"]
    if flt.status:
        where.append("COALESCE(t.status, 'new') = ?")
        params.append(flt.status)
    if flt.since:
        where.append("i.last_seen >= ?")
        params.append(flt.since)
    if flt.until:
        where.append("i.first_seen <= ?")
        params.append(flt.until)
    if flt.run_id:
        where.append("i.run_id = ?")
        params.append(flt.run_id)
    sql = _SUMMARY + (" WHERE " + " AND ".join(where) if where else "")
    order = "DESC" if flt.descending else "ASC"
    sql += f" ORDER BY {SORT_KEYS[flt.sort]} {order}, i.id ASC LIMIT ? OFFSET ?"
    return [_summary(r) for r in db.query(sql, [*params, flt.limit, flt.offset])]


def get_incident(db: Database, incident_id: str) -> Row:
    """The incident's result-document dict plus ``run_id``, ``triage``, ``notes``."""
    row = db.one(_SUMMARY.replace("SELECT i.id,", "SELECT i.doc, i.id,") + " WHERE i.id = ?", (incident_id,))
    if row is None:
        raise UnknownIdError("incident", incident_id)
    doc: Row = loads(row["doc"])
    doc["run_id"] = row["run_id"]
    doc["triage"] = {
        "status": row["status"],
        "assignee": row["assignee"],
        "updated_at": row["triaged_at"],
        "updated_by": row["triaged_by"],
    }
    doc["notes"] = db.query(
        "SELECT id, author, body, created_at FROM notes WHERE incident_id = ? ORDER BY id", (incident_id,)
    )
    return doc


def incident_alerts(db: Database, incident_id: str) -> list[Row]:
    if db.one("SELECT id FROM incidents WHERE id = ?", (incident_id,)) is None:
        raise UnknownIdError("incident", incident_id)
    rows = db.query(
        "SELECT a.doc FROM incident_alerts l JOIN alerts a ON a.id = l.alert_id"
        " WHERE l.incident_id = ? ORDER BY a.time, a.id",
        (incident_id,),
    )
    return [loads(r["doc"]) for r in rows]


def get_alert(db: Database, alert_id: str) -> Row:
    row = db.one("SELECT doc, run_id FROM alerts WHERE id = ?", (alert_id,))
    if row is None:
        raise UnknownIdError("alert", alert_id)
    doc: Row = loads(row["doc"])
    doc["run_id"] = row["run_id"]
    return doc


def list_alerts(
    db: Database, run_id: str | None = None, rule_id: str | None = None, limit: int = 500, offset: int = 0
) -> list[Row]:
    where, params = [], []
    if run_id:
        where.append("a.id IN (SELECT alert_id FROM run_alerts WHERE run_id = ?)")
        params.append(run_id)
    if rule_id:
        where.append("a.rule_id = ?")
        params.append(rule_id)
    sql = "SELECT a.doc FROM alerts a" + (" WHERE " + " AND ".join(where) if where else "")
    rows = db.query(sql + " ORDER BY a.time, a.id LIMIT ? OFFSET ?", [*params, limit, offset])
    return [loads(r["doc"]) for r in rows]


def run_alert_tags(db: Database, run_id: str) -> list[Row]:
    """The run's alerts with only what the matrix and coverage views need (no full documents)."""
    rows = db.query(
        "SELECT a.rule_id, a.title, a.techniques, a.tactics, a.killchain_phases, a.ukc_phases FROM alerts a"
        " JOIN run_alerts r ON r.alert_id = a.id WHERE r.run_id = ?",
        (run_id,),
    )
    for row in rows:
        for key in ("techniques", "tactics", "killchain_phases", "ukc_phases"):
            row[key] = loads(row[key]) or []
    return rows


def _run(row: Row) -> Row:
    for key in ("inputs", "options", "stats"):
        row[key] = loads(row[key])
    return row


def list_runs(db: Database) -> list[Row]:
    return [_run(r) for r in db.query("SELECT * FROM runs ORDER BY updated_at DESC, id")]


def get_run(db: Database, run_id: str) -> Row:
    row = db.one("SELECT * FROM runs WHERE id = ?", (run_id,))
    if row is None:
        raise UnknownIdError("run", run_id)
    return _run(row)


def latest_run_id(db: Database) -> str | None:
    row = db.one("SELECT id FROM runs ORDER BY updated_at DESC, id LIMIT 1")
    return str(row["id"]) if row else None


def counts(db: Database) -> Row:
    out: Row = {}
    for table in ("runs", "alerts", "incidents", "entities", "notes", "audit"):
        row = db.one(f"SELECT COUNT(*) AS n FROM {table}")  # table names from the fixed tuple above
        out[table] = int(row["n"]) if row else 0
    return out
