"""The Spark job's small passes over the events, before rules run: keys, distinct values, CIDR values.

Each returns little to the driver (per partition key counts, distinct values up to a cap), however
many events there are; :mod:`chainbreaker.engines.spark.job` describes how they fit together.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from chainbreaker.detect.sigma import ir
from chainbreaker.detect.sigma.logsources import PartitionKey
from chainbreaker.detect.sigma.rules import CompiledRule
from chainbreaker.engines.spark.backend import SparkBackend, quoted

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

KEY_COLUMN = "__cb_key"
KEYS = ("source", "channel", "event_code")
_KEY_PREFIX = "__cb_k:"


@dataclass(frozen=True)
class KeyScan:
    """The partition keys of the data: per key, its events and the columns holding a value."""

    keys: list[PartitionKey]
    present: list[frozenset[str]]
    counts: list[int]  # events per key

    @property
    def records(self) -> int:
        return sum(self.counts)


def counted_columns(rules: Sequence[CompiledRule], strings: set[str]) -> set[str]:
    """String columns whose presence per key matters: those a rule cites (any log-source variant),
    their ``Threat Name``-style spaced originals, or all of them when a rule searches keywords."""
    cited: set[str] = set()
    for rule in rules:
        for target in rule.targets:
            node = rule.compiled_for(target)
            if any(getattr(leaf, "field", "") is None for leaf in ir.leaves(node)):
                return set(strings)
            cited |= ir.fields(node)
            cited |= {leaf.other for leaf in ir.leaves(node) if isinstance(leaf, ir.FieldRef)}
    return {c for c in strings if c in cited or c.replace(" ", "") in cited}


def scan_keys(events: DataFrame, counted: Sequence[str]) -> KeyScan:
    """One aggregate: per ``(source, channel, event_code)`` the events and non-null ``counted``."""
    from pyspark.sql import functions as F

    aggregates = [F.count(F.lit(1)).alias("__cb_n")]
    aggregates += [F.count(F.col(quoted(c))).alias(f"__cb_c{i}") for i, c in enumerate(counted)]
    rows = events.groupBy(*KEYS).agg(*aggregates).collect()
    keys: list[PartitionKey] = [
        (r["source"], r["channel"], None if r["event_code"] is None else int(r["event_code"])) for r in rows
    ]
    present = [frozenset(c for i, c in enumerate(counted) if r[f"__cb_c{i}"]) for r in rows]
    return KeyScan(keys, present, [int(r["__cb_n"]) for r in rows])


def tag_keys(spark: SparkSession, events: DataFrame, keys: Sequence[PartitionKey]) -> DataFrame:
    """The events with their key's number in :data:`KEY_COLUMN` (a broadcast join on the key table)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import IntegerType, StringType, StructField, StructType

    schema = StructType(
        [
            StructField(_KEY_PREFIX + "source", StringType()),
            StructField(_KEY_PREFIX + "channel", StringType()),
            StructField(_KEY_PREFIX + "event_code", IntegerType()),
            StructField(KEY_COLUMN, IntegerType()),
        ]
    )
    table = spark.createDataFrame([(*k, n) for n, k in enumerate(keys)], schema)
    on = [events[quoted(k)].eqNullSafe(table[quoted(_KEY_PREFIX + k)]) for k in KEYS]
    joined = events.join(F.broadcast(table), on=on, how="inner")
    return joined.drop(*[_KEY_PREFIX + k for k in KEYS])


def in_keys(numbers: Iterable[int]) -> str:
    """SQL: the row's key is one of ``numbers``."""
    return f"({quoted(KEY_COLUMN)} IN ({', '.join(map(str, sorted(numbers)))}))"


def distinct_values(
    keyed: DataFrame, wanted: Mapping[int, Mapping[str, str]], cap: int
) -> tuple[dict[tuple[int, str], list[str]], set[tuple[int, str]]]:
    """Per (key number, field) of ``wanted`` (key -> field -> its SQL), the field's distinct values.

    One pass: each row contributes its key's wanted fields (``inline`` of an array of structs),
    deduplicated by Spark (map-side, then one shuffle of distinct values only). Fields with more
    than ``cap`` distinct values in a key are returned in the second set, without values, so the
    driver's memory stays bounded on high-cardinality data.
    """
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    index: dict[str, int] = {}  # each distinct field SQL gets a number (keys may share fields)
    for fields in wanted.values():
        for sql in fields.values():
            index.setdefault(sql, len(index))
    if not index:
        return {}, set()
    branches = " ".join(
        f"WHEN {number} THEN array("
        + ", ".join(f"named_struct('f', {index[sql]}, 'v', {sql})" for sql in sorted(set(fields.values())))
        + ")"
        for number, fields in wanted.items()
    )
    # one CASE on the key: a row yields only its own key's fields, not every field of every key
    pairs = (
        keyed.where(in_keys(wanted))
        .selectExpr(quoted(KEY_COLUMN), f"inline(CASE {quoted(KEY_COLUMN)} {branches} END)")
        .where(F.col("v").isNotNull())
        .distinct()
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    try:
        counts = pairs.groupBy(KEY_COLUMN, "f").count().collect()
        over = {(int(r[KEY_COLUMN]), int(r["f"])) for r in counts if r["count"] > cap}
        kept = pairs
        if over:
            skip = " OR ".join(f"({quoted(KEY_COLUMN)} = {k} AND f = {j})" for k, j in sorted(over))
            kept = pairs.where(f"NOT ({skip})")
        frame = pl.from_arrow(kept.toArrow())
    finally:
        pairs.unpersist()
    assert isinstance(frame, pl.DataFrame)
    found: dict[tuple[int, int], list[str]] = {}
    for (number, j), part in frame.partition_by([KEY_COLUMN, "f"], as_dict=True).items():
        found[(int(number), int(j))] = part.get_column("v").to_list()
    values: dict[tuple[int, str], list[str]] = {}
    overflow: set[tuple[int, str]] = set()
    for number, fields in wanted.items():
        for name, sql in fields.items():
            if (number, index[sql]) in over:
                overflow.add((number, name))
            else:
                values[(number, name)] = found.get((number, index[sql]), [])
    return values, overflow


def colon_values(events: DataFrame, fields: set[str]) -> dict[str, list[str]]:
    """Per field, its distinct values containing ``:`` (for CIDR leaves left to Spark, see cidr.py)."""
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
