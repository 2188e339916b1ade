"""Every detector of ``hunt``, run incrementally: per new event, and per tick over bounded windows.

* Per event, on each new batch: the Sigma rules, and the detectors that decide on one event
  (sensor verdicts, indicator matching). Their alerts cite that event only, so each is raised once.
* Per tick, over windows (:mod:`.windows`): Sigma correlation rules over the kept base-rule
  matches, and the behavioural analytics over recent events; their alerts are merged by
  :class:`.findings.FindingBook` so a finding re-evaluated on later ticks stays one alert.
  The analytics pace themselves: after an evaluation that took ``d`` seconds the next one waits
  at least ``ANALYTICS_PACE * d`` (every tick for small windows; a window of hundreds of thousands
  of connections is re-evaluated every few tens of seconds, so the watcher keeps up with reading).

The windows are restored from and saved to the state folder (:mod:`.snapshot`) by the watcher.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta

import polars as pl

from chainbreaker.alerts import Alert
from chainbreaker.detect.analytics import AnalyticsDetector
from chainbreaker.detect.base import Detector
from chainbreaker.detect.sigma.detector import SigmaDetector
from chainbreaker.live.findings import FindingBook
from chainbreaker.live.state import WatchState
from chainbreaker.live.windows import AnalyticsWindow, CorrelationWindow

SIGMA = "sigma:"
ANALYTICS = "analytics:"
#: Wait this many times the last analytics evaluation's duration before the next one.
ANALYTICS_PACE = 4.0


class LiveDetection:
    def __init__(
        self,
        sigma: SigmaDetector,
        detectors: Sequence[Detector],
        state: WatchState,
        window_rows: dict[str, pl.DataFrame],
        analytics_window: timedelta | None = None,
    ) -> None:
        self.sigma = sigma
        sigma.min_rows = 1  # evaluate every tick's events at once, however few
        self.state = state
        self.per_event = [d for d in detectors if not isinstance(d, AnalyticsDetector)]
        analytics = next((d for d in detectors if isinstance(d, AnalyticsDetector)), None)
        restored = {k[len(SIGMA) :]: v for k, v in window_rows.items() if k.startswith(SIGMA)}
        self.correlation = CorrelationWindow(sigma, restored)
        self.analytics: AnalyticsWindow | None = None
        if analytics is not None:
            rows = {k[len(ANALYTICS) :]: v for k, v in window_rows.items() if k.startswith(ANALYTICS)}
            self.analytics = AnalyticsWindow(analytics, analytics_window, rows)
        self.book = FindingBook(state.findings, state.alerts)
        self._fresh_analytics = bool(self.analytics and self.analytics.rows)  # may be unevaluated
        self._analytics_due = 0.0  # time.monotonic() from which the analytics may run again
        self.dirty = False  # windows changed since the last commit

    @property
    def horizon(self) -> timedelta:
        window = self.analytics.window if self.analytics is not None else timedelta(0)
        return max(self.correlation.horizon, window)

    def observe(self, batches: Sequence[pl.DataFrame]) -> list[Alert]:
        """Per-event detectors over new batches; their alerts are appended to the state."""
        alerts: list[Alert] = []
        for batch in batches:
            if not batch.height:
                continue
            alerts += self.sigma.observe(batch)
            for detector in self.per_event:
                alerts += detector.observe(batch)
            if self.analytics is not None and self.analytics.add(batch):
                self._fresh_analytics = True
                self.dirty = True  # saved with the positions of these events, even if evaluated later
        self.state.alerts.extend(alerts)
        return alerts

    @property
    def pending(self) -> bool:
        """Rows wait for an analytics evaluation that was put off (see the module docstring)."""
        return self._fresh_analytics

    def force_analytics(self) -> None:
        """Let the next :meth:`windows` evaluate the analytics whatever the pace (at shutdown)."""
        self._analytics_due = 0.0

    def windows(self) -> list[Alert]:
        """Re-evaluate the windows that received rows; return alerts added to or changed in the state."""
        changed: list[Alert] = []
        if self.correlation.absorb():
            found = self.correlation.evaluate()
            if self.correlation.newest is not None:
                changed += self.book.merge(found, self.correlation.newest, self.correlation.timespan)
            self.correlation.prune()
            self.dirty = True
        if self.analytics is not None and self._fresh_analytics and time.monotonic() >= self._analytics_due:
            self._fresh_analytics = False
            started = time.monotonic()
            found = self.analytics.evaluate()
            if self.analytics.newest is not None:
                changed += self.book.merge(found, self.analytics.newest)
            self.analytics.prune()
            ended = time.monotonic()
            self._analytics_due = ended + ANALYTICS_PACE * (ended - started)
            self.dirty = True
        if self.dirty:
            newest = max(
                (n for n in (self.correlation.newest, self.analytics and self.analytics.newest) if n),
                default=None,
            )
            if newest is not None:
                horizon = self.horizon
                self.book.expire(lambda finding: horizon, newest)
        return changed

    def window_rows(self) -> dict[str, pl.DataFrame]:
        """What to persist: every kept frame, by window name."""
        rows = {SIGMA + k: v for k, v in self.correlation.rows.items()}
        if self.analytics is not None:
            rows |= {ANALYTICS + k: v for k, v in self.analytics.rows.items()}
        return rows

    def skipped_reasons(self) -> list[str]:
        analytics = [self.analytics.detector] if self.analytics is not None else []
        return [r for d in (self.sigma, *self.per_event, *analytics) for r in d.skipped_reasons()]
