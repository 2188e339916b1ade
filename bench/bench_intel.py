"""Benchmark: load 1,000,000 generated indicators (text list and CSV) and match event batches.

Run: .venv/bin/python bench/bench_intel.py [N]. Prints load, index and match timings.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from chainbreaker.detect.intel import IntelDetector, load_indicators
from chainbreaker.events import conform


def generate(n: int) -> pl.DataFrame:
    i = pl.col("i")
    return pl.select(pl.int_range(0, n, eager=True).alias("i")).select(
        pl.when(i % 4 == 0)
        .then(pl.format("10.{}.{}.{}", (i // 65536) % 256, (i // 256) % 256, i % 256))
        .when(i % 4 == 1)
        .then(pl.format("host{}.bad-example.net", i))
        .when(i % 4 == 2)
        .then(pl.format("{}", i.cast(pl.String).str.pad_start(64, "a")))
        .otherwise(pl.format("http://site{}.example/path/{}", i, i % 97))
        .alias("value")
    )


def events(n: int) -> pl.DataFrame:
    t = datetime(2024, 1, 1, tzinfo=UTC)
    i = pl.int_range(0, n, eager=True)
    frame = pl.DataFrame({"n": i}).select(
        pl.lit(t).alias("timestamp"),
        pl.when(pl.col("n") % 2 == 0).then(pl.lit("zeek.dns")).otherwise(pl.lit("zeek.conn")).alias("source"),
        pl.format("10.{}.{}.{}", pl.col("n") % 7, pl.col("n") % 251, pl.col("n") % 13).alias("src_ip"),
        pl.format("192.0.{}.{}", pl.col("n") % 256, pl.col("n") % 200).alias("dst_ip"),
        pl.when(pl.col("n") % 100 == 0)  # 1 % of the queries hit a listed domain
        .then(pl.format("a{}.b.host{}.bad-example.net", pl.col("n"), pl.col("n") * 4 + 1))
        .otherwise(pl.format("a{}.b.host{}.good-example.org", pl.col("n"), pl.col("n")))
        .alias("query"),
        pl.struct(pl.lit("bench").alias("file"), pl.col("n").alias("record")).alias("event_ref"),
    )
    return conform(frame)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    with tempfile.TemporaryDirectory() as folder:
        text = Path(folder) / "list.txt"
        generate(n).write_csv(text, include_header=False)
        csv = Path(folder) / "feed.csv"
        generate(n).with_columns(pl.lit("feed").alias("source"), pl.lit(70).alias("confidence")).select(
            "value", "source", "confidence"
        ).write_csv(csv)
        for path in (text, csv):
            start = time.perf_counter()
            table = load_indicators([path])
            print(f"load {path.suffix}: {table.height:,} indicators in {time.perf_counter() - start:.2f} s")
    start = time.perf_counter()
    detector = IntelDetector(table)
    print(f"index: {time.perf_counter() - start:.2f} s")
    batch = events(50_000)
    start = time.perf_counter()
    alerts = detector.observe(batch)
    print(f"match: 50,000 events in {time.perf_counter() - start:.2f} s, {len(alerts):,} alerts")


if __name__ == "__main__":
    main()
