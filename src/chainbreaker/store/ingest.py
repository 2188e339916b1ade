"""Ingest a result document (docs/OUTPUTS.md) into the store, idempotently.

Alerts are keyed by their deterministic id, incidents by theirs, runs by a content hash of their
inputs (:func:`run_id`): ingesting the same files again updates rows in place and never duplicates.
Analysts' triage state is kept apart (tables ``triage``, ``notes``, ``audit``) and is never touched
by an ingest.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import orjson

from chainbreaker.frameworks.killchain import find_killchain_phase
from chainbreaker.store.backend import Database, now

_CHUNK = 1 << 20


def dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _files(paths: Iterable[str]) -> list[Path]:
    found: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            for root, _dirs, files in os.walk(path):
                found.extend(Path(root) / f for f in files)
        elif path.is_file():
            found.append(path)
    return found


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def run_id(result: Mapping[str, Any], meta: Mapping[str, Any]) -> str:
    """``RUN-`` + a SHA-256 over the inputs' contents (order- and path-independent) and the options.

    Without readable inputs (a result document handed over on its own) the hash covers the ids of
    its alerts and incidents instead, which are deterministic too.
    """
    digest = hashlib.sha256()
    files = _files(str(p) for p in meta.get("inputs") or ())
    if files:
        for file_hash in sorted(_file_digest(f) for f in files):
            digest.update(f"file|{file_hash}\n".encode())
    else:
        ids = sorted(str(a.get("id")) for a in result.get("alerts") or [])
        ids += sorted(str(i.get("id")) for i in result.get("incidents") or [])
        digest.update(("doc|" + "|".join(ids)).encode())
    digest.update(b"options|" + orjson.dumps(meta.get("options") or {}, option=orjson.OPT_SORT_KEYS))
    return "RUN-" + digest.hexdigest()[:16]


def _alert_row(alert: Mapping[str, Any], run: str) -> tuple[Any, ...]:
    return (
        str(alert["id"]),
        run,
        str(alert.get("rule_id") or ""),
        str(alert.get("title") or alert.get("rule_id") or ""),
        str(alert.get("level") or "medium"),
        alert.get("detector"),
        str(alert.get("time") or ""),
        alert.get("host"),
        alert.get("user"),
        alert.get("src_ip"),
        alert.get("dst_ip"),
        alert.get("process_guid"),
        dumps(alert.get("techniques") or []),
        dumps(alert.get("tactics") or []),
        dumps(alert.get("killchain_phases") or []),
        dumps(alert.get("ukc_phases") or []),
        dumps(alert),
    )


def _furthest(incident: Mapping[str, Any]) -> tuple[str | None, int]:
    furthest = ((incident.get("progression") or {}).get("killchain") or {}).get("furthest")
    if furthest is None and incident.get("killchain_phases"):
        furthest = incident["killchain_phases"][-1]
    phase = find_killchain_phase(furthest) if furthest else None
    return furthest, phase.ocsf_id if phase else 0


def _incident_row(incident: Mapping[str, Any], run: str) -> tuple[Any, ...]:
    furthest, index = _furthest(incident)
    return (
        str(incident["id"]),
        run,
        str(incident.get("title") or incident["id"]),
        str(incident.get("level") or "medium"),
        int(incident.get("score") or 0),
        str(incident.get("first_seen") or ""),
        str(incident.get("last_seen") or incident.get("first_seen") or ""),
        furthest,
        index,
        dumps(incident.get("killchain_phases") or []),
        dumps(incident.get("ukc_phases") or []),
        dumps(incident.get("tactics") or []),
        len(incident.get("alert_ids") or []),
        dumps(incident.get("hosts") or []),
        dumps(incident.get("users") or []),
        dumps(incident),
    )


def incident_entities(
    incident: Mapping[str, Any], alerts: Mapping[str, Mapping[str, Any]]
) -> set[tuple[str, str]]:
    """(kind, value) pairs: hosts, users, addresses, domains, and the processes of its alerts."""
    found: set[tuple[str, str]] = set()
    for kind, key in (("host", "hosts"), ("user", "users"), ("ip", "addresses"), ("domain", "domains")):
        found.update((kind, str(v)) for v in incident.get(key) or [] if v)
    for alert_id in incident.get("alert_ids") or []:
        alert = alerts.get(alert_id)
        if alert and alert.get("process_guid"):
            found.add(("process", str(alert["process_guid"])))
    return found


_ALERT_SQL = """INSERT INTO alerts (id, run_id, rule_id, title, level, detector, time, host, user_name,
    src_ip, dst_ip, process_guid, techniques, tactics, killchain_phases, ukc_phases, doc)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (id) DO UPDATE SET run_id = excluded.run_id, title = excluded.title,
    level = excluded.level, techniques = excluded.techniques, tactics = excluded.tactics,
    killchain_phases = excluded.killchain_phases, ukc_phases = excluded.ukc_phases, doc = excluded.doc"""

_INCIDENT_SQL = """INSERT INTO incidents (id, run_id, title, level, score, first_seen, last_seen,
    furthest_phase, phase_index, killchain_phases, ukc_phases, tactics, alert_count, hosts, users, doc)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (id) DO UPDATE SET run_id = excluded.run_id, title = excluded.title,
    level = excluded.level, score = excluded.score, first_seen = excluded.first_seen,
    last_seen = excluded.last_seen, furthest_phase = excluded.furthest_phase,
    phase_index = excluded.phase_index, killchain_phases = excluded.killchain_phases,
    ukc_phases = excluded.ukc_phases, tactics = excluded.tactics,
    alert_count = excluded.alert_count, hosts = excluded.hosts, users = excluded.users, doc = excluded.doc"""

_RUN_SQL = """INSERT INTO runs (id, created_at, updated_at, schema_version, inputs, options, stats,
    alerts, incidents, ingests) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
    ON CONFLICT (id) DO UPDATE SET updated_at = excluded.updated_at, stats = excluded.stats,
    alerts = excluded.alerts, incidents = excluded.incidents, ingests = runs.ingests + 1"""


def ingest(db: Database, result: Mapping[str, Any], meta: Mapping[str, Any] | None = None) -> str:
    """Upsert a result document as one run, in one transaction; return the run id."""
    meta = dict(meta or {})
    run = str(meta.get("run_id") or run_id(result, meta))
    alerts = [a for a in result.get("alerts") or [] if a.get("id")]
    incidents = [i for i in result.get("incidents") or [] if i.get("id")]
    by_id = {str(a["id"]): a for a in alerts}
    stamp = now()
    inputs = [str(Path(p).resolve()) for p in meta.get("inputs") or ()]  # raw-event reads check these
    with db.transaction():
        db.execute(
            _RUN_SQL,
            (
                run,
                stamp,
                stamp,
                str(result.get("schema_version") or ""),
                dumps(inputs),
                dumps(meta.get("options") or {}),
                dumps(result.get("stats") or {}),
                len(alerts),
                len(incidents),
            ),
        )
        db.executemany(_ALERT_SQL, [_alert_row(a, run) for a in alerts])
        db.executemany(
            "INSERT INTO run_alerts (run_id, alert_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
            [(run, str(a["id"])) for a in alerts],
        )
        db.executemany(_INCIDENT_SQL, [_incident_row(i, run) for i in incidents])
        links, ents, entities = [], [], set()
        for inc in incidents:
            links += [(str(inc["id"]), str(a)) for a in inc.get("alert_ids") or []]
            for kind, value in incident_entities(inc, by_id):
                ents.append((str(inc["id"]), kind, value))
                entities.add((kind, value))
        db.executemany(
            "INSERT INTO incident_alerts (incident_id, alert_id) VALUES (?, ?) ON CONFLICT DO NOTHING", links
        )
        db.executemany(
            "INSERT INTO incident_entities (incident_id, kind, value) VALUES (?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            ents,
        )
        db.executemany(
            "INSERT INTO entities (kind, value) VALUES (?, ?) ON CONFLICT DO NOTHING", sorted(entities)
        )
    return run
