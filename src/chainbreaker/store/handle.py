"""``Store``: one object the CLI, the web app and ``hunt --store`` use to reach the result store."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from chainbreaker.store import ingest as _ingest
from chainbreaker.store import queries, triage, views
from chainbreaker.store.backend import Database, Row, is_postgres_url
from chainbreaker.store.queries import IncidentFilter

#: Where the embedded store lives when no --store is given.
DEFAULT_STORE = Path("~/.local/share/chainbreaker/store.db")


def default_store_path() -> Path:
    base = os.environ.get("CHAINBREAKER_STORE")
    return Path(base).expanduser() if base else DEFAULT_STORE.expanduser()


def resolve_target(target: str | os.PathLike[str] | None) -> str:
    """A PostgreSQL URL as given, a folder -> ``folder/store.db``, a file path as given."""
    if target is None:
        return str(default_store_path())
    text = str(target)
    if is_postgres_url(text):
        return text
    path = Path(text).expanduser()
    return str(path / "store.db") if path.is_dir() or text.endswith(("/", os.sep)) else str(path)


class Store:
    """The result store: ingest result documents, query them, record triage."""

    def __init__(self, target: str | os.PathLike[str] | None = None) -> None:
        self.db = Database(resolve_target(target))

    @property
    def dialect(self) -> str:
        return self.db.dialect

    @property
    def folder(self) -> Path | None:
        """The embedded store's folder (where the API token lives); None for PostgreSQL."""
        return Path(self.db.target).parent if self.db.dialect == "sqlite" else None

    def describe(self) -> str:
        return self.db.describe()

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # writes ------------------------------------------------------------------------------------
    def ingest(self, result: Mapping[str, Any], meta: Mapping[str, Any] | None = None) -> str:
        return _ingest.ingest(self.db, result, meta)

    def set_triage(
        self, incident_id: str, actor: str, status: str | None = None, assignee: str | None = None
    ) -> Row:
        return triage.set_triage(self.db, incident_id, actor, status, assignee)

    def add_note(self, incident_id: str, actor: str, body: str) -> Row:
        return triage.add_note(self.db, incident_id, actor, body)

    # reads -------------------------------------------------------------------------------------
    def schema_version(self) -> int:
        return self.db.version()

    def incidents(self, flt: IncidentFilter | None = None) -> list[Row]:
        return queries.list_incidents(self.db, flt or IncidentFilter())

    def incident(self, incident_id: str) -> Row:
        return queries.get_incident(self.db, incident_id)

    def incident_alerts(self, incident_id: str) -> list[Row]:
        return queries.incident_alerts(self.db, incident_id)

    def incident_graph(self, incident_id: str) -> Row:
        return views.entity_graph(self.incident(incident_id), self.incident_alerts(incident_id))

    def audit(self, incident_id: str) -> list[Row]:
        return triage.audit_trail(self.db, incident_id)

    def alert(self, alert_id: str) -> Row:
        return queries.get_alert(self.db, alert_id)

    def alerts(
        self, run_id: str | None = None, rule_id: str | None = None, limit: int = 500, offset: int = 0
    ) -> list[Row]:
        return queries.list_alerts(self.db, run_id, rule_id, limit, offset)

    def runs(self) -> list[Row]:
        return queries.list_runs(self.db)

    def run(self, run_id: str) -> Row:
        return queries.get_run(self.db, run_id)

    def latest_run_id(self) -> str | None:
        return queries.latest_run_id(self.db)

    def _run_alerts(self, run_id: str) -> list[Row]:
        self.run(run_id)  # raises UnknownIdError for an unknown run
        return queries.run_alert_tags(self.db, run_id)

    def matrix(self, run_id: str, only_hit: bool = False) -> Row:
        return {"run_id": run_id, **views.matrix(self._run_alerts(run_id), only_hit)}

    def coverage(self, run_id: str) -> Row:
        return {"run_id": run_id, **views.coverage(self._run_alerts(run_id))}

    def counts(self) -> Row:
        return queries.counts(self.db)
