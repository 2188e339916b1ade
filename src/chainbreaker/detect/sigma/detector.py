"""The Sigma detector: batches in, alerts out; correlation rules evaluated at the end of the stream.

Two ways to run the rules. In a hunt, :meth:`SigmaDetector.worker_transform` gives the reader
stream a transform (:class:`WorkerEvaluator`) that evaluates the rules inside the reader worker
processes (both cores, while they parse), a task's batches at a time: each worker tags its batches
with a private column of compact matches (rule index and matched fields per event) and sends
per round a tally (records, evaluations, log sources seen), and the main process only turns
tagged rows into alerts. Its :meth:`SigmaDetector.interest` is then the matched rows only, so a
hunt whose other detectors declare theirs sends no unmatched row. A batch that
arrives untagged (tests, ``--profile-rules``, callers without the transform) is evaluated here,
gathered into rounds of ``min_rows``. Both give the same alerts.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import polars as pl
from sigma.correlations import SigmaCorrelationRule

from chainbreaker.alerts import Alert
from chainbreaker.detect.base import Detector
from chainbreaker.detect.interest import Interest
from chainbreaker.detect.sigma.correlation import (
    evaluate_correlations,
    read_columns,
    rule_is_generated,
    suppressed_rules,
)
from chainbreaker.detect.sigma.engine import (
    Plan,
    RuleMatch,
    SigmaEngine,
    columns_of,
    drop_absent,
)
from chainbreaker.detect.sigma.rules import CompiledRule
from chainbreaker.detect.sigma.worker import (
    PRIVATE_PREFIX,
    ROW,
    WORKER_ROUND_FACTOR,
    Matched,
    WorkerEvaluator,
    WorkerRules,
    cited_fields,
    hits_column,
    matched_pairs,
    strip_private,
    tally_column,
)
from chainbreaker.events import EventRef, concat

__all__ = [  # the worker side lives in worker.py; its names callers use are re-exported here
    "MIN_EVALUATION_ROWS",
    "PRIVATE_PREFIX",
    "SigmaDetector",
    "WorkerEvaluator",
    "alerts_for",
    "hits_column",
    "strip_private",
    "tally_column",
]

#: Batches are gathered up to this many rows before evaluation: the per-partition cost of the
#: engine is paid per batch, so many small batches (one per small EVTX file) would waste it.
MIN_EVALUATION_ROWS = 50_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ALERT_COLUMNS = ("timestamp", "host", "user", "src_ip", "dst_ip", "process_guid", "parent_process_guid")


class SigmaDetector(Detector):
    name = "sigma"
    description = "Sigma rules (pySigma-parsed, compiled to Polars), plus Sigma correlation rules"

    def __init__(
        self,
        rules: list[CompiledRule],
        correlations: list[SigmaCorrelationRule] | None = None,
        profile: bool = False,
        min_rows: int = MIN_EVALUATION_ROWS,
        feeders: Iterable[str] = (),
    ) -> None:
        """``feeders``: ids of rules that run only to feed correlation rules (the hunt's selection
        rejected them, :meth:`~chainbreaker.detect.sigma.selection.Selection.select`): silent,
        whatever the correlations' ``generate`` says."""
        self.engine = SigmaEngine(rules, profile)
        self.correlations = list(correlations or [])
        by_correlations = suppressed_rules(self.correlations)
        self.suppressed = by_correlations | frozenset(feeders)
        self.referenced = {ref.reference for corr in self.correlations for ref in (corr.rules or [])} | set(
            by_correlations
        )
        self._kept_columns = read_columns(self.correlations)
        self.min_rows = min_rows
        self._pending: dict[int, tuple[Plan, list[pl.DataFrame]]] = {}  # by plan: narrow frames
        self._pending_rows = 0
        self._kept: dict[str, list[pl.DataFrame]] = {}
        self.records = 0
        self._token: str | None = None  # of the rule set the reader workers evaluate, if they do
        # One copy of each string and matched-fields tuple the alerts of worker-evaluated batches
        # hold (host, user, file names, field names and values repeat across many alerts).
        self._strings: dict[str, str] = {}
        self._matched: dict[str, Matched] = {}
        self._by_index: dict[int, tuple[CompiledRule, tuple[str, ...], bool]] = {}  # see _indexed

    def observe(self, batch: pl.DataFrame) -> list[Alert]:
        """Split the batch by plan at once (narrow frames), evaluate once enough rows are waiting."""
        if self._token is not None:
            if tally_column(self._token) in batch.columns:
                self._count(batch.get_column(tally_column(self._token))[0])
                return []
            if hits_column(self._token) in batch.columns:
                return self._tagged(batch, self._token)
        batch = strip_private(batch)  # tagged for another rule set: evaluate here
        if not batch.width:  # another rule set's tally
            return []
        self.records += batch.height
        for plan, frame in self.engine.split(batch):
            self._pending.setdefault(id(plan), (plan, []))[1].append(frame)
            self._pending_rows += frame.height
        return self._flush() if self._pending_rows >= self.min_rows else []

    def worker_transform(self) -> WorkerEvaluator | None:
        """A reader-stream transform evaluating these rules in the reader workers (None: evaluate here).

        The workers gather each task's batches into one round (up to ``2 * min_rows`` rows,
        :data:`WORKER_ROUND_FACTOR`). Per-rule timings (``profile``) are only measured in this process.
        """
        if self.engine.profile:
            return None
        self._token = uuid.uuid4().hex
        return WorkerEvaluator(
            WorkerRules(self._token, tuple(self.engine.rules)), WORKER_ROUND_FACTOR * self.min_rows
        )

    def interest(self) -> Interest | None:
        """With the rules evaluated in the reader workers: the rows some rule matched, and the
        columns alerts and correlation rules read. Otherwise None: this detector evaluates every row."""
        if self._token is None:
            return None
        columns = frozenset((*_ALERT_COLUMNS, "event_ref")) | self._kept_columns
        return Interest(columns=columns, sources=frozenset(), matched=True)

    def _count(self, tally: dict[str, Any]) -> None:
        """A worker round's tally: its records, its evaluations and the log sources it read."""
        self.records += int(tally["records"])
        self.engine.evaluations += int(tally["evaluations"])
        for key in tally["keys"]:
            code = key["event_code"]
            self.engine.plan((key["source"], key["channel"], None if code is None else int(code)))

    def _tagged(self, batch: pl.DataFrame, token: str) -> list[Alert]:
        """Alerts (and correlation rows) of a batch a worker evaluated (:class:`WorkerEvaluator`)."""
        hits_name = hits_column(token)
        columns = [c for c in _ALERT_COLUMNS if c in batch.columns]
        # Only the columns alerts read, before filtering (a Windows batch has hundreds).
        narrow = columns_of(batch, [hits_name, *columns, "event_ref"])
        tagged = narrow.with_row_index(ROW).filter(pl.col(hits_name).is_not_null())
        if tagged.is_empty():
            return []
        rows = {
            r[ROW]: self._interned(r)
            for r in columns_of(tagged, [ROW, *columns, "event_ref"]).iter_rows(named=True)
        }
        hits = columns_of(tagged, [ROW, hits_name]).explode(hits_name).unnest(hits_name)
        alerts: list[Alert] = []
        kept: dict[str, list[int]] = {}
        for row_index, rule_index, matched in hits.iter_rows():
            found = self._by_index.get(rule_index)
            if found is None:
                found = self._by_index[rule_index] = self._indexed(rule_index)
            rule, keys, emit = found
            for key in keys:
                kept.setdefault(key, []).append(row_index)
            if emit:
                pairs = self._matched.get(matched)
                if pairs is None:
                    pairs = self._matched[matched] = tuple(
                        (self._str(f), self._str(v)) for f, v in orjson.loads(matched)
                    )
                alerts.append(_alert(rule, rows[row_index], pairs))
        for key, indices in kept.items():
            picked = self._for_correlation(strip_private(batch))[sorted(set(indices))]
            self._kept.setdefault(key, []).append(drop_absent(picked))
        return alerts

    def routing(self, rule: CompiledRule) -> tuple[tuple[str, ...], bool]:
        """Where a rule's matches go: the names correlation rules reference it by (its matched rows
        are kept under each), and whether it raises alerts of its own (not a suppressed feeder)."""
        keys = tuple(sorted({rule.id, rule.name or rule.id} & self.referenced))
        return keys, rule_is_generated(rule.id, rule.name, self.suppressed)

    def _indexed(self, rule_index: int) -> tuple[CompiledRule, tuple[str, ...], bool]:
        """A worker's rule index: the rule and its :meth:`routing`."""
        rule = self.engine.rules[rule_index]
        return (rule, *self.routing(rule))

    def _for_correlation(self, rows: pl.DataFrame) -> pl.DataFrame:
        """The columns of matched rows that correlation reads (kept until the end of a hunt)."""
        return rows.select([c for c in rows.columns if c in self._kept_columns])

    def _str(self, value: str) -> str:
        return self._strings.setdefault(value, value)

    def _interned(self, row: dict[str, Any]) -> dict[str, Any]:
        """The row with its strings (and its event_ref's file name) shared with earlier alerts."""
        for key, value in row.items():
            if isinstance(value, str):
                row[key] = self._str(value)
        ref = row.get("event_ref")
        if ref and isinstance(ref.get("file"), str):
            ref["file"] = self._str(ref["file"])
        return row

    def take_kept(self) -> dict[str, list[pl.DataFrame]]:
        """The matched rows kept for correlation rules since the last call (per rule id or name),
        handed over and forgotten: live mode evaluates correlations per tick and never calls
        :meth:`finish`."""
        kept, self._kept = self._kept, {}
        return kept

    def finish(self) -> list[Alert]:
        alerts = self._flush()
        if self.correlations:
            matches = {name: concat(frames) for name, frames in self._kept.items()}
            alerts.extend(evaluate_correlations(self.correlations, matches))
        return alerts

    def skipped_reasons(self) -> list[str]:
        """Rules that never ran because no event of their log source was read."""
        seen = {rule.id for plan in self.engine.plans() for rule, _ in plan}
        idle = [rule for rule in self.engine.rules if rule.id not in seen]
        if not idle or not self.records:
            return []
        return [f"sigma: {len(idle)} of {len(self.engine.rules)} rules saw no events of their log source"]

    def _flush(self) -> list[Alert]:
        pending, self._pending, self._pending_rows = self._pending, {}, 0
        alerts: list[Alert] = []
        for plan, frames in pending.values():
            frame = frames[0] if len(frames) == 1 else pl.concat(frames, how="diagonal_relaxed")
            frames.clear()
            alerts.extend(self._alerts(self.engine.evaluate(plan, frame)))
        return alerts

    def _alerts(self, matches: Iterator[RuleMatch]) -> list[Alert]:
        alerts: list[Alert] = []
        for match in matches:
            keys, emit = self.routing(match.rule)
            for key in keys:
                self._kept.setdefault(key, []).append(self._for_correlation(match.rows))
            if emit:
                alerts.extend(alerts_for(match))
        return alerts


