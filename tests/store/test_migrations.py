"""Migrations: a schema_version table and ordered steps, applied once, picked up by later opens."""

from __future__ import annotations

from pathlib import Path

import pytest

from chainbreaker.errors import StoreError
from chainbreaker.store import Store
from chainbreaker.store.backend import Database
from chainbreaker.store.schema import MIGRATIONS, latest_version


def test_fresh_store_is_at_latest_version(store_target: str) -> None:
    with Store(store_target) as first:
        assert first.schema_version() == latest_version() == len(MIGRATIONS)
    with Store(store_target) as again:  # reopening applies nothing twice
        rows = again.db.query("SELECT version FROM schema_version ORDER BY version")
        assert [r["version"] for r in rows] == list(range(1, len(MIGRATIONS) + 1))


def test_a_new_step_is_applied_on_open(store_target: str, monkeypatch: pytest.MonkeyPatch) -> None:
    Store(store_target).close()
    extra = (*MIGRATIONS, ("CREATE TABLE watch_offsets (source TEXT PRIMARY KEY, pos INTEGER)",))
    monkeypatch.setattr("chainbreaker.store.backend.MIGRATIONS", extra)
    db = Database(store_target)
    try:
        assert db.version() == len(MIGRATIONS) + 1
        db.execute("INSERT INTO watch_offsets (source, pos) VALUES (?, ?)", ("a", 1))
        assert db.one("SELECT pos FROM watch_offsets WHERE source = ?", ("a",)) == {"pos": 1}
    finally:
        db.close()


def test_sqlite_store_uses_wal(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as handle:
        assert handle.db.one("PRAGMA journal_mode") == {"journal_mode": "wal"}


def test_unreachable_postgres_is_a_store_error() -> None:
    with pytest.raises(
        StoreError, match=r"(?s)cannot open store.*postgresql://\*\*\*@127\.0\.0\.1:1/x"
    ) as err:
        Store("postgresql://user:secret@127.0.0.1:1/x")
    assert "secret" not in str(err.value)
