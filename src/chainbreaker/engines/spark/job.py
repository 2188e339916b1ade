"""The Spark job: compiled rules x a Parquet event dataset -> the matched rows, on the driver.

Steps (each a Spark job; only the last one reads every column the rules need):

1. per partition key ``(source, channel, event_code)``, count the events and which columns
   hold a value (one aggregate): columns null in a key count as absent there, as in the
   Polars engine, so keyword searches and absent fields cost nothing;
2. plan each key on the driver with the embedded engine's own :meth:`SigmaEngine.plan`, so both
   engines pick the same rules and the same log-source field names for the same events;
3. collect the distinct values containing ``:`` of fields tested by CIDR leaves (IPv6 and
   mapped IPv4 are decided in Python, :mod:`chainbreaker.engines.spark.cidr`);
4. tag each row with its key's number (a broadcast join on the small key table) and evaluate
   every rule as one expression: ``CASE WHEN key IN (keys of target 1) THEN condition 1 ...``,
   :data:`CHUNK_RULES` rules per job; rows that match no rule of the chunk are dropped on the
   executors, the rest come back as Arrow.

Rules are evaluated per Spark partition (a Parquet file or a slice of one); nothing is shuffled
but the key counts. Kill-chain correlation then runs on the driver over the alerts only.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import polars as pl

from chainbreaker.detect.sigma import ir
from chainbreaker.detect.sigma.engine import RuleMatch, SigmaEngine
from chainbreaker.detect.sigma.logsources import PartitionKey
from chainbreaker.detect.sigma.rules import CompiledRule
from chainbreaker.engines.spark.backend import SparkBackend, quoted
from chainbreaker.engines.spark.cidr import cidr_fields
from chainbreaker.events import NORMALISED_SCHEMA, TIMESTAMP_TYPE

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

KEY_COLUMN = "__cb_key"
RULES_COLUMN = "__cb_rules"
_KEY_PREFIX = "__cb_k:"
#: Rules per projection (one Spark job each). One projection of a thousand rules takes Spark's
#: optimiser minutes and gigabytes; chunks of this size are planned in a second or two.
CHUNK_RULES = 64
_KEYS = ("source", "channel", "event_code")


@dataclass
class SparkRun:
    """What the job found: per (rule, condition) the matched rows, and counts for the report."""

    matches: list[RuleMatch] = field(default_factory=list)
    records: int = 0
    keys: int = 0
    rules_planned: int = 0  # rules that apply to at least one key of the data
    evaluations: int = 0  # rule x key pairs
    seconds: dict[str, float] = field(default_factory=dict)  # per step: keys, cidr, match, collect


def read_events(spark: SparkSession, paths: Sequence[str]) -> DataFrame:
    """The Parquet datasets written by ``chainbreaker ingest`` (folders of part files, or files)."""
    return spark.read.option("mergeSchema", "true").parquet(*[str(p) for p in paths])


def run_rules(
    spark: SparkSession,
    events: DataFrame,
    rules: Sequence[CompiledRule],
    keep_all_columns: bool = False,
    chunk_rules: int = CHUNK_RULES,
) -> SparkRun:
    """Evaluate ``rules`` over ``events``; ``keep_all_columns`` returns whole rows (correlation rules)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import IntegerType, StringType, StructField, StructType

    run = SparkRun()
    clock = time.perf_counter()
    counted = [
        f.name for f in events.schema.fields if isinstance(f.dataType, StringType) and f.name not in _KEYS
    ]
    aggregates = [F.count(F.lit(1)).alias("__cb_n")]
    aggregates += [F.count(F.col(quoted(c))).alias(f"__cb_c{i}") for i, c in enumerate(counted)]
    key_rows = events.groupBy(*_KEYS).agg(*aggregates).collect()
    keys: list[PartitionKey] = [
        (r["source"], r["channel"], None if r["event_code"] is None else int(r["event_code"]))
        for r in key_rows
    ]
    present = [frozenset(c for i, c in enumerate(counted) if r[f"__cb_c{i}"]) for r in key_rows]
    run.records, run.keys = sum(int(r["__cb_n"]) for r in key_rows), len(keys)
    clock = _lap(run, "keys", clock)
    engine = SigmaEngine(rules)
    targets: dict[int, dict[ir.Node, list[int]]] = {}  # rule index -> condition -> key numbers
    index = {id(rule): i for i, rule in enumerate(rules)}
    for number, key in enumerate(keys):
        for rule, node in engine.plan(key):
            targets.setdefault(index[id(rule)], {}).setdefault(node, []).append(number)
            run.evaluations += 1
    run.rules_planned = len(targets)
    if not targets:
        return run
    nodes = [node for per_rule in targets.values() for node in per_rule]
    colon_values = _colon_values(events, cidr_fields(nodes))
    clock = _lap(run, "cidr", clock)
    backends: dict[frozenset[str], SparkBackend] = {}
    lowered: dict[str, str] = {}

    def compiled(node: ir.Node, numbers: list[int]) -> str:
        columns = frozenset().union(*(present[n] for n in numbers))
        backend = backends.get(columns)
        if backend is None:
            backend = backends[columns] = SparkBackend(events.schema, colon_values, set(columns))
        sql = backend.sql(node)
        lowered.update(backend.lowered_columns())
        return sql

    key_name = quoted(KEY_COLUMN)
    tagged: list[str] = []
    for i, per_rule in sorted(targets.items()):
        branches = " ".join(
            f"WHEN {key_name} IN ({', '.join(map(str, numbers))}) THEN {compiled(node, numbers)}"
            for node, numbers in per_rule.items()
        )
        tagged.append(f"CASE WHEN (CASE {branches} ELSE false END) THEN {i} END")
    key_schema = StructType(
        [
            StructField(_KEY_PREFIX + "source", StringType()),
            StructField(_KEY_PREFIX + "channel", StringType()),
            StructField(_KEY_PREFIX + "event_code", IntegerType()),
            StructField(KEY_COLUMN, IntegerType()),
        ]
    )
    key_frame = spark.createDataFrame([(*k, n) for n, k in enumerate(keys)], key_schema)
    joined = events.join(
        F.broadcast(key_frame),
        on=[events[quoted(k)].eqNullSafe(key_frame[quoted(_KEY_PREFIX + k)]) for k in _KEYS],
        how="inner",
    )
    output = _output_columns(SparkBackend(events.schema), nodes, keep_all_columns, events.columns)
    wanted = [F.col(quoted(c)) for c in output]
    frames: list[pl.DataFrame] = []
    for start in range(0, len(tagged), chunk_rules):  # one job per chunk: bounded driver memory
        chunk = ", ".join(tagged[start : start + chunk_rules])
        needed = {n: F.expr(sql) for n, sql in lowered.items() if quoted(n) in chunk}
        prepared = joined.withColumns(needed) if needed else joined
        rules_col = F.expr(f"filter(array({chunk}), x -> x IS NOT NULL)").alias(RULES_COLUMN)
        selected = prepared.select(*wanted, F.col(key_name), rules_col)
        frames.append(_to_polars(selected.where(F.size(F.col(RULES_COLUMN)) > 0)))
    frame = pl.concat(frames, how="diagonal_relaxed")
    clock = _lap(run, "match", clock)
    run.matches = _matches(frame, rules, targets)
    _lap(run, "alerts", clock)
    return run