def alerts_for(match: RuleMatch) -> list[Alert]:
    """One alert per matched event."""
    rule, rows = match.rule, match.rows
    cited = cited_fields(match)
    columns = [c for c in _ALERT_COLUMNS if c in rows.columns]
    out: list[Alert] = []
    for row in rows.select([*columns, "event_ref", *[c for c in cited if c not in columns]]).iter_rows(
        named=True
    ):
        out.append(_alert(rule, row, matched_pairs(cited, [row[f] for f in cited])))
    return out


def _alert(rule: CompiledRule, row: dict[str, Any], matched: Matched) -> Alert:
    ref = row.get("event_ref") or {}
    time = row.get("timestamp") or EPOCH
    return Alert(
        rule_id=rule.id,
        title=rule.title,
        level=rule.level,
        detector="sigma",
        time=time if time.tzinfo else time.replace(tzinfo=UTC),
        event_refs=(EventRef(ref.get("file") or "", int(ref.get("record") or 0)),),
        techniques=rule.techniques,
        tactics=rule.tactics,
        killchain_phases=rule.killchain_phases,
        ukc_phases=rule.ukc_phases,
        status=rule.status,
        host=row.get("host"),
        user=row.get("user"),
        src_ip=row.get("src_ip"),
        dst_ip=row.get("dst_ip"),
        process_guid=row.get("process_guid"),
        parent_process_guid=row.get("parent_process_guid"),
        matched=matched,
        description=rule.description,
    )
