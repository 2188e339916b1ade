"""Analysts' triage state: status, assignee and notes, each change written to the audit table."""

from __future__ import annotations

from chainbreaker.errors import UnknownIdError, UsageError
from chainbreaker.store.backend import Database, Row, now
from chainbreaker.store.schema import STATUSES

MAX_NOTE = 20_000
MAX_NAME = 200


def _require_incident(db: Database, incident_id: str) -> None:
    if db.one("SELECT id FROM incidents WHERE id = ?", (incident_id,)) is None:
        raise UnknownIdError("incident", incident_id)


def _actor(actor: str) -> str:
    actor = actor.strip()
    if not actor or len(actor) > MAX_NAME:
        raise UsageError(f"the acting analyst's name must be 1..{MAX_NAME} characters")
    return actor


def set_triage(
    db: Database, incident_id: str, actor: str, status: str | None = None, assignee: str | None = None
) -> Row:
    """Change status and/or assignee (``""`` unassigns); return the triage state now in place."""
    actor = _actor(actor)
    if status is not None and status not in STATUSES:
        raise UsageError(f"unknown status {status!r}; expected one of {', '.join(STATUSES)}")
    if assignee is not None and len(assignee) > MAX_NAME:
        raise UsageError(f"assignee longer than {MAX_NAME} characters")
    _require_incident(db, incident_id)
    stamp = now()
    with db.transaction():
        old = db.one("SELECT status, assignee FROM triage WHERE incident_id = ?", (incident_id,))
        old_status = old["status"] if old else "new"
        old_assignee = old["assignee"] if old else None
        new_status = status if status is not None else old_status
        new_assignee = (assignee.strip() or None) if assignee is not None else old_assignee
        db.execute(
            "INSERT INTO triage (incident_id, status, assignee, updated_at, updated_by)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (incident_id) DO UPDATE SET status = excluded.status,"
            " assignee = excluded.assignee, updated_at = excluded.updated_at,"
            " updated_by = excluded.updated_by",
            (incident_id, new_status, new_assignee, stamp, actor),
        )
        for action, before, after in (
            ("status", old_status, new_status),
            ("assignee", old_assignee, new_assignee),
        ):
            if before != after:
                _audit(db, incident_id, actor, action, before, after, stamp)
    return {"status": new_status, "assignee": new_assignee, "updated_at": stamp, "updated_by": actor}


def add_note(db: Database, incident_id: str, actor: str, body: str) -> Row:
    actor = _actor(actor)
    body = body.strip()
    if not body or len(body) > MAX_NOTE:
        raise UsageError(f"a note must be 1..{MAX_NOTE} characters")
    _require_incident(db, incident_id)
    stamp = now()
    with db.transaction():
        db.execute(
            "INSERT INTO notes (incident_id, author, body, created_at) VALUES (?, ?, ?, ?)",
            (incident_id, actor, body, stamp),
        )
        _audit(db, incident_id, actor, "note", None, body, stamp)
    row = db.one(
        "SELECT id, author, body, created_at FROM notes WHERE incident_id = ? ORDER BY id DESC LIMIT 1",
        (incident_id,),
    )
    assert row is not None
    return row


def _audit(
    db: Database, incident_id: str, actor: str, action: str, old: str | None, new: str | None, at: str
) -> None:
    db.execute(
        "INSERT INTO audit (incident_id, actor, action, old_value, new_value, at) VALUES (?, ?, ?, ?, ?, ?)",
        (incident_id, actor, action, old, new, at),
    )


def audit_trail(db: Database, incident_id: str) -> list[Row]:
    _require_incident(db, incident_id)
    return db.query(
        "SELECT id, actor, action, old_value, new_value, at FROM audit WHERE incident_id = ? ORDER BY id",
        (incident_id,),
    )
