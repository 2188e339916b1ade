"""The Spark job: compiled rules x a Parquet event dataset -> the matched rows, on the driver.

What runs where (docs/SCALE.md "What runs where"); passes 1, 3 and 5 are Spark jobs, the rest
runs on the driver over small results, with the embedded engine's own code:

1. **key scan** (:mod:`.scan`): per partition key ``(source, channel, event_code)``, the events
   and which rule-cited columns hold a value (one aggregate, reading only those columns). Columns
   null in a key count as absent there, as in the Polars engine;
2. **plan** (driver): each key's rules and log-source field names by the embedded engine's own
   :meth:`SigmaEngine.plan`;
3. **distinct values** (one pass, map-side deduplication, one shuffle of distinct values): per
   key, the distinct values of each text column a planned rule tests with a string, regex, CIDR
   or comparison leaf, up to ``distinct_cap`` per key and column;
4. **prune** (driver, :mod:`.decide`): the embedded literal-presence prefilter
   (``prefilter.fold``) drops the rules whose literals occur nowhere in the key, and the
   remaining leaves are decided on the distinct values by the embedded :class:`PolarsBackend`,
   becoming ``col IN (...)``. On the SigmaHQ Windows set most rule x key pairs fold away here;
5. **match**: each event is tagged with its key's number (a broadcast join on the small key
   table); only keys some rule survived on are read, and each row runs one
   ``CASE key WHEN k THEN <the rules that survived on k>`` (a few rules, not the whole set),
   at most ``chunk_pairs`` rule x key pairs per Spark job (usually one job); rows that match no
   rule are dropped on the executors, the rest come back as Arrow. A column with too many
   distinct values (or a leaf accepting too many) keeps its row-wise Spark SQL form
   (:mod:`.backend`), so results never depend on the cap, only the cost does.

Rules are evaluated per Spark partition (a Parquet file or a slice of one); only the key counts
and distinct values are shuffled. Kill-chain correlation then runs on the driver over the alerts.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import polars as pl

from chainbreaker.detect.sigma import ir
from chainbreaker.detect.sigma.engine import RuleMatch, SigmaEngine
from chainbreaker.detect.sigma.rules import CompiledRule
from chainbreaker.engines.spark import scan
from chainbreaker.engines.spark.backend import SparkBackend, quoted
from chainbreaker.engines.spark.cidr import cidr_fields
from chainbreaker.engines.spark.decide import decidable_fields, prune
from chainbreaker.engines.spark.scan import KEY_COLUMN, in_keys
from chainbreaker.events import NORMALISED_SCHEMA, TIMESTAMP_TYPE

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession

RULES_COLUMN = "__cb_rules"
#: Rule x key pairs per projection (one Spark job each): one projection of thousands of unpruned
#: rules takes Spark's optimiser minutes and gigabytes; pruned pairs are small expressions.
CHUNK_PAIRS = 1024
#: Most distinct values per key and column collected to the driver (pass 3).
DISTINCT_CAP = 50_000


@dataclass
class SparkRun:
    """What the job found: per (rule, condition) the matched rows, and counts for the report."""

    matches: list[RuleMatch] = field(default_factory=list)
    records: int = 0
    keys: int = 0
    rules_planned: int = 0  # rules that apply to at least one key of the data
    evaluations: int = 0  # rule x key pairs planned
    evaluated: int = 0  # of which survived pruning and ran on Spark
    rules_evaluated: int = 0  # rules that survived pruning on some key
    seconds: dict[str, float] = field(default_factory=dict)  # per step: keys, values, prune, match...


def read_events(spark: SparkSession, paths: Sequence[str]) -> DataFrame:
    """The Parquet datasets written by ``chainbreaker ingest`` (folders of part files, or files)."""
    return spark.read.option("mergeSchema", "true").parquet(*[str(p) for p in paths])


def run_rules(
    spark: SparkSession,
    events: DataFrame,
    rules: Sequence[CompiledRule],
    keep_all_columns: bool = False,
    chunk_pairs: int = CHUNK_PAIRS,
    distinct_cap: int = DISTINCT_CAP,
) -> SparkRun:
    """Evaluate ``rules`` over ``events``; ``keep_all_columns`` returns whole rows (correlation rules)."""
    from pyspark.sql.types import StringType

    run = SparkRun()
    clock = time.perf_counter()
    strings = {f.name for f in events.schema.fields if isinstance(f.dataType, StringType)} - set(scan.KEYS)
    found = scan.scan_keys(events, sorted(scan.counted_columns(rules, strings)))
    run.records, run.keys = found.records, len(found.keys)
    clock = _lap(run, "keys", clock)
    engine = SigmaEngine(rules)
    index = {id(rule): i for i, rule in enumerate(rules)}
    plans = [[(index[id(rule)], node) for rule, node in engine.plan(key)] for key in found.keys]
    run.evaluations = sum(len(p) for p in plans)
    run.rules_planned = len({i for plan in plans for i, _ in plan})
    if not run.evaluations:
        return run
    backends: dict[frozenset[str], SparkBackend] = {}

    def backend_of(columns: frozenset[str]) -> SparkBackend:
        backend = backends.get(columns)
        if backend is None:
            backend = backends[columns] = SparkBackend(events.schema, present=set(columns))
        return backend

    wanted: dict[int, dict[str, str]] = {}  # key number -> field -> its SQL
    for number, plan in enumerate(plans):
        backend = backend_of(found.present[number])
        text = {f for _, node in plan for f in ir.fields(node) if backend.has(f) and backend.is_text(f)}
        fields = set().union(*(decidable_fields(node, text) for _, node in plan))
        if fields:
            wanted[number] = {f: backend.raw(f) for f in fields}
    keyed = scan.tag_keys(spark, events, found.keys)
    values, overflow = scan.distinct_values(keyed, wanted, distinct_cap)
    clock = _lap(run, "values", clock)
    targets: dict[int, dict[ir.Node, list[int]]] = {}  # rule index -> condition -> key numbers
    for number, plan in enumerate(plans):
        backend = backend_of(found.present[number])
        mine = {f: values[(number, f)] for f in wanted.get(number, {}) if (number, f) in values}
        undecided = {f for n, f in overflow if n == number}
        columns = backend.columns | set(backend.spaced)
        pruned = prune([node for _, node in plan], columns, mine, undecided)
        for (i, _), node in zip(plan, pruned, strict=True):
            if node != ir.FALSE:
                targets.setdefault(i, {}).setdefault(node, []).append(number)
                run.evaluated += 1
    run.rules_evaluated = len(targets)
    clock = _lap(run, "prune", clock)
    if targets:
        nodes = [node for per_rule in targets.values() for node in per_rule]
        colon = scan.colon_values(events, cidr_fields(nodes))  # CIDR leaves the prune left to Spark
        clock = _lap(run, "cidr", clock)
        output = _output_columns(SparkBackend(events.schema), nodes, keep_all_columns, events.columns)
        compiler = _Compiler(events, colon, found.present)
        order = sorted(range(len(found.keys)), key=lambda n: -found.counts[n])
        frame = _match(keyed, targets, compiler, output, chunk_pairs, order)
        clock = _lap(run, "match", clock)
        run.matches = _matches(frame, rules, targets)
        _lap(run, "alerts", clock)
    return run


class _Compiler:
    """SQL of a condition for the keys it runs on (columns null in all of them count as absent)."""

    def __init__(self, events: DataFrame, colon: dict[str, list[str]], present: list[frozenset[str]]) -> None:
        self.events = events
        self.colon = colon
        self.present = present
        self.backends: dict[frozenset[str], SparkBackend] = {}
        self.lowered: dict[str, str] = {}  # lower-cased column name -> its SQL, computed once per row

    def sql(self, node: ir.Node, numbers: list[int]) -> str:
        columns = frozenset().union(*(self.present[n] for n in numbers))
        backend = self.backends.get(columns)
        if backend is None:
            backend = SparkBackend(self.events.schema, self.colon, set(columns))
            self.backends[columns] = backend
        sql = backend.sql(node)
        self.lowered.update(backend.lowered_columns())
        return sql


def _match(
    keyed: DataFrame,
    targets: dict[int, dict[ir.Node, list[int]]],
    compiler: _Compiler,
    output: list[str],
    chunk_pairs: int,
    order: Sequence[int],
) -> pl.DataFrame:
    """The rows some rule matched, with the numbers of those rules (one Spark job per chunk).

    One ``CASE key WHEN k THEN <the rules of key k>`` per row: a row evaluates only the rules that
    survived on its own key (a few), not a key test per rule of the whole set. Keys are chunked so
    that a job holds at most ``chunk_pairs`` rule x key pairs; ``order``: keys, most events first.
    """
    from pyspark.sql import functions as F

    per_key: dict[int, list[str]] = {}
    for i, per_rule in sorted(targets.items()):
        for node, numbers in per_rule.items():
            sql = compiler.sql(node, numbers)
            for number in numbers:
                per_key.setdefault(number, []).append(f"IF({sql}, {i}, NULL)")
    chunks: list[list[int]] = [[]]
    size = 0
    for number in (n for n in order if n in per_key):
        if chunks[-1] and size + len(per_key[number]) > chunk_pairs:
            chunks.append([])
            size = 0
        chunks[-1].append(number)
        size += len(per_key[number])
    wanted = [F.col(quoted(c)) for c in output]
    frames: list[pl.DataFrame] = []
    for numbers in chunks:  # one job per chunk: bounded planning time and driver memory
        branches = " ".join(
            f"WHEN {n} THEN filter(array({', '.join(per_key[n])}), x -> x IS NOT NULL)" for n in numbers
        )
        chunk = f"CASE {quoted(KEY_COLUMN)} {branches} END"
        needed = {n: F.expr(sql) for n, sql in compiler.lowered.items() if quoted(n) in chunk}
        rows = keyed.where(in_keys(numbers))  # events of keys no rule survived on: never evaluated
        prepared = rows.withColumns(needed) if needed else rows
        selected = prepared.select(*wanted, F.col(quoted(KEY_COLUMN)), F.expr(chunk).alias(RULES_COLUMN))
        frames.append(to_polars(selected.where(F.size(F.col(RULES_COLUMN)) > 0).toArrow()))
    return pl.concat(frames, how="diagonal_relaxed")


def _lap(run: SparkRun, step: str, since: float) -> float:
    now = time.perf_counter()
    run.seconds[step] = run.seconds.get(step, 0.0) + now - since
    return now


def _output_columns(
    backend: SparkBackend, nodes: list[ir.Node], keep_all: bool, columns: list[str]
) -> list[str]:
    """Columns alerts read: the normalised ones and every field a rule cites (or everything)."""
    if keep_all:
        return list(columns)
    cited: set[str] = set()
    for node in nodes:
        cited |= ir.positive_fields(node)
    names = [c for c in NORMALISED_SCHEMA if c in backend.columns]
    return names + sorted(c for c in cited if c in backend.columns and c not in NORMALISED_SCHEMA)


def to_polars(table: pa.Table) -> pl.DataFrame:
    """An Arrow table from Spark as the embedded batches' types: normalised columns cast to their
    schema (nanosecond timestamps arrive as longs, ``spark.sql.legacy.parquet.nanosAsLong``)."""
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    casts: list[pl.Expr] = []
    for name, dtype in frame.schema.items():
        if name == "timestamp":
            stamp = pl.col(name)
            if dtype.is_integer():
                stamp = stamp.cast(pl.Datetime("ns"))
            elif isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
                stamp = stamp.dt.replace_time_zone(None)
            casts.append(stamp.cast(TIMESTAMP_TYPE, strict=False).dt.replace_time_zone("UTC"))
        elif name in NORMALISED_SCHEMA and dtype != NORMALISED_SCHEMA[name]:
            casts.append(pl.col(name).cast(NORMALISED_SCHEMA[name], strict=False))
    return frame.with_columns(casts) if casts else frame


def _matches(
    frame: pl.DataFrame, rules: Sequence[CompiledRule], targets: dict[int, dict[ir.Node, list[int]]]
) -> list[RuleMatch]:
    """Per rule and per condition (log-source variant), the matched rows, in rule order."""
    if frame.height == 0:
        return []
    exploded = frame.with_row_index("__cb_row").explode(RULES_COLUMN)
    data = frame.drop(KEY_COLUMN, RULES_COLUMN)
    out: list[RuleMatch] = []
    for (i,), part in sorted(exploded.partition_by(RULES_COLUMN, as_dict=True).items()):
        rule = rules[int(i)]
        for node, numbers in targets[int(i)].items():
            rows = part.filter(pl.col(KEY_COLUMN).is_in(numbers)).get_column("__cb_row")
            if rows.len():
                out.append(RuleMatch(rule, data[rows.to_list()], node))
    return out
