"""Evaluate a compiled rule set over batches, vectorised (docs/SIGMA.md, "Evaluation").

Split a batch once by ``(source, channel, event_code)``; give each key the rules whose log source
targets it (planned once, cached) and group keys with equal plans; per group drop the columns
that are entirely null, fold away string tests whose literals occur nowhere (:mod:`prefilter`),
decide single string tests on distinct values, evaluate cheap anchors and whole conditions as
Polars ``select``s of boolean columns, which Polars runs in parallel. Rows never pass through
Python.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import polars as pl

from chainbreaker.detect.sigma import ir
from chainbreaker.detect.sigma.logsources import PartitionKey, Target
from chainbreaker.detect.sigma.polars_backend import LOWER_PREFIX, PolarsBackend
from chainbreaker.detect.sigma.prefilter import FoldCache, distinct_presence
from chainbreaker.detect.sigma.rules import CompiledRule
from chainbreaker.events import NORMALISED_SCHEMA

PARTITION_COLUMNS = ["source", "channel", "event_code"]
ROW_INDEX = "\x00row"

#: The rules of a partition, each with its condition in the partition's field names.
Plan = tuple[tuple[CompiledRule, ir.Node], ...]
#: Per column: its distinct non-null values.
Distinct = dict[str, pl.Series]


@dataclass(frozen=True, slots=True)
class RuleMatch:
    """The rows of one partition that one rule matched (absent columns dropped)."""

    rule: CompiledRule
    rows: pl.DataFrame
    condition: ir.Node  # as evaluated: in the source's field names, folded for this batch


def partition_rows(batch: pl.DataFrame) -> Iterator[tuple[PartitionKey, pl.Series]]:
    """Row indices of each (source, channel, event_code) of the batch, in first-appearance order."""
    if batch.height == 0:
        return
    keyed = batch.select(PARTITION_COLUMNS).with_row_index(ROW_INDEX)
    groups = keyed.group_by(PARTITION_COLUMNS, maintain_order=True).agg(pl.col(ROW_INDEX))
    lists = groups.get_column(ROW_INDEX)  # row indices stay in Polars (no Python list per group)
    for n, (source, channel, code) in enumerate(groups.select(PARTITION_COLUMNS).iter_rows()):
        yield (source, channel, None if code is None else int(code)), lists[n].alias(ROW_INDEX)


def partitions(batch: pl.DataFrame) -> Iterator[tuple[PartitionKey, pl.DataFrame]]:
    """The batch split by (source, channel, event_code), in first-appearance order."""
    for key, rows in partition_rows(batch):
        yield key, batch[rows]


def keyword_columns(frame: pl.DataFrame) -> list[str]:
    """The original string fields of the frame: what keyword rules search."""
    schema = frame.schema.items()
    return [c for c, t in schema if t == pl.String and c not in NORMALISED_SCHEMA and c != ir.KEYWORDS]


def keyword_text(frame: pl.DataFrame) -> pl.Expr:
    """All original string fields of each event joined by a separator: what keyword rules search."""
    columns = keyword_columns(frame)
    if not columns:
        return pl.lit(None, dtype=pl.String).alias(ir.KEYWORDS)
    return pl.concat_str(columns, separator=ir.KEYWORD_SEPARATOR, ignore_nulls=True).alias(ir.KEYWORDS)


def drop_absent(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame without original columns that are null in every row (a field this source lacks).

    Event data names with spaces (Windows Defender's ``Threat Name``) are also renamed to the
    space-less names Sigma rules use (``ThreatName``) when no such column exists.
    """
    frame = _without_null_columns(frame)
    spaced = {c: c.replace(" ", "") for c in frame.columns if " " in c}
    taken = Counter(spaced.values())
    renames = {c: new for c, new in spaced.items() if new not in frame.columns and taken[new] == 1}
    return frame.rename(renames) if renames else frame


