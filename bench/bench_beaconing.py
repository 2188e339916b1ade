"""Benchmark: beaconing over many hourly-rotated conn batches as one time line.

Run: .venv/bin/python bench/bench_beaconing.py [HOURS] [CONNECTIONS_PER_HOUR]
Generates, per hour, background traffic from 200 internal hosts to 5,000 external addresses plus one
60 s +/- 10 % beacon, feeds each hour to AnalyticsDetector as its own batch (like one rotated file),
and prints observe/finish times, the kept frame's size and where the beacon ranks.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta

import polars as pl

from chainbreaker.detect.analytics import AnalyticsDetector, analytic_class
from chainbreaker.events import conform

START = datetime(2024, 1, 1, tzinfo=UTC)


def hour_batch(hour: int, n: int) -> pl.DataFrame:
    seed = hour * 7919
    i = pl.int_range(0, n, eager=True)
    background = pl.DataFrame({"i": i}).select(
        (
            pl.lit(START + timedelta(hours=hour)) + pl.duration(milliseconds=(pl.col("i") * 3_600_000 // n))
        ).alias("timestamp"),
        pl.format(
            "10.0.{}.{}", (pl.col("i") * 31 + seed) % 200 // 250, (pl.col("i") * 31 + seed) % 200
        ).alias("src_ip"),
        pl.format(
            "198.18.{}.{}", (pl.col("i") * 17 + seed) % 5000 // 250, (pl.col("i") * 17 + seed) % 250
        ).alias("dst_ip"),
        pl.lit(443).alias("dst_port"),
        ((pl.col("i") * 7919 + seed) % 90_000 + 200).cast(pl.String).alias("orig_bytes"),
    )
    k = pl.int_range(0, 60, eager=True)
    jitter = (k.hash(seed=hour) % 1000).cast(pl.Float64) / 1000 * 0.2 - 0.1  # uniform in +/-10 %
    beacon = pl.DataFrame({"k": pl.int_range(0, 60, eager=True), "j": jitter}).select(
        (
            pl.lit(START + timedelta(hours=hour))
            + pl.duration(milliseconds=(pl.col("k") + pl.col("j")) * 60_000)
        ).alias("timestamp"),
        pl.lit("10.0.0.66").alias("src_ip"),
        pl.lit("203.0.113.66").alias("dst_ip"),
        pl.lit(443).alias("dst_port"),
        (310 + pl.col("k") % 5).cast(pl.String).alias("orig_bytes"),
    )
    frame = pl.concat([background, beacon]).with_row_index("record", offset=1)
    return conform(
        frame.with_columns(
            pl.lit("zeek.conn").alias("source"),
            pl.lit("tcp").alias("proto"),
            pl.lit("SF").alias("conn_state"),
            pl.lit("1200").alias("resp_bytes"),
            pl.lit("0.3").alias("duration"),
            pl.struct(pl.lit(f"conn.{hour:04d}.log").alias("file"), pl.col("record").cast(pl.Int64)).alias(
                "event_ref"
            ),
        ).drop("record")
    )


def main() -> None:
    hours = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    per_hour = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    detector = AnalyticsDetector([analytic_class("beaconing")()])
    generate = observe = 0.0
    for hour in range(hours):
        start = time.perf_counter()
        batch = hour_batch(hour, per_hour)
        generate += time.perf_counter() - start
        start = time.perf_counter()
        detector.observe(batch)
        observe += time.perf_counter() - start
    kept = sum(f.estimated_size() for frames in detector._kept.values() for f in frames)
    rows = sum(f.height for frames in detector._kept.values() for f in frames)
    start = time.perf_counter()
    alerts = detector.finish()
    finish = time.perf_counter() - start
    size = f"{kept / 1e6:.0f} MB ({kept / max(rows, 1):.0f} B each)"
    print(f"{hours} hourly batches, {rows:,} connections kept in {size}")
    print(f"observe {observe:.1f} s (generation {generate:.1f} s, not counted), finish {finish:.1f} s")
    for rank, alert in enumerate(alerts[:5], start=1):
        print(f"#{rank} score {alert.extra['score']}: {alert.description}")


if __name__ == "__main__":
    main()
