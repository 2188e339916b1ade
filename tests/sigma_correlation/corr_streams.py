"""Builders for hand-made event streams and correlation rules (loaded with pySigma)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule

from chainbreaker.detect.sigma.correlation_load import split_range
from chainbreaker.events import conform

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)

#: Base rules the correlation tests refer to; their detection is irrelevant here (the engine matched).
BASE_RULES = ("rule_a", "rule_b", "rule_c", "failed", "success")


def base_rule(name: str) -> dict[str, Any]:
    return {
        "title": f"Base {name}",
        "id": f"00000000-0000-4000-8000-{BASE_RULES.index(name):012d}",
        "name": name,
        "logsource": {"product": "windows", "service": "security"},
        "detection": {"sel": {"EventID": 1}, "condition": "sel"},
        "level": "low",
    }


def load(*correlations: dict[str, Any]) -> list[SigmaCorrelationRule]:
    docs = [base_rule(n) for n in BASE_RULES] + [split_range(c) for c in correlations]
    collection = SigmaCollection.from_dicts(docs)
    return [r for r in collection if isinstance(r, SigmaCorrelationRule)]


def load_unresolved(*correlations: dict[str, Any]) -> list[SigmaCorrelationRule]:
    """Like :func:`load`, references left unresolved (as the loader does): they may name nothing."""
    docs = [base_rule(n) for n in BASE_RULES] + [split_range(c) for c in correlations]
    collection = SigmaCollection.from_dicts(docs, resolve_references=False)
    return [r for r in collection if isinstance(r, SigmaCorrelationRule)]


def correlation(
    kind: str,
    rules: list[str] | None,
    timespan: str = "5m",
    name: str | None = None,
    number: int = 1,
    **extra: Any,
) -> dict[str, Any]:
    """A correlation rule document; ``group_by=[...]`` becomes ``group-by``."""
    body: dict[str, Any] = {"type": kind, "timespan": timespan}
    if rules is not None:
        body["rules"] = rules
    body.update({k.replace("_", "-"): v for k, v in extra.items()})
    doc: dict[str, Any] = {
        "title": f"Correlation {kind} {number}",
        "id": f"11111111-0000-4000-8000-{number:012d}",
        "level": "high",
        "tags": ["attack.credential-access", "attack.t1110"],
        "correlation": body,
    }
    if name:
        doc["name"] = name
    return doc


def events(*rows: tuple[float, dict[str, Any]], file: str = "test.evtx", first: int = 1) -> pl.DataFrame:
    """Matched rows: (seconds after T0, fields). Each row gets an event_ref with a distinct record."""
    records = [
        {
            "timestamp": T0 + timedelta(seconds=offset),
            "event_ref": {"file": file, "record": first + i},
            **fields,
        }
        for i, (offset, fields) in enumerate(rows)
    ]
    return conform(pl.DataFrame(records))


def matches(**frames: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Keyed by name and id, as the engine hands them over."""
    out: dict[str, pl.DataFrame] = {}
    for name, frame in frames.items():
        out[name] = frame
        out[base_rule(name)["id"]] = frame
    return out