def _without_null_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame without the original columns that are null in every row (the normalised ones,
    which alerts and correlations read, are kept)."""
    counts = frame.null_count().row(0)
    keep = [
        s
        for s, n in zip(frame.get_columns(), counts, strict=True)
        if n < frame.height or s.name in NORMALISED_SCHEMA
    ]
    return pl.DataFrame(keep) if len(keep) < frame.width else frame


def columns_of(frame: pl.DataFrame, names: Sequence[str]) -> pl.DataFrame:
    """``frame.select(names)`` for plain column names, without a query (ordering: as given).

    Eager column operations skip Polars' query planning (~50-100 us a call); the engine runs
    thousands of these small steps per hunt.
    """
    return pl.DataFrame([frame.get_column(c) for c in names], height=frame.height)


def filtered(frame: pl.DataFrame, mask: pl.Series) -> pl.DataFrame:
    """``frame.filter(mask)`` for a boolean mask without nulls, column by column (no query)."""
    return pl.DataFrame([column.filter(mask) for column in frame.get_columns()])


class SigmaEngine:
    def __init__(self, rules: Sequence[CompiledRule], profile: bool = False) -> None:
        self.rules = list(rules)
        self.profile = profile
        self._plans: dict[PartitionKey, Plan] = {}
        self.seconds: dict[str, float] = {}  # per rule id, filled when profiling
        self.evaluations = 0  # rule x partition-group pairs considered
        self.evaluated = 0  # of which survived pruning and ran over rows
        self._by_target: dict[Target, list[tuple[int, int]]] = {}
        for i, rule in enumerate(self.rules):
            for j, target in enumerate(rule.targets):
                self._by_target.setdefault(target, []).append((i, j))
        self._polars_plans: dict[int, tuple[Plan, bool]] = {}  # and whether it searches keywords
        self._by_signature: dict[tuple[tuple[int, int], ...], Plan] = {}
        self._entries: dict[tuple[int, int], tuple[CompiledRule, ir.Node]] = {}
        self._wanted: dict[tuple[int, tuple[str, ...]], dict[str, list[str]]] = {}
        self._folded: dict[object, _Compiled] = {}
        self._fold = FoldCache()
        # Per folded node (kept alive in the value, so its id stays unique): its Polars expression
        # and the lower-cased columns it reads, and its anchor. Groups whose literal patterns differ
        # share most folded rules, and building Polars expressions in Python costs more than
        # folding them.
        self._exprs: dict[tuple[int, tuple[str, ...]], tuple[ir.Node, pl.Expr, frozenset[str]]] = {}
        self._anchor = ir.NodeMemo(ir.anchor, FoldCache.MAX_ENTRIES)

    def plan(self, key: PartitionKey) -> Plan:
        """The rules (with the target's field names) that run on partitions with this key."""
        plan = self._plans.get(key)
        if plan is None:
            first: dict[int, int] = {}  # rule index -> index of its first target matching the key
            for target, users in self._by_target.items():
                if target.matches(key):
                    for i, j in users:
                        first[i] = min(j, first.get(i, j))
            signature = tuple(sorted(first.items()))  # (rule, target) indices: the plan's identity
            plan = self._by_signature.get(signature)
            if plan is None:
                plan = self._by_signature[signature] = tuple(self._entry(i, j) for i, j in signature)
            self._plans[key] = plan
        return plan

    def plans(self) -> list[Plan]:
        """The distinct plans of every partition key seen so far."""
        return list(self._by_signature.values())

    def _entry(self, rule_index: int, target_index: int) -> tuple[CompiledRule, ir.Node]:
        """A rule with its condition in one target's field names (computed once per pair)."""
        entry = self._entries.get((rule_index, target_index))
        if entry is None:
            rule = self.rules[rule_index]
            node = rule.compiled_for(rule.targets[target_index])
            entry = self._entries[(rule_index, target_index)] = (rule, node)
        return entry

    def matches(self, batch: pl.DataFrame) -> Iterator[RuleMatch]:
        """Every (rule, matched rows) pair of the batch."""
        for plan, frame in self.split(batch):
            yield from self.evaluate(plan, frame)

    def split(self, batch: pl.DataFrame) -> Iterator[tuple[Plan, pl.DataFrame]]:
        """The batch's rows grouped by plan, each group without the columns it lacks.

        Partitions with the same plan (all Security events but 4688 run the same
        ``service: security`` rules) form one group. Groups are narrow (a Sysmon process
        creation has ~25 fields, the batch may have hundreds), so callers may gather groups of
        several batches before evaluating them together.
        """
        groups: dict[int, tuple[Plan, list[pl.Series]]] = {}
        for key, rows in partition_rows(batch):
            plan = self.plan(key)
            if plan:
                groups.setdefault(id(plan), (plan, []))[1].append(rows)
        if not groups:
            return
        # A column null in the whole batch is null in every group: drop those before gathering
        # rows (a Windows batch has hundreds of columns, each group a few dozen).
        batch = _without_null_columns(batch)
        for plan, parts in groups.values():
            rows = parts[0] if len(parts) == 1 else pl.concat(parts).sort()
            yield plan, drop_absent(batch if rows.len() == batch.height else batch[rows])

    def evaluate(
        self, plan: Plan, frame: pl.DataFrame, keep: Sequence[str] | None = None
    ) -> Iterator[RuleMatch]:
        """The matches of a plan's rules over a frame of its events (from :meth:`split`).

        Matched rows hold every column of ``frame``; with ``keep``, only those columns and the
        fields the rule's condition tests positively (what a caller needs to say why it matched,
        at a fraction of the cost of filtering every column).
        """
        found = self._polars_plans.get(id(plan))
        if found is None:  # keyword string searches read one joined text column here
            polars_plan = tuple((rule, ir.keywords_as_field(node)) for rule, node in plan)
            searches = any(_searches_keywords(node) for _, node in polars_plan)
            found = self._polars_plans[id(plan)] = (polars_plan, searches)
        yield from self._evaluate(frame, *found, keep)

    def _compiled(self, frame: pl.DataFrame, plan: Plan, searches: bool) -> tuple[_Compiled, Distinct]:
        """The plan folded for this frame and turned into Polars expressions (cached across batches),
        and the distinct values of the columns whose literals decided the folding.

        With ``searches``, the frame also has the joined keyword text column (:data:`ir.KEYWORDS`),
        which is only built when a rule that reads it survives folding: its literals' presence is
        found in the string columns it joins (:func:`distinct_presence`).
        """
        nodes = [node for _, node in plan]
        columns = tuple(frame.columns) + ((ir.KEYWORDS,) if searches else ())
        wanted_key = (id(plan), columns)
        wanted = self._wanted.get(wanted_key)
        if wanted is None:
            wanted = self._wanted[wanted_key] = self._fold.wanted(set(columns), nodes)
        present, distinct = distinct_presence(frame, wanted, keyword_columns(frame) if searches else [])
        key = (id(plan), columns, tuple(sorted(present.items())))
        cached = self._folded.get(key)
        if cached is not None:
            return cached, distinct
        folded = self._fold.fold(nodes, set(columns), present)
        live = [(rule, node) for (rule, _), node in zip(plan, folded, strict=True) if node != ir.FALSE]
        backend = PolarsBackend(frame, virtual=(ir.KEYWORDS,) if searches else ())
        exprs = [self._expr(backend, node).alias(str(i)) for i, (_, node) in enumerate(live)]
        anchors = [self._anchor(node) for _, node in live]
        first = [
            e if a is None else self._expr(backend, a).alias(str(i))
            for i, (e, a) in enumerate(zip(exprs, anchors, strict=True))
        ]
        by_value: dict[str, list[int]] = {}  # column -> rules whose first test is one string test of it
        for i, (a, (_, node)) in enumerate(zip(anchors, live, strict=True)):
            test = node if a is None else a
            if isinstance(test, ir.StrMatch) and test.field not in (None, ir.KEYWORDS):
                by_value.setdefault(test.field, []).append(i)
        roots = [frozenset(e.meta.root_names()) for e in exprs]
        keywords = {ir.KEYWORDS, LOWER_PREFIX + ir.KEYWORDS}
        compiled = _Compiled(
            live,
            exprs,
            [a is not None for a in anchors],
            first,
            backend.lowered_exprs(),
            by_value,
            roots,
            [frozenset(ir.positive_fields(node)) for _, node in live],
            any(r & keywords for r in roots),
            _anchor_sets(anchors),
        )
        if not backend.data_dependent:  # CIDR / Python-regex leaves embed this frame's values
            if len(self._folded) > 512:
                self._folded.clear()
            self._folded[key] = compiled
        return compiled, distinct

    def _expr(self, backend: PolarsBackend, node: ir.Node) -> pl.Expr:
        """``backend.expr(node)``, cached per folded node unless it embeds the frame's values.

        A folded node reads only columns the frame has (leaves on absent ones folded away), so its
        expression depends on the frame only through field-less searches (the keyword columns).
        """
        keywords = backend.keyword_columns if _has_fieldless(node) else []
        key = (id(node), tuple(keywords))
        cached = self._exprs.get(key)
        if cached is not None:
            backend.lowered |= cached[2]
            return cached[1]
        lowered, dependent = backend.lowered, backend.data_dependent
        backend.lowered, backend.data_dependent = set(), False
        expr = backend.expr(node)
        mine, embeds = frozenset(backend.lowered), backend.data_dependent
        backend.lowered, backend.data_dependent = lowered | mine, dependent or embeds
        if not embeds:
            if len(self._exprs) >= FoldCache.MAX_ENTRIES:
                self._exprs.clear()
            self._exprs[key] = (node, expr, mine)
        return expr

    def _evaluate(
        self, output: pl.DataFrame, plan: Plan, searches: bool, keep: Sequence[str] | None
    ) -> Iterator[RuleMatch]:
        """Evaluate over ``output`` plus derived columns (keyword text, lower-cased copies); matched
        rows come from ``output``."""
        self.evaluations += len(plan)
        compiled, distinct = self._compiled(output, plan, searches)
        if not compiled.live:
            return
        self.evaluated += len(compiled.live)
        frame = output.with_columns(keyword_text(output)) if compiled.reads_keywords else output
        prepared = frame.with_columns(compiled.lowered)
        first = _decide_on_distinct_values(prepared, compiled, distinct)
        if self.profile:
            columns = []
            for (rule, _), expr in zip(compiled.live, first, strict=True):
                start = time.perf_counter()
                columns.append(_full_height(prepared.select(expr).to_series(), prepared.height))
                self.seconds[rule.id] = self.seconds.get(rule.id, 0.0) + time.perf_counter() - start
            masks = pl.DataFrame(columns)
        else:
            masks = prepared.select(first)
            if masks.height != prepared.height:  # every test a constant: one row, broadcast it
                masks = pl.DataFrame([_full_height(c, prepared.height) for c in masks])
        # Eager column steps below (sum, filter): no query planning per step.
        hits = [i for i, column in enumerate(masks.get_columns()) if column.any()]
        if keep is not None and hits:  # only the columns the caller keeps and the hit rules test
            wanted = set(keep).union(*(compiled.fields[i] for i in hits))
            output = columns_of(output, [c for c in output.columns if c in wanted])
        narrowed = [i for i in hits if compiled.anchored[i]]
        decided: dict[int, tuple[int, pl.DataFrame]] = {}  # rule -> (its row set, decisions)
        sets = row_sets(masks, narrowed, compiled.anchor_sets)
        candidates: dict[int, pl.DataFrame] = {}  # per row set, its rows of ``output`` (when needed)
        for n, (rules, kept) in enumerate(sets):
            # anchors only narrowed the rows: decide those rules on the rows they kept
            start = time.perf_counter()
            read = set().union(*(compiled.roots[i] for i in rules))  # filter only what they read
            reads = [c for c in prepared.columns if c in read] or prepared.columns[:1]
            decisions = filtered(columns_of(prepared, reads), kept).select([compiled.exprs[i] for i in rules])
            for i in rules:
                decided[i] = (n, decisions)
            if self.profile:
                share = (time.perf_counter() - start) / len(rules)
                for i in rules:
                    rule_id = compiled.live[i][0].id
                    self.seconds[rule_id] = self.seconds.get(rule_id, 0.0) + share
        for i in hits:
            rule, node = compiled.live[i]
            if compiled.anchored[i]:
                n, decisions = decided[i]
                mask = decisions.get_column(str(i))
                if not mask.any():
                    continue
                if n not in candidates:
                    candidates[n] = filtered(output, sets[n][1])
                rows = filtered(candidates[n], mask)
            else:
                rows = filtered(output, masks.get_column(str(i)))
            yield RuleMatch(rule, rows, node)


#: Rows an anchor must leave out of the shared candidate rows before its rules get their own.
OWN_ROWS_SAVING = 2048


def row_sets(
    masks: pl.DataFrame, rules: list[int], anchor_sets: list[int]
) -> list[tuple[list[int], pl.Series]]:
    """The anchored rules that matched some row, in sets that decide their whole conditions together,
    each with the rows to decide them on.

    By default one set: every rule on the rows some rule's anchor kept. But one common anchor
    (a ``CommandLine`` substring) keeps most rows, and a rule whose own anchor keeps a hundred
    of them would then run its whole condition (regular expressions, long ``contains`` lists)
    over all of them. Rules sharing an anchor whose rows are at least :data:`OWN_ROWS_SAVING`
    fewer than the shared rows form a set of their own, decided on their anchor's rows only.
    Every match of a rule satisfies its anchor, so each rule's matched rows are the same (in the
    same order) whichever set decides it.
    """
    if not rules:
        return []
    columns = {i: masks.get_column(str(i)) for i in rules}
    if len(rules) == 1:
        return [(rules, columns[rules[0]])]
    union = masks.select(pl.any_horizontal(str(i) for i in rules)).to_series()
    shared_rows = int(union.sum())
    by_anchor: dict[int, list[int]] = {}
    for i in rules:
        by_anchor.setdefault(anchor_sets[i], []).append(i)
    out: list[tuple[list[int], pl.Series]] = []
    shared: list[int] = []
    for members in by_anchor.values():
        own = columns[members[0]]  # equal anchors: equal masks
        if shared_rows - int(own.sum()) >= OWN_ROWS_SAVING:
            out.append((members, own))
        else:
            shared.extend(members)
    if shared:
        kept = union if not out else masks.select(pl.any_horizontal(str(i) for i in shared)).to_series()
        out.append((shared, kept))
    return out


def _decide_on_distinct_values(prepared: pl.DataFrame, compiled: _Compiled, known: Distinct) -> list[pl.Expr]:
    """The first-pass expressions, with single string tests decided on the column's distinct values.

    A rule (or its anchor) that is one string test of one column is evaluated over the column's
    distinct values (usually far fewer than rows: image paths, event ids); the rows then need only
    a hash lookup of the values that matched, and a test no distinct value passes costs nothing.
    The distinct values come from the prefilter's pass (``known``) when it read the column.
    """
    first = list(compiled.first)
    for column, indices in compiled.by_value.items():
        lowered = LOWER_PREFIX + column
        values = known.get(column)
        if values is not None:  # the prefilter's distinct values, lower-cased here when read
            pair = (
                [values, values.str.to_lowercase().alias(lowered)]
                if lowered in prepared.columns
                else [values]
            )
            distinct = pl.DataFrame(pair)
        else:
            wanted = [column, lowered] if lowered in prepared.columns else [column]
            distinct = (
                columns_of(prepared, wanted).lazy().unique(subset=[column]).drop_nulls(column).collect()
            )
        decided = distinct.select([compiled.first[i] for i in indices])
        for i in indices:
            hits = distinct.get_column(column).filter(decided.get_column(str(i)))
            if hits.is_empty():
                first[i] = pl.lit(False).alias(str(i))
            else:  # the values as one literal list (Series.implode would run a query per rule)
                first[i] = pl.col(column).is_in(pl.lit(hits).implode()).fill_null(False).alias(str(i))
    return first


def _full_height(mask: pl.Series, height: int) -> pl.Series:
    """A rule's mask at the frame's height: a test decided on distinct values selects as a constant."""
    if mask.len() == height:
        return mask
    return pl.repeat(mask[0], height, dtype=pl.Boolean, eager=True).alias(mask.name)


def _anchor_sets(anchors: Sequence[ir.Node | None]) -> list[int]:
    """Per rule, the index of the first rule with an equal anchor (itself if none or unanchored)."""
    first: dict[ir.Node, int] = {}
    return [i if a is None else first.setdefault(a, i) for i, a in enumerate(anchors)]


def _has_fieldless(node: ir.Node) -> bool:
    return any(getattr(leaf, "field", "") is None for leaf in ir.leaves(node))


def _searches_keywords(node: ir.Node) -> bool:
    return any(getattr(leaf, "field", None) == ir.KEYWORDS for leaf in ir.leaves(node))


@dataclass(frozen=True, slots=True)
class _Compiled:
    live: list[tuple[CompiledRule, ir.Node]]
    exprs: list[pl.Expr]  # each rule's whole condition
    anchored: list[bool]  # whether ``first`` holds a cheaper necessary condition instead
    first: list[pl.Expr]  # evaluated over every row: the anchor, or the whole condition
    lowered: list[pl.Expr]
    by_value: dict[str, list[int]]  # column -> rules whose ``first`` is one string test of it
    roots: list[frozenset[str]]  # the columns each rule's whole condition reads
    fields: list[frozenset[str]]  # the fields each rule's condition tests positively (cited)
    reads_keywords: bool  # whether some rule reads the joined keyword text (ir.KEYWORDS)
    anchor_sets: list[int]  # per rule: the first rule with an equal anchor (equal first masks)


def match_frame(rules: Sequence[CompiledRule], frame: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Rule id -> the rows of ``frame`` (a conformed batch) it matched; rules matching nothing omitted."""
    out: dict[str, list[pl.DataFrame]] = {}
    for match in SigmaEngine(rules).matches(frame):
        out.setdefault(match.rule.id, []).append(match.rows)
    return {rid: pl.concat(parts, how="diagonal_relaxed") for rid, parts in out.items()}
