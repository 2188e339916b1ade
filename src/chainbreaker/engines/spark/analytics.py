"""Analytics, sensor verdicts and threat intel of ``hunt --engine spark``: filtered on the executors,
decided on the driver by the embedded detectors themselves (docs/SCALE.md).

Each builtin detector gets a *feed*: a Spark filter and projection derived from its declarations
(the analytics' ``sources``, ``columns`` and declared ``rows``, the verdicts' sources and columns, the intel
matcher's observable fields via a broadcast join, :mod:`.intel`). Only the rows and columns a
feed selects leave the executors, as Arrow, one bounded group of Parquet part files at a time.
On the driver the rows are put back in the order of the part files (``_metadata.file_path`` and
``_metadata.row_index``) and handed, one part file at a time, to the same detector objects the
embedded hunt uses: a part file is one batch of the embedded read (``chainbreaker ingest`` writes
one per batch), so per-batch logic (the intel matcher groups its hits per batch) sees the same
batches, and the alert logic exists once.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import reduce
from typing import TYPE_CHECKING

import polars as pl

from chainbreaker.alerts import Alert
from chainbreaker.detect.analytics.base import BASE_COLUMNS
from chainbreaker.detect.base import Detector
from chainbreaker.detect.interest import Where
from chainbreaker.engines.spark.backend import quoted
from chainbreaker.engines.spark.job import to_polars
from chainbreaker.pipeline import HuntOptions, builtin_detectors

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession
    from pyspark.sql.types import StructType

FILE_COLUMN = "__cb_file"
ROW_COLUMN = "__cb_row"
#: Parquet part files per Spark job of a feed: what one job brings to the driver at most is the
#: selected rows and columns of this many part files (50,000 events each by default).
CHUNK_FILES = 16

#: A feed: the events of some part files -> the rows and columns its detector needs (plus the
#: file and row position columns, which :func:`positioned` adds).
Select = Callable[["DataFrame"], "DataFrame"]


@dataclass
class Feed:
    detector: Detector
    select: Select


def positioned(events: DataFrame) -> DataFrame:
    """The events with their part file and row number in it (Parquet's hidden metadata columns)."""
    from pyspark.sql import functions as F

    return events.withColumns(
        {FILE_COLUMN: F.col("_metadata.file_path"), ROW_COLUMN: F.col("_metadata.row_index")}
    )


def projection(
    schema: StructType,
    sources: Mapping[str, Sequence[str]],
    rows: Mapping[str, tuple[Where, ...] | None] | None = None,
) -> Select:
    """Rows whose ``source`` is a key of ``sources`` (with ``rows``, of a source that has
    conditions only the rows one of them holds for: the analytics' declared rows, as
    ``AnalyticsDetector.source_rows`` gives them); the union of their columns (those present)."""
    present = set(schema.fieldNames())
    wanted = list(dict.fromkeys(c for cs in sources.values() for c in (*BASE_COLUMNS, *cs) if c in present))
    conditions = {s: w for s, w in (rows or {}).items() if s in sources and w is not None}
    whole = sorted(s for s in sources if s not in conditions)

    def select(events: DataFrame) -> DataFrame:
        from pyspark.sql import functions as F

        keep = [F.col(quoted(c)) for c in wanted] + [F.col(FILE_COLUMN), F.col(ROW_COLUMN)]
        chosen = F.col("source").isin(whole) if whole else F.lit(False)
        for source, wheres in sorted(conditions.items()):
            held = [_held(w, present) for w in wheres]
            chosen = chosen | ((F.col("source") == source) & reduce(operator.or_, held))
        return positioned(events).where(chosen).select(*keep)

    return select


def _held(where: Where, present: set[str]) -> Column:
    """The Spark form of ``detect.interest.held``: never true where the column is absent."""
    from pyspark.sql import functions as F

    column, values = where
    if column not in present:
        return F.lit(False)
    if values is None:
        return F.col(quoted(column)).isNotNull()
    return F.col(quoted(column)).isin(sorted(values, key=str))


def analytics_feed(detector: Detector, schema: StructType) -> Feed:
    """Rows of the sources some analytic reads, with the columns the analytics of that source read."""
    from chainbreaker.detect.analytics import AnalyticsDetector

    assert isinstance(detector, AnalyticsDetector)
    return Feed(detector, projection(schema, detector.source_columns, detector.source_rows))


def verdicts_feed(detector: Detector, schema: StructType) -> Feed:
    """Suricata EVE alerts and Zeek notices, with the columns the verdicts read."""
    from chainbreaker.detect.verdicts import SURICATA_COLUMNS, ZEEK_COLUMNS

    return Feed(
        detector, projection(schema, {"suricata.alert": SURICATA_COLUMNS, "zeek.notice": ZEEK_COLUMNS})
    )


def feeds_for(detectors: Sequence[Detector], schema: StructType) -> list[Feed]:
    from chainbreaker.engines.spark.intel import intel_feed

    makers = {"analytics": analytics_feed, "verdicts": verdicts_feed, "intel": intel_feed}
    return [makers[d.name](d, schema) for d in detectors]


def part_files(spark: SparkSession, paths: Sequence[str], schema: StructType) -> list[str]:
    """Every Parquet part file of the datasets, in read order: dataset by dataset, then by name
    (``part-<task>-<seq>``: the order in which the embedded read produced the batches)."""
    files: dict[str, None] = {}  # ordered, each file once (a path given twice reads once)
    for path in paths:
        files.update(dict.fromkeys(sorted(spark.read.schema(schema).parquet(path).inputFiles())))
    return list(files)


def _normal(uri: str) -> str:
    """``file:///a/b`` and ``file:/a/b`` (Spark spells a file's URI both ways) -> ``file:/a/b``."""
    return re.sub(r"^([A-Za-z][\w+.-]*):/+", r"\1:/", uri)


def batches(
    spark: SparkSession,
    files: Sequence[str],
    schema: StructType,
    select: Select,
    chunk_files: int = CHUNK_FILES,
) -> Iterator[pl.DataFrame]:
    """The selected rows, one frame per part file (in file and row order, each row once),
    ``chunk_files`` files per Spark job."""
    order = {_normal(f): i for i, f in enumerate(files)}
    for start in range(0, len(files), chunk_files):
        chunk = files[start : start + chunk_files]
        events = spark.read.schema(schema).parquet(*chunk)
        frame = to_polars(select(events).toArrow())
        if frame.is_empty():
            continue
        seen = sorted(frame.get_column(FILE_COLUMN).unique().to_list(), key=_normal)
        # a file missing from the list (URIs spelt in a third way) sorts after the listed ones
        rank = {f: order.get(_normal(f), len(order) + i) for i, f in enumerate(seen)}
        frame = frame.with_columns(pl.col(FILE_COLUMN).replace_strict(rank, return_dtype=pl.Int64))
        frame = frame.sort(FILE_COLUMN, ROW_COLUMN).unique([FILE_COLUMN, ROW_COLUMN], maintain_order=True)
        for part in frame.partition_by(FILE_COLUMN, maintain_order=True):
            yield part.drop(FILE_COLUMN, ROW_COLUMN)


def builtin_alerts(
    spark: SparkSession,
    events: DataFrame,
    paths: Sequence[str],
    options: HuntOptions,
    chunk_files: int = CHUNK_FILES,
) -> tuple[list[Alert], list[Detector]]:
    """Alerts of the embedded hunt's builtin detectors (:func:`pipeline.builtin_detectors`:
    analytics, verdicts, intel as ``options`` ask) over the Parquet datasets ``paths``."""
    detectors = builtin_detectors(options)
    if not detectors:
        return [], []
    schema = events.schema
    files = part_files(spark, paths, schema)
    alerts: list[Alert] = []
    for feed in feeds_for(detectors, schema):
        for batch in batches(spark, files, schema, feed.select, chunk_files):
            alerts.extend(feed.detector.observe(batch))
        alerts.extend(feed.detector.finish())
    floor = options.selection.min_level  # as in the embedded hunt: --min-level applies to every detector
    return [a for a in alerts if a.level >= floor], detectors
