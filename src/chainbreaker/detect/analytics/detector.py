"""``AnalyticsDetector``: keeps the needed columns of the needed sources, runs every analytic at the end.

Rows: per source, only the rows some analytic declares it reads (``Analytic.rows``, e.g. a few event
ids of Windows Security); each analytic then gets only its own declared rows of its sources.

Memory: the kept rows of a source move to an Arrow IPC file in a temporary folder each time they
pass ``spill_rows``; ``finish`` reads back, per analytic, only that analytic's columns of its sources
(a projected ``pl.scan_ipc``), so the process holds one analytic's input at a time instead of every
kept column of every source (docs/ANALYTICS.md, "Memory").
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from collections import defaultdict
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from chainbreaker.alerts import Alert
from chainbreaker.detect.analytics.base import BASE_COLUMNS, MAX_REFS, Analytic, map_phases
from chainbreaker.detect.analytics.common import conform_columns, merge_wheres
from chainbreaker.detect.analytics.network import (
    CONN_COLUMNS,
    CONN_SOURCES,
    REDUCED_COLUMNS,
    expand,
    reduce_batch,
)
from chainbreaker.detect.base import Detector
from chainbreaker.detect.interest import Interest, Where, held
from chainbreaker.events import EventRef

#: Concatenate a source's latest kept batches into one chunk once this many have accumulated.
COMPACT_EVERY = 64

#: Rows of one source kept in memory before they are written to a spill file (None: never spill).
SPILL_ROWS = 100_000


class AnalyticsDetector(Detector):
    """Behavioural analytics over the whole time line.

    ``observe`` projects each batch early: only rows of sources some analytic needs, and of those
    only the rows the analytics declare (``source_rows``), only the columns those analytics read;
    connection records (Zeek conn, Suricata flow) are reduced further
    to time, reference, endpoints and sizes with Categorical strings (network.reduce_batch), so
    days of hourly-rotated conn logs fit in memory as one time line. Past ``spill_rows`` rows, a
    source's kept rows go to an Arrow IPC file (lz4) in a temporary folder. ``finish`` runs each
    analytic once over its own columns of its sources, read back from the spill files and memory.
    """

    name = "analytics"
    description = "behavioural analytics per kill-chain phase (scans, brute force, beaconing, ...)"

    def __init__(self, analytics: list[Analytic] | None = None, spill_rows: int | None = SPILL_ROWS) -> None:
        if analytics is None:
            from chainbreaker.detect.analytics.registry import build_analytics

            analytics = build_analytics()
        self.analytics = analytics
        self.spill_rows = spill_rows
        #: per source, the columns its analytics read (the base columns first); also what the
        #: Spark engine selects for this detector (engines/spark/analytics.py)
        self.source_columns: dict[str, list[str]] = defaultdict(list)
        for analytic in analytics:
            for source in analytic.sources:
                wanted = self.source_columns[source]
                where = analytic.rows_of(source)  # its column is read to select the rows
                for column in (*BASE_COLUMNS, *analytic.columns, *(where[:1] if where else ())):
                    if column not in wanted:
                        wanted.append(column)
        #: per source, the rows its analytics read: None (every row), or conditions, one per column,
        #: any of which keeps a row (the union of the analytics' ``rows``)
        self.source_rows: dict[str, tuple[Where, ...] | None] = {}
        for source in self.source_columns:
            declared = [a.rows_of(source) for a in analytics if source in a.sources]
            wheres = [w for w in declared if w is not None]
            self.source_rows[source] = merge_wheres(wheres) if len(wheres) == len(declared) else None
        self._keep_exprs: dict[tuple[object, ...], pl.Expr] = {}
        self._kept: dict[str, list[pl.DataFrame]] = defaultdict(list)
        self._fresh: dict[str, int] = defaultdict(int)
        self._rows: dict[str, int] = defaultdict(int)  # rows in memory per source
        self._spilled: dict[str, list[Path]] = defaultdict(list)
        self._seen: dict[str, dict[str, None]] = defaultdict(dict)  # kept columns, first-seen order
        self._folder: Path | None = None
        self._remove_folder: Callable[[], Any] | None = None  # a weakref.finalize: runs once at most
        self._skipped: list[str] = []

    def interest(self) -> Interest:
        """The rows the analytics read, the columns those analytics read.

        Sources read whole are ``sources``; the others' conditions are merged per column into
        ``where`` (an Interest's conditions hold for every source, so the workers may send rows
        of other sources or event ids too: ``observe`` drops them).
        """
        every = frozenset(s for s, wheres in self.source_rows.items() if wheres is None)
        where = merge_wheres(w for wheres in self.source_rows.values() if wheres for w in wheres)
        columns = {"source", *(c for c, _ in where)}.union(*self.source_columns.values())
        return Interest(columns=frozenset(columns), sources=every, where=where)

    def keeps(self, source: str, names: Collection[str]) -> pl.Expr:
        """The rows of ``source`` that its analytics read, in a frame with columns ``names`` (the
        filter ``observe`` applies; live mode's window keeps the same rows)."""
        wheres = self.source_rows.get(source) or ()
        key = (source, *(c in names for c, _ in wheres))
        keep = self._keep_exprs.get(key)
        if keep is None:  # built once per source and set of columns present: batches are many
            keep = pl.col("source") == source
            if wheres:
                terms = [held(w, names) for w in wheres]
                keep = keep & (terms[0] if len(terms) == 1 else pl.any_horizontal(terms))
            self._keep_exprs[key] = keep
        return keep

    def observe(self, batch: pl.DataFrame) -> list[Alert]:
        if batch.is_empty() or "source" not in batch.columns:
            return []
        present = batch.get_column("source").unique().drop_nulls().to_list()
        for source in present:
            columns = self.source_columns.get(source)
            if columns is None:
                continue
            # an empty frame is kept too: the source was seen (skipped_reasons), with its columns
            rows = batch.select([c for c in columns if c in batch.columns])  # with the filter's columns
            rows = rows.filter(self.keeps(source, rows.columns))
            if source in CONN_SOURCES:
                rows = reduce_batch(conform_columns(rows, CONN_COLUMNS))
            self._seen[source].update(dict.fromkeys(rows.columns))
            kept = self._kept[source]
            kept.append(rows)
            self._rows[source] += rows.height
            self._fresh[source] += 1
            if self.spill_rows is not None and self._rows[source] >= self.spill_rows:
                self._spill(source)
            elif self._fresh[source] >= COMPACT_EVERY:  # thousands of rotated files: few, large chunks
                kept[-COMPACT_EVERY:] = [pl.concat(kept[-COMPACT_EVERY:], how="diagonal_relaxed").rechunk()]
                self._fresh[source] = 0
        return []

    def _spill(self, source: str) -> None:
        """Write the source's rows in memory to the next spill file and drop them from memory."""
        if self._folder is None:
            self._folder = Path(tempfile.mkdtemp(prefix="chainbreaker-analytics-"))
            # removed by finish(), or when the detector is collected without finishing
            self._remove_folder = weakref.finalize(self, shutil.rmtree, self._folder, True)
        frame = pl.concat(self._kept[source], how="diagonal_relaxed")
        path = self._folder / f"{source}-{len(self._spilled[source]):05d}.arrow"  # source names: [a-z._]
        frame.write_ipc(path, compression="lz4")
        self._spilled[source].append(path)
        self._kept[source] = []
        self._rows[source] = self._fresh[source] = 0

    def events_for(self, analytic: Analytic) -> pl.DataFrame | None:
        """The kept events of the analytic's sources, its own columns only (None when there are none).

        Each call reads them afresh (spill files projected to those columns, plus the rows still in
        memory): the frame belongs to the caller and is the only copy that ``finish`` holds.
        """
        sources = sorted(analytic.sources)
        parts: list[pl.LazyFrame] = []
        for source in sources:  # in the order rows arrived: a source's spill files, then its rows in memory
            parts += [pl.scan_ipc(path) for path in self._spilled.get(source, [])]
            parts += [frame.lazy() for frame in self._kept.get(source, [])]
        if not parts:
            return None
        wanted = set(BASE_COLUMNS) | set(analytic.columns)
        if CONN_SOURCES & set(sources):
            wanted |= set(REDUCED_COLUMNS)  # what reduce_batch kept instead of the declared columns
        present = dict.fromkeys(c for s in sources for c in self._seen.get(s, {}))
        projected = [c for c in present if c in wanted]
        kept = pl.concat(parts, how="diagonal_relaxed")
        own = {s: analytic.rows_of(s) for s in sources}
        if any(w is not None for w in own.values()):  # the other analytics' rows of these sources go
            whole = [s for s, w in own.items() if w is None]
            chosen = [(pl.col("source") == s) & held(w, present) for s, w in own.items() if w is not None]
            kept = kept.filter(pl.any_horizontal([pl.col("source").is_in(whole), *chosen]))
        events = kept.select(projected).collect()
        if "failed" in events.columns:
            events = expand(events)
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
        self._clear()
        return sorted(alerts, key=lambda a: (a.time, a.rule_id))

    def _clear(self) -> None:
        """Forget the kept rows (live mode feeds the same detector again) and delete the spill files."""
        for state in (self._kept, self._fresh, self._rows, self._spilled, self._seen):
            state.clear()
        if self._remove_folder is not None:
            self._remove_folder()
        self._folder = self._remove_folder = None

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
