"""Triage: status, assignee and notes persisted with who and when; every change audited."""

from __future__ import annotations

import pytest
from store_scenario import result_document

from chainbreaker.errors import UnknownIdError, UsageError
from chainbreaker.store import STATUSES, Store


def test_status_assignee_notes_and_audit(store: Store) -> None:
    store.ingest(result_document())
    inc = result_document()["incidents"][0]["id"]
    state = store.set_triage(inc, "alice", status="investigating")
    assert state["status"] == "investigating" and state["updated_by"] == "alice"
    store.set_triage(inc, "bob", assignee="bob")
    store.set_triage(inc, "bob", status="contained", assignee="bob")  # assignee unchanged: one row
    store.add_note(inc, "bob", "host isolated <b>now</b>")
    got = store.incident(inc)["triage"]
    assert got["status"] == "contained" and got["assignee"] == "bob" and got["updated_by"] == "bob"
    trail = [(r["actor"], r["action"], r["old_value"], r["new_value"]) for r in store.audit(inc)]
    assert trail == [
        ("alice", "status", "new", "investigating"),
        ("bob", "assignee", None, "bob"),
        ("bob", "status", "investigating", "contained"),
        ("bob", "note", None, "host isolated <b>now</b>"),
    ]
    assert all(r["at"].endswith("Z") for r in store.audit(inc))
    store.set_triage(inc, "bob", assignee="")
    assert store.incident(inc)["triage"]["assignee"] is None


def test_triage_rejects_bad_input(store: Store) -> None:
    store.ingest(result_document())
    inc = result_document()["incidents"][0]["id"]
    with pytest.raises(UsageError, match="unknown status"):
        store.set_triage(inc, "alice", status="pwned")
    with pytest.raises(UsageError):
        store.set_triage(inc, "  ", status="closed")
    with pytest.raises(UsageError):
        store.add_note(inc, "alice", "   ")
    with pytest.raises(UnknownIdError):
        store.set_triage("INC-missing", "alice", status="closed")
    assert store.audit(inc) == []
    assert set(STATUSES) == {"new", "investigating", "contained", "closed", "false_positive"}
