"""Sigma rules evaluated inside the reader worker processes (docs/SIGMA.md, "Evaluation").

:class:`WorkerEvaluator` is the reader-stream transform :meth:`SigmaDetector.worker_transform
<chainbreaker.detect.sigma.detector.SigmaDetector.worker_transform>` hands to
:func:`chainbreaker.readers.read_paths`: it runs in each worker, gathers a task's batches into
rounds, evaluates them and tags every batch with private columns of compact matches, which the
main process's detector turns into alerts. Given the run's combined :class:`Interest
<chainbreaker.detect.interest.Interest>`, it sends only the rows and columns some detector reads,
and the counts the main process reports of all the rows in a small tally frame per round.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import polars as pl

from chainbreaker.detect.interest import Interest, project
from chainbreaker.detect.sigma import ir
from chainbreaker.detect.sigma.engine import PARTITION_COLUMNS, Plan, RuleMatch, SigmaEngine
from chainbreaker.detect.sigma.rules import CompiledRule

#: A reader worker's rounds may hold this many times ``min_rows``: a reader task (~50,000 EVTX
#: records at most sizes) comes as one batch per channel at 50,000 rows and a short tail batch per
#: channel at its end; a cap of ``min_rows`` would evaluate that tail as a round of its own, paying
#: every group's fixed costs twice. Rounds also end at each task's end (the stream flushes them).
WORKER_ROUND_FACTOR = 2
#: Private columns of what a worker sends, named after the rule set's token (so a second Sigma
#: detector never reads another one's matches): on each batch it evaluated, per event, the rules
#: it matched (index into the rule list, matched fields as JSON pairs), null for most events; and
#: per round, a one-row tally frame (:func:`tally_column`) of what the round read.
PRIVATE_PREFIX = "\x00sigma:"
ROW = "\x00sigma:row"


def hits_column(token: str) -> str:
    return f"{PRIVATE_PREFIX}hits:{token}"


def tally_column(token: str) -> str:
    """The column of a round's tally frame: its records, its rule evaluations and its
    (source, channel, event_code) keys, counted before the batches were projected (the main
    process reports them: records, rule evaluations, rules that saw no events of their log source)."""
    return f"{PRIVATE_PREFIX}tally:{token}"


HIT_TYPE = pl.List(pl.Struct({"rule": pl.UInt32, "matched": pl.String}))
Matched = tuple[tuple[str, str], ...]


def cited_fields(match: RuleMatch) -> list[str]:
    """The fields the matched condition tests positively that the rows have: what an alert cites."""
    return sorted(_positive_fields(match.condition) & set(match.rows.columns))


#: :func:`ir.positive_fields` per condition: conditions are the engine's cached folded nodes,
#: matched again in every round.
_positive_fields = ir.NodeMemo(lambda node: frozenset(ir.positive_fields(node)), 100_000)


def matched_pairs(cited: Sequence[str], values: Sequence[Any]) -> Matched:
    """The cited fields the event has (``values[i]`` of ``cited[i]``), with their values as text."""
    return tuple((f, str(v)) for f, v in zip(cited, values, strict=True) if v is not None)


@dataclass(frozen=True, slots=True)
class WorkerRules:
    """What a reader worker needs to evaluate a rule set; ``token`` names its engine there."""

    token: str
    rules: tuple[CompiledRule, ...]

    def __reduce__(self) -> tuple[Any, tuple[str, bytes]]:
        """Pickled once per rule set, not once per worker (pickling 2,400 rules costs ~0.3 s)."""
        payload = _PICKLED.get(self.token)
        if payload is None:
            _PICKLED.clear()  # one rule set's bytes at a time (one hunt)
            payload = _PICKLED[self.token] = pickle.dumps(self.rules, protocol=pickle.HIGHEST_PROTOCOL)
        return _worker_rules, (self.token, payload)


_PICKLED: dict[str, bytes] = {}


def _worker_rules(token: str, payload: bytes) -> WorkerRules:
    return WorkerRules(token, pickle.loads(payload))


#: Per worker process: the engine of each rule set (planning and compiled expressions are cached
#: in it across batches) and each rule's index in the set.
_WORKER_ENGINES: dict[str, tuple[SigmaEngine, dict[int, int]]] = {}


def _worker_engine(spec: WorkerRules) -> tuple[SigmaEngine, dict[int, int]]:
    cached = _WORKER_ENGINES.get(spec.token)
    if cached is None:
        engine = SigmaEngine(spec.rules)
        cached = _WORKER_ENGINES[spec.token] = (engine, {id(r): i for i, r in enumerate(engine.rules)})
    return cached


class WorkerEvaluator:
    """The reader-stream transform that evaluates a rule set inside a reader worker.

    A :class:`chainbreaker.readers.stream.BufferingTransform`: it splits each batch by plan as it
    arrives (narrow frames, as :meth:`SigmaDetector.observe` does) and holds the batches until
    ``max_rows`` rows wait or the stream flushes it at the end of a task; then each plan's group
    is evaluated once over all of them (the engine's per-group costs are paid per round, not per
    read batch). It returns the round's tally frame (:func:`tally_column`), then the batches in
    their order with a private column of matches (:func:`hits_column`: per event, the rules it
    matched as compact (rule index, matched fields) pairs). Without ``interest`` the batches are
    whole; with one (the union of every detector's, :meth:`projecting`), each batch keeps only
    the rows and columns of interest, and a batch left without rows is not sent. The main
    process builds the alerts (:meth:`SigmaDetector.observe`).
    """

    def __init__(self, spec: WorkerRules, max_rows: int, interest: Interest | None = None) -> None:
        self.spec = spec
        self.max_rows = max_rows
        self.interest = interest
        self._reset()

    def projecting(self, interest: Interest | None) -> WorkerEvaluator:
        """This evaluator sending only the rows and columns of ``interest`` (None: whole batches)."""
        return WorkerEvaluator(self.spec, self.max_rows, interest)

    def _reset(self) -> None:
        self._batches: list[pl.DataFrame] = []
        self._groups: dict[int, tuple[Plan, list[pl.DataFrame]]] = {}
        self._keys: list[pl.DataFrame] = []
        self._rows = 0

    def __getstate__(self) -> tuple[WorkerRules, int, Interest | None]:  # pickled: no buffered data
        return self.spec, self.max_rows, self.interest

    def __setstate__(self, state: tuple[WorkerRules, int, Interest | None]) -> None:
        self.spec, self.max_rows, self.interest = state
        self._reset()

    def __call__(self, batch: pl.DataFrame) -> list[pl.DataFrame]:
        engine, _ = _worker_engine(self.spec)
        for plan, frame in engine.split(batch.with_row_index(ROW, offset=self._rows)):
            self._groups.setdefault(id(plan), (plan, []))[1].append(frame)
        self._keys.append(batch.select(PARTITION_COLUMNS).unique())
        self._batches.append(batch)
        self._rows += batch.height
        return self.flush() if self._rows >= self.max_rows else []

    def flush(self) -> list[pl.DataFrame]:
        batches, groups, keys, rows = self._batches, self._groups, self._keys, self._rows
        self._reset()
        if not batches:
            return []
        engine, index = _worker_engine(self.spec)
        before = engine.evaluations
        hits = _Hits()
        for plan, frames in groups.values():
            frame = frames[0] if len(frames) == 1 else pl.concat(frames, how="diagonal_relaxed")
            frames.clear()
            for match in engine.evaluate(plan, frame, keep=(ROW,)):
                hits.add(match, index[id(match.rule)])
        name = hits_column(self.spec.token)
        column = hits.column(name, rows)
        out = [_tally(tally_column(self.spec.token), rows, engine.evaluations - before, keys)]
        offset = 0
        for batch in batches:
            tagged = batch.with_columns(column.slice(offset, batch.height))
            offset += batch.height
            if self.interest is not None:
                tagged = project(tagged, self.interest, matched=name, keep=(name,))
            if tagged.height:
                out.append(tagged)
        return out


def _tally(name: str, records: int, evaluations: int, keys: list[pl.DataFrame]) -> pl.DataFrame:
    """The one-row tally frame of a round (see :func:`tally_column`)."""
    distinct = pl.concat(keys, how="vertical_relaxed").unique(maintain_order=True)
    return distinct.select(
        pl.struct(
            pl.lit(records, dtype=pl.UInt64).alias("records"),
            pl.lit(evaluations, dtype=pl.UInt64).alias("evaluations"),
            pl.struct(PARTITION_COLUMNS).implode().alias("keys"),
        ).alias(name)
    )


class _Hits:
    """The matches of a round, gathered flat (row, rule index, matched fields as JSON pairs)."""

    def __init__(self) -> None:
        self.rows: list[int] = []
        self.rules: list[int] = []
        self.matched: list[str] = []

    def add(self, match: RuleMatch, rule: int) -> None:
        rows = match.rows
        cited = cited_fields(match)
        values = [rows.get_column(c).to_list() for c in cited]
        self.rows.extend(rows.get_column(ROW).to_list())
        self.rules.extend([rule] * rows.height)
        for row in zip(*values, strict=True) if cited else [()] * rows.height:
            self.matched.append(orjson.dumps(matched_pairs(cited, row)).decode())

    def column(self, name: str, height: int) -> pl.Series:
        """Per row of the round, the list of its (rule, matched) hits, null where none.

        Built by Polars from the flat lists (a group-by and a join): constructing a list-of-struct
        Series from Python lists of dicts costs ~25x more.
        """
        if not self.rows:
            return pl.repeat(None, height, dtype=HIT_TYPE, eager=True).alias(name)
        flat = pl.DataFrame(
            {ROW: self.rows, "rule": self.rules, "matched": self.matched},
            schema={ROW: pl.UInt32, "rule": pl.UInt32, "matched": pl.String},
        )
        lists = flat.group_by(ROW, maintain_order=True).agg(pl.struct("rule", "matched").alias(name))
        every = pl.int_range(height, dtype=pl.UInt32, eager=True).alias(ROW).to_frame()
        return every.join(lists, on=ROW, how="left", maintain_order="left").get_column(name)


def strip_private(batch: pl.DataFrame) -> pl.DataFrame:
    """The batch without the Sigma workers' private columns (what other detectors see)."""
    kept = [c for c in batch.get_columns() if not c.name.startswith(PRIVATE_PREFIX)]
    if not kept:  # a tally frame: nothing for the other detectors
        return pl.DataFrame()
    # The remaining columns as they are, without a query (this runs on every batch of a hunt).
    return pl.DataFrame(kept, height=batch.height) if len(kept) < batch.width else batch
