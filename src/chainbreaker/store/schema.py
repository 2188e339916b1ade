"""The store's schema as ordered migration steps (docs/WORKBENCH.md describes every table).

Each step is a list of statements written once for both back ends; one token differs between
SQLite and PostgreSQL and is substituted by :func:`statements`: ``{serial}`` (an auto-increment
integer key). JSON values are kept as TEXT on both, so one query text serves both back ends.
A store records the steps it applied in ``schema_version``; opening a store applies the missing
ones in order, each inside a transaction.
"""

from __future__ import annotations

#: Triage statuses an incident can have, in workflow order.
STATUSES: tuple[str, ...] = ("new", "investigating", "contained", "closed", "false_positive")

_SERIAL = {"sqlite": "INTEGER PRIMARY KEY AUTOINCREMENT", "postgresql": "BIGSERIAL PRIMARY KEY"}

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: runs, alerts, incidents, entities, triage, notes, audit
    (
        """CREATE TABLE runs (
            id TEXT PRIMARY KEY, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
            schema_version TEXT, inputs TEXT NOT NULL, options TEXT NOT NULL, stats TEXT NOT NULL,
            alerts INTEGER NOT NULL, incidents INTEGER NOT NULL, ingests INTEGER NOT NULL DEFAULT 1)""",
        """CREATE TABLE alerts (
            id TEXT PRIMARY KEY, run_id TEXT NOT NULL REFERENCES runs(id), rule_id TEXT NOT NULL,
            title TEXT NOT NULL, level TEXT NOT NULL, detector TEXT, time TEXT NOT NULL,
            host TEXT, user_name TEXT, src_ip TEXT, dst_ip TEXT, process_guid TEXT,
            techniques TEXT NOT NULL, tactics TEXT NOT NULL, killchain_phases TEXT NOT NULL,
            ukc_phases TEXT NOT NULL, doc TEXT NOT NULL)""",
        "CREATE INDEX alerts_time ON alerts(time)",
        """CREATE TABLE run_alerts (
            run_id TEXT NOT NULL, alert_id TEXT NOT NULL, PRIMARY KEY (run_id, alert_id))""",
        """CREATE TABLE incidents (
            id TEXT PRIMARY KEY, run_id TEXT NOT NULL REFERENCES runs(id), title TEXT NOT NULL,
            level TEXT NOT NULL, score INTEGER NOT NULL, first_seen TEXT NOT NULL, last_seen TEXT NOT NULL,
            furthest_phase TEXT, phase_index INTEGER NOT NULL, killchain_phases TEXT NOT NULL,
            ukc_phases TEXT NOT NULL, tactics TEXT NOT NULL, alert_count INTEGER NOT NULL,
            hosts TEXT NOT NULL, users TEXT NOT NULL, doc TEXT NOT NULL)""",
        "CREATE INDEX incidents_score ON incidents(score)",
        """CREATE TABLE incident_alerts (
            incident_id TEXT NOT NULL, alert_id TEXT NOT NULL, PRIMARY KEY (incident_id, alert_id))""",
        "CREATE TABLE entities (kind TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (kind, value))",
        """CREATE TABLE incident_entities (
            incident_id TEXT NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL,
            PRIMARY KEY (incident_id, kind, value))""",
        "CREATE INDEX incident_entities_value ON incident_entities(kind, value)",
        """CREATE TABLE triage (
            incident_id TEXT PRIMARY KEY, status TEXT NOT NULL, assignee TEXT,
            updated_at TEXT NOT NULL, updated_by TEXT NOT NULL)""",
        """CREATE TABLE notes (
            id {serial}, incident_id TEXT NOT NULL, author TEXT NOT NULL, body TEXT NOT NULL,
            created_at TEXT NOT NULL)""",
        """CREATE TABLE audit (
            id {serial}, incident_id TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
            old_value TEXT, new_value TEXT, at TEXT NOT NULL)""",
        "CREATE INDEX audit_incident ON audit(incident_id)",
    ),
)


def statements(step: tuple[str, ...], dialect: str) -> list[str]:
    """The statements of one migration step spelled for ``dialect`` (``sqlite`` or ``postgresql``)."""
    return [s.replace("{serial}", _SERIAL[dialect]) for s in step]


def latest_version() -> int:
    return len(MIGRATIONS)
