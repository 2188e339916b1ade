"""Database back ends: SQLite (stdlib, the default) and PostgreSQL (psycopg 3), one query dialect.

Queries are written once with ``?`` placeholders and ``INSERT ... ON CONFLICT`` upserts, which both
engines understand (psycopg gets ``%s``). Each thread gets its own connection: the web server runs
handlers in a thread pool and SQLite connections must not cross threads. SQLite runs in WAL mode
so the web server keeps reading while ``hunt --store`` or a background job writes.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chainbreaker.errors import StoreError
from chainbreaker.store.schema import MIGRATIONS, statements

Row = dict[str, Any]


def now() -> str:
    """The current UTC time as the store spells times (ISO 8601, ``Z``)."""
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def is_postgres_url(target: str) -> bool:
    return target.startswith(("postgresql://", "postgres://"))


class Database:
    """A thread-safe handle on one store database; ``dialect`` is ``sqlite`` or ``postgresql``."""

    def __init__(self, target: str | Path) -> None:
        self.target = str(target)
        self.dialect = "postgresql" if is_postgres_url(self.target) else "sqlite"
        self._local = threading.local()
        self._all: list[Any] = []
        self._lock = threading.Lock()
        if self.dialect == "sqlite":
            Path(self.target).parent.mkdir(parents=True, exist_ok=True)
        self.migrate()

    # connections -------------------------------------------------------------------------------
    def _connect(self) -> Any:
        try:
            if self.dialect == "sqlite":
                conn = sqlite3.connect(self.target, timeout=30, isolation_level=None, check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("PRAGMA foreign_keys=ON")
                conn.row_factory = sqlite3.Row
                return conn
            import psycopg
            from psycopg.rows import dict_row

            return psycopg.connect(self.target, autocommit=True, row_factory=dict_row)
        except (sqlite3.Error, ImportError, OSError) as exc:
            raise StoreError(f"cannot open store: {exc}", self.describe()) from exc
        except Exception as exc:  # psycopg.Error without importing psycopg at module level
            raise StoreError(f"cannot open store: {exc}", self.describe()) from exc

    def _conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def describe(self) -> str:
        """Where the store is, without a password."""
        if self.dialect == "sqlite":
            return self.target
        head, _, tail = self.target.rpartition("@")
        return f"postgresql://***@{tail}" if head else self.target

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                with contextlib.suppress(Exception):  # a connection another thread already lost
                    conn.close()
            self._all.clear()
        self._local = threading.local()

    # queries -----------------------------------------------------------------------------------
    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.dialect == "postgresql" else sql

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._run(self._conn(), sql, params)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        cur = self._run(self._conn(), sql, params)
        return [dict(r) for r in cur.fetchall()]

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        conn = self._conn()
        try:
            cur = conn.cursor()
            cur.executemany(self._sql(sql), rows)
        except Exception as exc:
            raise StoreError(f"store write failed: {exc}", self.describe()) from exc

    def _run(self, conn: Any, sql: str, params: Sequence[Any]) -> Any:
        try:
            cur = conn.cursor()
            cur.execute(self._sql(sql), tuple(params))
            return cur
        except Exception as exc:
            raise StoreError(f"store query failed: {exc}", self.describe()) from exc

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything inside commits together or not at all."""
        conn = self._conn()
        if self.dialect == "sqlite":
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        else:
            with conn.transaction():
                yield

    # migrations --------------------------------------------------------------------------------
    def version(self) -> int:
        row = self.one("SELECT MAX(version) AS v FROM schema_version")
        return int(row["v"]) if row and row["v"] is not None else 0

    def migrate(self) -> int:
        """Apply the missing migration steps in order; return the schema version now in place."""
        self.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TEXT)"
        )
        with self.transaction():
            if self.dialect == "postgresql":  # one migrator at a time across processes
                self.execute("LOCK TABLE schema_version IN EXCLUSIVE MODE")
            current = self.version()
            for number, step in enumerate(MIGRATIONS, start=1):
                if number <= current:
                    continue
                for sql in statements(step, self.dialect):
                    self.execute(sql)
                self.execute(
                    "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)", (number, now())
                )
        return self.version()
