"""Reconnaissance on the network: vertical and horizontal port scans, host sweeps, failed connections.

All four bucket connections by ``window`` and count distinct targets per scanner, so a scan cut by
a bucket edge can be split across two alerts (or fall below the threshold in both): keep the window
well above the scan's duration. Ordinary clients reach many hosts on one port too (web browsing),
hence the second threshold on targets that never answered or refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import polars as pl

from chainbreaker.alerts import Level
from chainbreaker.detect.analytics.base import Analytic, Params, param
from chainbreaker.detect.analytics.common import empty_findings, evidence_aggs, explained, is_private
from chainbreaker.detect.analytics.network import CONN_COLUMNS, CONN_SOURCES, connections
from chainbreaker.detect.analytics.registry import register


def outside_is_reconnaissance(found: pl.DataFrame) -> pl.DataFrame:
    """Probing from outside is reconnaissance only (T1595.001 Active Scanning); from inside, a finding
    keeps its analytic's techniques and tactics (the null ``techniques``/``tactics`` fall back to them)."""
    outside = ~is_private("src_ip")
    return found.with_columns(
        pl.when(outside).then(pl.lit(["T1595.001"])).alias("techniques"),
        pl.when(outside).then(pl.lit(["reconnaissance"])).alias("tactics"),
    )


@dataclass(frozen=True, slots=True)
class ScanParams(Params):
    window: str = param("1h", "time bucket in which targets are counted (Polars duration)")
    min_targets: int = param(20, "distinct targets (ports for vertical, hosts otherwise) per bucket")
    min_failed_targets: int = param(5, "of which at least this many never answered or refused")


class _ScanAnalytic(Analytic):
    phases = ("reconnaissance",)
    tactics = ("reconnaissance", "discovery")
    sources = CONN_SOURCES
    columns = CONN_COLUMNS
    level = Level.medium
    params_type: ClassVar[type[Params]] = ScanParams
    keys: ClassVar[tuple[str, ...]]
    target: ClassVar[str]
    label: ClassVar[str]

    def select(self, conns: pl.DataFrame) -> pl.DataFrame:
        return conns

    def run(self, events: pl.DataFrame) -> pl.DataFrame:
        p = self.params
        assert isinstance(p, ScanParams)
        conns = self.select(connections(events))
        if conns.is_empty():
            return empty_findings()
        conns = conns.with_columns(pl.col("timestamp").dt.truncate(p.window).alias("_bucket"))
        found = (
            conns.group_by([*self.keys, "_bucket"])
            .agg(
                *evidence_aggs(),
                pl.col(self.target).n_unique().alias("targets"),
                pl.col(self.target).filter(pl.col("failed")).n_unique().alias("failed_targets"),
                pl.col("timestamp").max().alias("_last"),
            )
            .filter((pl.col("targets") >= p.min_targets) & (pl.col("failed_targets") >= p.min_failed_targets))
        )
        span = (pl.col("_last") - pl.col("time")).dt.total_seconds()
        return explained(
            outside_is_reconnaissance(found),
            "{} probed {} distinct {} ({} unanswered or refused) in {} s over {} connections",
            pl.col("src_ip"),
            pl.col("targets"),
            pl.lit(self.label),
            pl.col("failed_targets"),
            span,
            pl.col("count"),
        )


@register
class VerticalPortScan(_ScanAnalytic):
    id = "vertical_port_scan"
    name = "Vertical port scan"
    techniques = ("T1046",)
    description = (
        "One source connects to many distinct ports of one destination within a window, several of them "
        "unanswered or refused (Zeek conn_state S0/REJ/RSTOS0/..., Suricata flows without reply)."
    )
    keys = ("src_ip", "dst_ip")
    target = "dst_port"
    label = "ports"


@register
class HorizontalPortScan(_ScanAnalytic):
    id = "horizontal_port_scan"
    name = "Horizontal port scan"
    techniques = ("T1046",)
    description = (
        "One source connects to the same port/protocol on many distinct hosts within a window, several of "
        "which never answered or refused; plain browsing reaches many hosts too but they answer."
    )
    keys = ("src_ip", "dst_port", "proto")
    target = "dst_ip"
    label = "hosts on one port"

    def run(self, events: pl.DataFrame) -> pl.DataFrame:
        found = super().run(events)
        if found.is_empty():
            return found
        return found.with_columns(
            pl.format("{} (port {}/{})", pl.col("explanation"), pl.col("dst_port"), pl.col("proto")).alias(
                "explanation"
            )
        )


@dataclass(frozen=True, slots=True)
class SweepParams(ScanParams):
    min_failed_targets: int = param(0, "of which at least this many never answered")


@register
class HostSweep(_ScanAnalytic):
    id = "icmp_host_sweep"
    name = "Host sweep (ICMP)"
    techniques = ("T1018",)
    tactics = ("discovery", "reconnaissance")
    description = (
        "One source sends ICMP echo requests (type 8, ICMPv6 128) to many distinct hosts within a window "
        "(ping sweep); replies, unreachables and neighbour discovery do not count."
    )
    params_type = SweepParams
    keys = ("src_ip",)
    target = "dst_ip"
    label = "hosts with ICMP"

    def select(self, conns: pl.DataFrame) -> pl.DataFrame:
        return conns.filter(pl.col("proto").str.contains("icmp") & pl.col("icmp_type").is_in([8, 128]))


@dataclass(frozen=True, slots=True)
class FailedParams(Params):
    window: str = param("1h", "time bucket (Polars duration)")
    min_failed: int = param(100, "failed connection attempts per source per bucket")
    min_failed_ratio: float = param(0.8, "share of the source's connections in the bucket that failed")
    min_targets: int = param(10, "distinct (host, port) targets among the failures")


@register
class FailedConnections(Analytic):
    id = "failed_connections"
    name = "Many failed connections"
    phases = ("reconnaissance",)
    techniques = ("T1046",)
    tactics = ("reconnaissance", "discovery")
    sources = CONN_SOURCES
    columns = CONN_COLUMNS
    level = Level.low
    params_type = FailedParams
    description = (
        "A source whose connections mostly fail (no answer or refused) to many targets: scanning, or "
        "malware retrying dead infrastructure."
    )

    def run(self, events: pl.DataFrame) -> pl.DataFrame:
        p = self.params
        assert isinstance(p, FailedParams)
        conns = connections(events).with_columns(pl.col("timestamp").dt.truncate(p.window).alias("_bucket"))
        target = pl.struct("dst_ip", "dst_port")
        found = conns.group_by("src_ip", "_bucket").agg(
            pl.col("failed").sum().alias("failed_n"),
            pl.len().alias("total"),
            target.filter(pl.col("failed")).n_unique().alias("targets"),
            pl.col("timestamp").filter(pl.col("failed")).min().alias("time"),
            pl.col("failed").sum().cast(pl.Int64).alias("count"),
            pl.col("event_ref").filter(pl.col("failed")).head(50).alias("refs"),
        )
        found = found.filter(
            (pl.col("failed_n") >= p.min_failed)
            & (pl.col("failed_n") / pl.col("total") >= p.min_failed_ratio)
            & (pl.col("targets") >= p.min_targets)
        )
        return explained(
            outside_is_reconnaissance(found),
            "{} had {} of {} connections fail (no answer or refused) towards {} distinct targets",
            pl.col("src_ip"),
            pl.col("failed_n"),
            pl.col("total"),
            pl.col("targets"),
        )