def _lap(run: SparkRun, step: str, since: float) -> float:
    now = time.perf_counter()
    run.seconds[step] = run.seconds.get(step, 0.0) + now - since
    return now


def _colon_values(events: DataFrame, fields: set[str]) -> dict[str, list[str]]:
    from pyspark.sql import functions as F

    out: dict[str, list[str]] = {}
    backend = SparkBackend(events.schema)
    for name in sorted(fields):
        if not backend.has(name):
            continue
        column = F.expr(backend.raw(name))
        rows = events.select(column.alias("v")).where(column.contains(":")).distinct().collect()
        out[name] = [r["v"] for r in rows]
    return out


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


def _to_polars(selected: DataFrame) -> pl.DataFrame:
    frame = pl.from_arrow(selected.toArrow())
    assert isinstance(frame, pl.DataFrame)
    if "timestamp" in frame.columns and frame.schema["timestamp"] != TIMESTAMP_TYPE:
        stamp = pl.col("timestamp")
        if frame.schema["timestamp"].is_integer():  # nanoseconds read as long (nanosAsLong)
            stamp = stamp.cast(pl.Datetime("ns"))
        frame = frame.with_columns(stamp.cast(TIMESTAMP_TYPE, strict=False).dt.replace_time_zone("UTC"))
    return frame


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
