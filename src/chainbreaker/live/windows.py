"""The bounded history live mode keeps for windowed detectors, re-evaluated every tick.

* :class:`CorrelationWindow`: the rows each Sigma correlation rule refers to (the base-rule
  matches the Sigma detector keeps), for as long as a correlation can still use them: the
  *horizon*, the longest timespan of any correlation rule, chains added up (a ``temporal_ordered``
  rule of 30m over a 5m ``event_count`` rule needs 35m of base rows), counted back from the newest
  kept row of the same rule.
* :class:`AnalyticsWindow`: the events of the sources the behavioural analytics read (only the
  columns they read), for a sliding window per source counted back from that source's newest
  event and aligned down to a multiple of itself (analytics count in buckets aligned on the epoch,
  ``dt.truncate``: an aligned cut never leaves a partial bucket that would look like a new finding).

Both evaluate over kept + new rows, then prune; alerts go through :mod:`.findings`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

import polars as pl
from sigma.correlations import SigmaCorrelationRule

from chainbreaker.alerts import Alert
from chainbreaker.detect.analytics import Analytic, AnalyticsDetector
from chainbreaker.detect.sigma.correlation import evaluate_correlations
from chainbreaker.detect.sigma.correlation_alerts import rule_names
from chainbreaker.detect.sigma.detector import SigmaDetector
from chainbreaker.durations import duration_seconds
from chainbreaker.events import concat

#: Analytics window when no analytic declares a longer bucket.
DEFAULT_ANALYTICS_WINDOW = timedelta(hours=1)


def parse_duration(text: str) -> timedelta | None:
    """A duration of fixed units (``1h``, ``15m``, ``1h30m``; :mod:`chainbreaker.durations`), else None."""
    seconds = duration_seconds(text)
    return None if seconds is None else timedelta(seconds=seconds)


def _newest(frame: pl.DataFrame) -> datetime | None:
    value = frame.get_column("timestamp").max() if frame.height else None
    return value if isinstance(value, datetime) else None


def correlation_horizon(correlations: Sequence[SigmaCorrelationRule]) -> timedelta:
    """The longest chain of timespans: how far back a correlation can reach from its newest row."""
    by_name = {name: corr for corr in correlations for name in rule_names(corr)}
    reach: dict[int, int] = {}

    def seconds(corr: SigmaCorrelationRule, depth: int = 0) -> int:
        if id(corr) not in reach:
            inner = [by_name[r.reference] for r in corr.rules or [] if r.reference in by_name]
            deeper = [seconds(c, depth + 1) for c in inner if depth < len(correlations)]  # cycles: bounded
            reach[id(corr)] = corr.timespan.seconds + max(deeper, default=0)
        return reach[id(corr)]

    return timedelta(seconds=max((seconds(c) for c in correlations), default=0))


class CorrelationWindow:
    """Rows of the rules correlations refer to, by rule id or name (as the Sigma detector keeps them)."""

    def __init__(self, detector: SigmaDetector, rows: Mapping[str, pl.DataFrame] | None = None) -> None:
        self.detector = detector
        self.correlations = detector.correlations
        self.horizon = correlation_horizon(self.correlations)
        self.timespans = {
            name: timedelta(seconds=c.timespan.seconds)
            for c in self.correlations
            for name in rule_names(c) | {c.title}  # an alert's rule_id: the id, else the name or title
        }
        self.rows: dict[str, pl.DataFrame] = dict(rows or {})
        self.newest: datetime | None = None

    def absorb(self) -> bool:
        """Take the rows the detector kept since the last call; True when there were any.

        The detector keeps referenced matches until its ``finish``, which live mode never calls;
        the window takes them over each tick instead.
        """
        kept = self.detector.take_kept()
        fresh = False
        for name, frames in kept.items():
            frames = [f for f in frames if f.height]
            if not frames:
                continue
            fresh = True
            old = self.rows.get(name)
            self.rows[name] = concat([old, *frames] if old is not None else frames)
        return fresh

    def timespan(self, rule_id: str) -> timedelta:
        """The timespan of the correlation rule with this id or name (0 for another rule)."""
        return self.timespans.get(rule_id, timedelta(0))

    def evaluate(self) -> list[Alert]:
        if not self.correlations or not self.rows:
            return []
        alerts = evaluate_correlations(self.correlations, self.rows)
        newest = [n for n in (_newest(f) for f in self.rows.values()) if n is not None]
        self.newest = max(newest) if newest else None
        return alerts

    def prune(self) -> None:
        """Drop rows older than the horizon before their rule's newest row (and rows without time)."""
        for name, frame in list(self.rows.items()):
            frame = frame.filter(pl.col("timestamp").is_not_null())
            newest = _newest(frame)
            if newest is None:
                del self.rows[name]
                continue
            self.rows[name] = frame.filter(pl.col("timestamp") >= newest - self.horizon)


class AnalyticsWindow:
    """Recent events per source, for the analytics of one :class:`AnalyticsDetector`."""

    def __init__(
        self,
        detector: AnalyticsDetector,
        window: timedelta | None = None,
        rows: Mapping[str, pl.DataFrame] | None = None,
    ) -> None:
        self.detector = detector
        self.window = window or default_analytics_window(detector.analytics)
        self.columns = detector.source_columns  # per source, what its analytics read
        self.rows: dict[str, pl.DataFrame] = dict(rows or {})
        self.newest: datetime | None = None

    def add(self, batch: pl.DataFrame) -> bool:
        """Keep the batch's events that the analytics read (their sources, the rows they declare);
        True when there were any."""
        if batch.is_empty() or "source" not in batch.columns:
            return False
        fresh = False
        for source in batch.get_column("source").unique().drop_nulls().to_list():
            columns = self.columns.get(source)
            if columns is None:
                continue
            rows = batch.select([c for c in columns if c in batch.columns])  # with the row filter's columns
            # only the rows the source's analytics declare they read (Analytic.rows), as in a hunt
            rows = rows.filter(self.detector.keeps(source, rows.columns) & pl.col("timestamp").is_not_null())
            if rows.is_empty():
                continue
            old = self.rows.get(source)
            self.rows[source] = concat([old, rows]) if old is not None else rows
            fresh = True
        return fresh

    def evaluate(self) -> list[Alert]:
        """Every analytic over the kept events (the detector is fed and finished like in a hunt)."""
        for frame in self.rows.values():
            self.detector.observe(frame)
        alerts = self.detector.finish()
        newest = [n for n in (_newest(f) for f in self.rows.values()) if n is not None]
        self.newest = max(newest) if newest else None
        return alerts

    def prune(self) -> None:
        step = self.window.total_seconds()
        for source, frame in list(self.rows.items()):
            newest = _newest(frame)
            if newest is None:
                del self.rows[source]
                continue
            start = (newest.timestamp() - step) // step * step  # aligned like dt.truncate(window)
            cut = datetime.fromtimestamp(start, UTC)
            self.rows[source] = frame.filter(pl.col("timestamp") >= cut).rechunk()


def default_analytics_window(analytics: Sequence[Analytic]) -> timedelta:
    """The longest ``window`` parameter of the analytics, at least :data:`DEFAULT_ANALYTICS_WINDOW`."""
    windows = [parse_duration(str(getattr(a.params, "window", ""))) for a in analytics]
    return max([DEFAULT_ANALYTICS_WINDOW, *(w for w in windows if w is not None)])
