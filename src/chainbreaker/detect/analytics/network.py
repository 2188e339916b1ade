"""Shared views over connection records (Zeek conn and Suricata flow) for the network analytics."""

from __future__ import annotations

import polars as pl

from chainbreaker.detect.analytics.common import as_int, col_or_null

#: Sources that carry one record per connection.
CONN_SOURCES = frozenset({"zeek.conn", "suricata.flow"})

#: Columns the connection analytics read (Zeek names first, then Suricata's flattened names).
CONN_COLUMNS: tuple[str, ...] = (
    "src_ip",
    "dst_ip",
    "dst_port",
    "proto",
    "conn_state",
    "duration",
    "orig_bytes",
    "resp_bytes",
    "flow.state",
    "flow.pkts_toclient",
    "flow.bytes_toserver",
    "flow.bytes_toclient",
    "flow.age",
    "src_port",
    "icmp_type",
)

#: Zeek conn states of attempts the responder never accepted: no answer (S0), rejected (REJ),
#: originator SYN then RST (RSTOS0), responder SYN-ACK/RST without a handshake (RSTRH, SH, SHR).
FAILED_STATES = ("S0", "REJ", "RSTOS0", "RSTRH", "SH", "SHR")


#: What :func:`connections` keeps: per connection only its time, reference, endpoints and sizes.
REDUCED_COLUMNS = ("timestamp", "event_ref", "source", "src_ip", "dst_ip", "dst_port", "proto", "icmp_type",
                   "failed", "duration", "out_bytes", "in_bytes")  # fmt: skip


def reduce_batch(events: pl.DataFrame) -> pl.DataFrame:
    """Per-batch pre-aggregation for the connection analytics: the uniform columns, with the repetitive
    strings (addresses, protocol, file name, source) as Categorical to keep days of rotated logs in memory."""
    conns = connections(events)
    return conns.with_columns(
        pl.col("src_ip", "dst_ip", "proto", "source").cast(pl.Categorical),
        pl.col("event_ref").cast(pl.Struct({"file": pl.Categorical, "record": pl.Int64})),
        pl.col("duration").cast(pl.Float32),
    )


def expand(reduced: pl.DataFrame) -> pl.DataFrame:
    """Undo the Categorical casts of :func:`reduce_batch` (string operations need String)."""
    return reduced.with_columns(
        pl.col("src_ip", "dst_ip", "proto", "source").cast(pl.String),
        pl.col("event_ref").cast(pl.Struct({"file": pl.String, "record": pl.Int64})),
        pl.col("duration").cast(pl.Float64),
    )


def connections(events: pl.DataFrame) -> pl.DataFrame:
    """One row per connection with uniform columns: timestamp, event_ref, src_ip, dst_ip, dst_port,
    proto (lower case), failed (bool), duration (s), out_bytes, in_bytes."""
    if "failed" in events.columns:  # already reduced by AnalyticsDetector.observe
        return events.select(REDUCED_COLUMNS)
    zeek = pl.col("source") == "zeek.conn"
    suricata_no_reply = as_int("flow.pkts_toclient") == 0
    return events.select(
        "timestamp",
        "event_ref",
        "source",  # the sensor: Zeek and Suricata seeing one connection are two views, never merged
        "src_ip",
        "dst_ip",
        "dst_port",
        col_or_null(events, "proto").str.to_lowercase().alias("proto"),
        # Zeek puts the ICMP type in the originator port; Suricata has an icmp_type field.
        pl.when(zeek)
        .then(pl.col("src_port").cast(pl.Int32))
        .otherwise(as_int("icmp_type").cast(pl.Int32))
        .alias("icmp_type"),
        pl.when(zeek)
        .then(col_or_null(events, "conn_state").is_in(FAILED_STATES))
        .otherwise(suricata_no_reply)
        .fill_null(False)
        .alias("failed"),
        pl.when(zeek)
        .then(col_or_null(events, "duration").cast(pl.Float64, strict=False))
        .otherwise(col_or_null(events, "flow.age").cast(pl.Float64, strict=False))
        .alias("duration"),
        pl.when(zeek).then(as_int("orig_bytes")).otherwise(as_int("flow.bytes_toserver")).alias("out_bytes"),
        pl.when(zeek).then(as_int("resp_bytes")).otherwise(as_int("flow.bytes_toclient")).alias("in_bytes"),
    ).filter(pl.col("src_ip").is_not_null() & pl.col("dst_ip").is_not_null())
