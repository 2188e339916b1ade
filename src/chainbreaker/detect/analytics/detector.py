"""``AnalyticsDetector``: keeps the needed columns of the needed sources, runs every analytic at the end."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import polars as pl

from chainbreaker.alerts import Alert
from chainbreaker.detect.analytics.base import BASE_COLUMNS, MAX_REFS, Analytic, map_phases
from chainbreaker.detect.analytics.common import conform_columns
from chainbreaker.detect.analytics.network import CONN_COLUMNS, CONN_SOURCES, expand, reduce_batch
from chainbreaker.detect.base import Detector
from chainbreaker.events import EventRef

#: Concatenate a source's latest kept batches into one chunk once this many have accumulated.
COMPACT_EVERY = 64


class AnalyticsDetector(Detector):
    """Behavioural analytics over the whole time line.

    ``observe`` projects each batch early: only rows of sources some analytic needs, only the
    columns those analytics read; connection records (Zeek conn, Suricata flow) are reduced further
    to time, reference, endpoints and sizes with Categorical strings (network.reduce_batch), so
    days of hourly-rotated conn logs fit in memory as one time line. ``finish`` concatenates per
    source and runs each analytic once.
    """

    name = "analytics"
    description = "behavioural analytics per kill-chain phase (scans, brute force, beaconing, ...)"

    def __init__(self, analytics: list[Analytic] | None = None) -> None:
        if analytics is None:
            from chainbreaker.detect.analytics.registry import build_analytics

            analytics = build_analytics()
        self.analytics = analytics
        self._columns: dict[str, list[str]] = defaultdict(list)
        for analytic in analytics:
            for source in analytic.sources:
                wanted = self._columns[source]
                for column in (*BASE_COLUMNS, *analytic.columns):
                    if column not in wanted:
                        wanted.append(column)
        self._kept: dict[str, list[pl.DataFrame]] = defaultdict(list)
        self._cache: dict[frozenset[str], pl.DataFrame] = {}
        self._fresh: dict[str, int] = defaultdict(int)
        self._skipped: list[str] = []

    def observe(self, batch: pl.DataFrame) -> list[Alert]:
        if batch.is_empty() or "source" not in batch.columns:
            return []
        present = batch.get_column("source").unique().drop_nulls().to_list()
        for source in present:
            columns = self._columns.get(source)
            if columns is None:
                continue
            rows = batch.filter(pl.col("source") == source)
            rows = rows.select([c for c in columns if c in rows.columns])
            if source in CONN_SOURCES:
                rows = reduce_batch(conform_columns(rows, CONN_COLUMNS))
            kept = self._kept[source]
            kept.append(rows)
            self._fresh[source] += 1
            if self._fresh[source] >= COMPACT_EVERY:  # thousands of rotated files: few, large chunks
                kept[-COMPACT_EVERY:] = [pl.concat(kept[-COMPACT_EVERY:], how="diagonal_relaxed").rechunk()]
                self._fresh[source] = 0
        return []

    def events_for(self, analytic: Analytic) -> pl.DataFrame | None:
        """The kept events of the analytic's sources (None when there are none)."""
        key = frozenset(analytic.sources)
        events = self._cache.get(key)
        if events is None:
            frames = [f for s in sorted(analytic.sources) for f in self._kept.get(s, [])]
            if not frames:
                return None
            events = pl.concat(frames, how="diagonal_relaxed")
            if "failed" in events.columns:
                events = expand(events)
            self._cache[key] = events
        missing = [c for c in analytic.columns if c not in events.columns]
        return events.with_columns(pl.lit(None, dtype=pl.String).alias(c) for c in missing)

    def finish(self) -> list[Alert]:
        alerts: list[Alert] = []
        self._skipped = []
        for analytic in self.analytics:
            events = self.events_for(analytic)
            if events is None:
                self._skipped.append(f"{analytic.id}: no {' / '.join(sorted(analytic.sources))} data")
                continue
            try:
                findings = analytic.run(events)
            except pl.exceptions.PolarsError as exc:  # one broken analytic must not lose the others' alerts
                self._skipped.append(
                    f"{analytic.id}: failed ({type(exc).__name__}: {str(exc).splitlines()[0]})"
                )
                continue
            alerts.extend(findings_to_alerts(analytic, findings))
        self._kept.clear()
        self._cache.clear()
        return sorted(alerts, key=lambda a: (a.time, a.rule_id))

    def skipped_reasons(self) -> list[str]:
        return list(self._skipped)


def findings_to_alerts(analytic: Analytic, findings: pl.DataFrame) -> list[Alert]:
    """One Alert per findings row (findings are few: aggregation happened in Polars)."""
    alerts = []
    for row in findings.iter_rows(named=True):
        techniques = tuple(row.get("techniques") or analytic.techniques)
        tactics = tuple(row.get("tactics") or analytic.tactics)  # a finding may narrow the tactics
        killchain, ukc = map_phases(techniques, tactics, analytic.phases)
        refs = tuple(
            EventRef(r["file"], r["record"]) for r in (row["refs"] or [])[:MAX_REFS] if r and r["file"]
        )
        extra: dict[str, Any] = {}
        if row.get("score") is not None:
            extra["score"] = round(float(row["score"]), 4)
        time = row["time"] or datetime.fromtimestamp(0, UTC)
        alerts.append(
            Alert(
                rule_id=analytic.id,
                title=analytic.name,
                level=analytic.level,
                detector="analytic",
                time=time,
                event_refs=refs,
                techniques=techniques,
                tactics=tactics,
                killchain_phases=killchain,
                ukc_phases=ukc,
                host=row.get("host"),
                user=row.get("user"),
                src_ip=row.get("src_ip"),
                dst_ip=row.get("dst_ip"),
                description=row["explanation"] or f"{analytic.name}: {row['count']} event(s)",
                count=int(row["count"]),
                extra=extra,
            )
        )
    return alerts
