"""One alert per finding of a windowed detector, however many ticks re-evaluate it.

Correlation rules and analytics are re-evaluated every tick over a window of kept rows plus the
new ones. An unchanged finding comes back with the same deterministic alert id and is skipped. A
finding that grew (more failed logons in the same burst, more ports in the same scan bucket) comes
back with more evidence, hence another id. It is recognised as the same finding, not a new one:

* analytics: same analytic and entities (host, user, addresses), and it shares an evidence event
  with the finding's latest view (analytics cite their first events, so a growing bucket keeps
  citing them);
* correlation rules: same rule and group-by values (the host or user of a correlation alert may
  change as its episode grows), and its window ``[window_start, time]`` overlaps the finding's
  windows so far, or starts at most one ``timespan`` of the rule after them: one episode of
  overlapping windows whose strongest window moved on.

The stored alert then keeps its id (the store, incidents and the webhook see it grow in place)
and takes the new content when the new view holds more events: a view cut by the sliding window
never replaces a fuller one, and among views of equal count the first stays, as ``hunt`` reports
the earliest of equally strong correlation windows. A finding is forgotten once no evaluation re-found
it for longer than its detector's horizon; what comes later is a new finding.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from chainbreaker.alerts import Alert

Key = tuple[object, ...]
RefSet = frozenset[tuple[str, int]]


@dataclass
class Finding:
    key: Key
    alert_id: str  # the id the finding was first stored under
    refs: RefSet  # evidence of the latest view
    span: tuple[datetime, datetime] | None  # correlation windows: from the first start to the last end
    seen: datetime  # newest event time of the evaluation that last re-found it


def finding_key(alert: Alert) -> Key:
    if alert.detector == "sigma-correlation":
        return (alert.rule_id, tuple(pair for pair in alert.matched if pair[0] != "correlation_value"))
    return (alert.rule_id, alert.host, alert.user, alert.src_ip, alert.dst_ip)


def _span(alert: Alert) -> tuple[datetime, datetime] | None:
    start = alert.extra.get("window_start")
    if alert.detector == "sigma-correlation" and isinstance(start, str):
        return min(datetime.fromisoformat(start), alert.time), alert.time
    return None


def _refs(alert: Alert) -> RefSet:
    return frozenset((r.file, r.record) for r in alert.event_refs)


def _same(finding: Finding, refs: RefSet, span: tuple[datetime, datetime] | None, slack: timedelta) -> bool:
    if finding.refs & refs:
        return True
    if span is None or finding.span is None:
        return False
    return span[0] <= finding.span[1] + slack and finding.span[0] <= span[1]


class FindingBook:
    """Merges each evaluation's alerts into the watch's alert list (see the module docstring)."""

    def __init__(self, findings: list[Finding], alerts: list[Alert]) -> None:
        self.findings = findings  # the state's list, changed in place
        self.alerts = alerts  # the state's list, changed in place

    def merge(
        self, found: Iterable[Alert], now: datetime, slack: Callable[[str], timedelta] | None = None
    ) -> list[Alert]:
        """Add new findings, grow known ones; return the alerts added or changed.

        ``slack``: per rule id, how far after a correlation finding's windows its episode may go on
        (the rule's timespan)."""
        index = {alert.id: i for i, alert in enumerate(self.alerts)}
        by_key: dict[Key, list[Finding]] = {}
        for known in self.findings:
            by_key.setdefault(known.key, []).append(known)
        changed: list[Alert] = []
        for alert in found:
            key = finding_key(alert)
            refs = _refs(alert)
            span = _span(alert)
            candidates = by_key.get(key, [])
            finding: Finding | None = next((f for f in candidates if f.alert_id == alert.id), None)
            if finding is None:
                gap = slack(alert.rule_id) if slack is not None and span is not None else timedelta(0)
                finding = next((f for f in candidates if _same(f, refs, span, gap)), None)
            if finding is None:
                if alert.id in index:  # stored before (an older state without findings): keep it
                    continue
                finding = Finding(key, alert.id, refs, span, now)
                self.findings.append(finding)
                by_key.setdefault(key, []).append(finding)
                index[alert.id] = len(self.alerts)
                self.alerts.append(alert)
                changed.append(alert)
                continue
            finding.refs, finding.seen = refs, max(finding.seen, now)
            if span is not None and finding.span is not None:
                finding.span = (min(finding.span[0], span[0]), max(finding.span[1], span[1]))
            position = index.get(finding.alert_id)
            if position is None:
                continue
            stored = self.alerts[position]
            grown = dataclasses.replace(alert, id=finding.alert_id)
            if alert.count > stored.count:
                self.alerts[position] = grown
                changed.append(grown)
        return changed

    def expire(self, horizon: Callable[[Finding], timedelta], now: datetime) -> None:
        """Forget findings not re-found for longer than their horizon."""
        self.findings[:] = [f for f in self.findings if now - f.seen <= horizon(f)]
