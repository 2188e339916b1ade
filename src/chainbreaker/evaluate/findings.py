"""Findings to evaluate: the alerts and incidents of a result document (docs/OUTPUTS.md).

Either read from a file (``--result``) or produced by running the hunt pipeline on input paths.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from chainbreaker.errors import ConfigError
from chainbreaker.frameworks import canonical_tactic


@dataclass(frozen=True, slots=True)
class Finding:
    id: str
    rule_id: str
    time: datetime | None
    host: str | None
    tactics: frozenset[str]
    techniques: frozenset[str]
    phases: frozenset[str]
    refs: tuple[tuple[str, int], ...]  # (file, record) of every event the alert cites


@dataclass(frozen=True)
class Findings:
    alerts: tuple[Finding, ...]
    incidents: tuple[dict[str, Any], ...]
    source: str


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _refs(alert: dict[str, Any]) -> tuple[tuple[str, int], ...]:
    refs = alert.get("event_refs") or ([alert["event_ref"]] if alert.get("event_ref") else [])
    out = []
    for r in refs:
        if isinstance(r, dict) and r.get("file") is not None and r.get("record") is not None:
            out.append((str(r["file"]), int(r["record"])))
    return tuple(out)


def findings_from_document(doc: dict[str, Any], source: str = "<document>") -> Findings:
    if not isinstance(doc, dict) or not isinstance(doc.get("alerts"), list):
        raise ConfigError("not a result document (no 'alerts' list)", source)
    alerts = []
    for a in doc["alerts"]:
        tactics = frozenset(c for t in a.get("tactics") or [] if (c := canonical_tactic(t) or t))
        alerts.append(
            Finding(
                id=str(a.get("id", "")),
                rule_id=str(a.get("rule_id", "")),
                time=_time(a.get("time")),
                host=a.get("host"),
                tactics=tactics,
                techniques=frozenset(str(t).upper() for t in a.get("techniques") or []),
                phases=frozenset(a.get("killchain_phases") or []),
                refs=_refs(a),
            )
        )
    return Findings(tuple(alerts), tuple(doc.get("incidents") or []), source)


def load_findings(path: Path) -> Findings:
    try:
        doc = orjson.loads(path.read_bytes())
    except OSError as exc:
        raise ConfigError(f"cannot read result document ({exc.strerror})", str(path)) from None
    except orjson.JSONDecodeError as exc:
        raise ConfigError(f"result document is not JSON ({exc})", str(path)) from None
    return findings_from_document(doc, str(path))


def hunt_findings(paths: Sequence[Path]) -> Findings:
    """Run the hunt pipeline (chainbreaker.pipeline) on ``paths`` and take its result document."""
    from chainbreaker import pipeline

    result = pipeline.hunt([str(p) for p in paths])
    return findings_from_document(pipeline.result_document(result), "hunt " + " ".join(map(str, paths)))
