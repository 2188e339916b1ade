"""Helpers for the analytics tests: small event frames conformed like a reader's batches, and a runner.

Imported by basename (``from analytics_events import ...``), like tests/sigma_correlation/corr_streams.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from chainbreaker.alerts import Alert
from chainbreaker.detect.analytics import AnalyticsDetector, analytic_class
from chainbreaker.events import conform

T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def batch(rows: list[dict[str, Any]], file: str = "test.log") -> pl.DataFrame:
    """Rows -> a conformed batch; every row gets a timestamp (default T0) and an event_ref."""
    filled = []
    for number, row in enumerate(rows, start=1):
        row = {"timestamp": T0, **row}
        row.setdefault("event_ref", {"file": file, "record": number})
        filled.append({k: (str(v) if k not in _TYPED and v is not None else v) for k, v in row.items()})
    return conform(pl.DataFrame(filled, infer_schema_length=None))


_TYPED = {"timestamp", "event_ref", "event_code", "src_port", "dst_port", "process_pid", "parent_process_pid"}


def run(analytic_id: str, *batches: pl.DataFrame, **params: Any) -> list[Alert]:
    """Run one analytic (with parameter overrides) through AnalyticsDetector over the batches."""
    cls = analytic_class(analytic_id)
    analytic = cls(cls.params_type(**params)) if params else cls()
    detector = AnalyticsDetector([analytic])
    for b in batches:
        assert detector.observe(b) == []
    return detector.finish()
