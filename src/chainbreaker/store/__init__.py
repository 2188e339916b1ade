"""The result store: runs, alerts, incidents, entities and triage (docs/WORKBENCH.md).

Embedded SQLite (stdlib, WAL) by default; PostgreSQL (psycopg 3) for a ``postgresql://`` URL.
``hunt --store`` calls :func:`save_result`; ``chainbreaker serve`` reads and triages through
:class:`Store`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from chainbreaker.store.handle import Store, default_store_path, resolve_target
from chainbreaker.store.ingest import run_id
from chainbreaker.store.queries import SORT_KEYS, IncidentFilter
from chainbreaker.store.schema import STATUSES


def save_result(
    store: str | os.PathLike[str] | None, result: Mapping[str, Any], run_meta: Mapping[str, Any] | None = None
) -> str:
    """Ingest ``result`` (a result document) into the store at ``store``; return the run id.

    ``run_meta`` may hold ``inputs`` (the paths hunted: their contents key the run), ``options``
    (the hunt's options, part of the key) and ``run_id`` (to force an id).
    """
    with Store(store) as handle:
        return handle.ingest(result, run_meta)


__all__ = [
    "SORT_KEYS",
    "STATUSES",
    "IncidentFilter",
    "Store",
    "default_store_path",
    "resolve_target",
    "run_id",
    "save_result",
]
