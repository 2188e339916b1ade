"""Command and control on the wire: beaconing and long-lived connections (Zeek conn, Suricata flow).

Beaconing scores every (source, destination, port, protocol) pair on how machine-like its timing
and sizes are, in the spirit of RITA but with our own formula:

* interval skew: 1 - |Bowley skew| of the gaps between connections (symmetric jitter keeps it high);
* interval dispersion: 1 - MAD / median of the gaps (a 60 s beacon with +/-10 % jitter scores ~0.95);
* continuity: connections x median gap / observed span (1 when it never went quiet);
* size skew and size dispersion: the same two measures over bytes sent per connection.

score = 0.6 x mean(timing measures) + 0.4 x mean(size measures), in [0, 1].

Ordinary periodic traffic is kept out before scoring, not by lowering the score: internal-to-internal
pairs (monitoring polls, DNS to the resolver, domain traffic) unless ``include_internal``; well-known
infrastructure services (``ignore_services``: NTP udp/123, DNS, NetBIOS, mDNS, SSDP, DHCP, SNMP);
``allow_destinations``; and destinations that a large share of internal hosts talk to
(``max_prevalence``: update services, NTP pools, telemetry), since a C2 server is rare.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from chainbreaker.alerts import Level
from chainbreaker.detect.analytics.base import Analytic, Params, param
from chainbreaker.detect.analytics.common import (
    empty_findings,
    evidence_aggs,
    explained,
    in_networks,
    is_private,
)
from chainbreaker.detect.analytics.network import CONN_COLUMNS, CONN_SOURCES, connections
from chainbreaker.detect.analytics.registry import register

#: A pair is scored per sensor: when Zeek and Suricata both log a beacon, merging their rows would
#: interleave two copies of every callback and destroy the regular interval.
PAIR = ("source", "src_ip", "dst_ip", "dst_port", "proto")

INFRASTRUCTURE_SERVICES = (
    "udp/53", "tcp/53", "udp/123", "udp/137", "udp/138", "udp/5353", "udp/5355", "udp/1900", "udp/67",
    "udp/68", "udp/161", "udp/162", "udp/514", "icmp/0", "icmp/8",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class BeaconParams(Params):
    min_connections: int = param(20, "connections of a pair before it is scored")
    min_score: float = param(0.8, "score (0..1) from which a pair is reported")
    include_internal: bool = param(False, "also score internal-to-internal pairs")
    ignore_services: tuple[str, ...] = param(INFRASTRUCTURE_SERVICES, "proto/port pairs never scored")
    allow_destinations: tuple[str, ...] = param((), "destination addresses / IPv4 CIDRs never scored")
    max_prevalence: float = param(0.5, "ignore destinations reached by more than this share of sources")
    min_population: int = param(5, "internal sources needed before prevalence is applied")


def _bowley(q1: pl.Expr, q2: pl.Expr, q3: pl.Expr) -> pl.Expr:
    spread = q3 - q1
    return pl.when(spread > 0).then((q1 + q3 - 2 * q2) / spread).otherwise(0.0)


def _dispersion_score(median: pl.Expr, mad: pl.Expr) -> pl.Expr:
    return (
        pl.when(median > 0)
        .then(1 - mad / median)
        .otherwise(pl.when(mad == 0).then(1.0).otherwise(0.0))
        .clip(0, 1)
    )


def reportable(include_internal: bool, allow_destinations: tuple[str, ...]) -> pl.Expr:
    """The connections the C2 analytics may report: not internal-to-internal (unless asked), not to an
    allow-listed destination."""
    keep = pl.lit(True)
    if not include_internal:
        keep = keep & ~(is_private("src_ip") & is_private("dst_ip"))
    if allow_destinations:
        keep = keep & ~in_networks("dst_ip", allow_destinations)
    return keep


def candidate_connections(conns: pl.DataFrame, p: BeaconParams) -> pl.DataFrame:
    """Connections of pairs worth scoring (filters of the module docstring applied).

    The filters run on the table of distinct pairs, not on every connection, so that millions of
    connections cost one group-by and one semi-join."""
    pairs = conns.lazy().group_by(PAIR).agg(pl.len().alias("_n")).collect()
    service = pl.format("{}/{}", pl.col("proto"), pl.col("dst_port").cast(pl.String).fill_null("0"))
    pairs = pairs.filter(
        ~service.is_in(list(p.ignore_services)) & reportable(p.include_internal, p.allow_destinations)
    )
    sources = pairs.filter(is_private("src_ip")).get_column("src_ip").n_unique()
    if sources >= p.min_population:
        share = pl.col("src_ip").n_unique().over("dst_ip") / sources
        pairs = pairs.filter(share <= p.max_prevalence)
    pairs = pairs.filter(pl.col("_n") >= p.min_connections)
    return conns.lazy().join(pairs.lazy().select(PAIR), on=list(PAIR), how="semi", nulls_equal=True).collect()


def score_pairs(conns: pl.DataFrame) -> pl.DataFrame:
    """Per pair: counts, interval and size statistics and the beacon score.

    Pairs are keyed by a 64-bit hash of (source, destination, port, protocol) while sorting and in the
    window functions: integer keys instead of four columns with strings (millions of connections)."""
    key = "_pair"
    conns = conns.with_columns(pl.struct(PAIR).hash().alias(key)).sort(key, "timestamp")
    conns = conns.with_columns(
        pl.col("timestamp").diff().over(key).dt.total_milliseconds().truediv(1000).alias("_gap"),
        pl.col("out_bytes").fill_null(0).cast(pl.Float64).alias("_size"),
    )
    conns = conns.with_columns(
        (pl.col("_gap") - pl.col("_gap").median().over(key)).abs().alias("_gap_dev"),
        (pl.col("_size") - pl.col("_size").median().over(key)).abs().alias("_size_dev"),
    )
    gap, size = pl.col("_gap"), pl.col("_size")
    pairs = conns.group_by(key).agg(
        *(pl.col(c).first() for c in PAIR),
        *evidence_aggs(),
        pl.col("timestamp").max().alias("_last"),
        gap.quantile(0.25).alias("_g1"), gap.median().alias("_g2"), gap.quantile(0.75).alias("_g3"),
        pl.col("_gap_dev").median().alias("_gap_mad"),
        size.quantile(0.25).alias("_s1"), size.median().alias("_s2"), size.quantile(0.75).alias("_s3"),
        pl.col("_size_dev").median().alias("_size_mad"),
    )  # fmt: skip
    span = (pl.col("_last") - pl.col("time")).dt.total_milliseconds() / 1000
    timing = (
        (1 - _bowley(pl.col("_g1"), pl.col("_g2"), pl.col("_g3")).abs())
        + _dispersion_score(pl.col("_g2"), pl.col("_gap_mad"))
        + pl.when(span > 0).then(pl.col("count") * pl.col("_g2") / span).otherwise(0.0).clip(0, 1)
    ) / 3
    sizes = (
        (1 - _bowley(pl.col("_s1"), pl.col("_s2"), pl.col("_s3")).abs())
        + _dispersion_score(pl.col("_s2"), pl.col("_size_mad"))
    ) / 2
    return pairs.with_columns(span.alias("_span"), (0.6 * timing + 0.4 * sizes).alias("score"))


@register
class Beaconing(Analytic):
    id = "beaconing"
    name = "Beaconing (regular connections to one destination)"
    phases = ("command-and-control",)
    techniques = ("T1071", "T1573")
    tactics = ("command-and-control",)
    sources = CONN_SOURCES
    columns = CONN_COLUMNS
    level = Level.high
    params_type = BeaconParams
    description = (
        "Scores each source/destination/port pair on interval skew and dispersion (MAD), continuity, and "
        "size skew and dispersion; reports pairs at or above min_score. Internal-to-internal pairs, "
        "infrastructure services (NTP, DNS, ...), allow-listed and widely shared destinations (update "
        "services, NTP pools: max_prevalence) are excluded so they cannot outrank a real beacon."
    )

    def run(self, events: pl.DataFrame) -> pl.DataFrame:
        p = self.params
        assert isinstance(p, BeaconParams)
        conns = candidate_connections(connections(events), p)
        if conns.is_empty():
            return empty_findings()
        pairs = score_pairs(conns).filter(pl.col("score") >= p.min_score)
        return pairs.with_columns(
            pl.format(
                "{} -> {}:{}/{}: {} connections over {} h, median interval {} s (MAD {} s), median size {} B "
                "(MAD {} B); beacon score {}",
                *(pl.col(c) for c in PAIR[1:]),  # the pair without its sensor
                pl.col("count"),
                (pl.col("_span") / 3600).round(2),
                pl.col("_g2").round(1),
                pl.col("_gap_mad").round(1),
                pl.col("_s2").round(0),
                pl.col("_size_mad").round(0),
                pl.col("score").round(3),
            ).alias("explanation")
        ).sort("score", descending=True)


@dataclass(frozen=True, slots=True)
class LongConnParams(Params):
    min_duration: float = param(3600.0, "seconds one connection must last")
    include_internal: bool = param(False, "also report internal-to-internal pairs")
    allow_destinations: tuple[str, ...] = param((), "destination addresses / IPv4 CIDRs never reported")


@register
class LongConnection(Analytic):
    id = "long_connection"
    name = "Long-lived connection to an external destination"
    phases = ("command-and-control",)
    techniques = ("T1071", "T1572")
    tactics = ("command-and-control",)
    sources = CONN_SOURCES
    columns = CONN_COLUMNS
    level = Level.low
    params_type = LongConnParams
    description = (
        "A source/destination pair with a connection lasting at least min_duration (interactive C2, "
        "tunnels); internal-to-internal pairs are skipped by default."
    )

    def run(self, events: pl.DataFrame) -> pl.DataFrame:
        p = self.params
        assert isinstance(p, LongConnParams)
        conns = connections(events).filter(
            reportable(p.include_internal, p.allow_destinations) & pl.col("duration").is_not_null()
        )
        if conns.is_empty():
            return empty_findings()
        pairs = conns.group_by(PAIR).agg(
            *evidence_aggs(), pl.col("duration").max().alias("_max"), pl.col("duration").sum().alias("_sum")
        )
        pairs = pairs.filter(pl.col("_max") >= p.min_duration)
        return explained(
            pairs,
            "{} -> {}:{}/{}: longest connection {} h, {} connections totalling {} h",
            *(pl.col(c) for c in PAIR[1:]),  # the pair without its sensor
            (pl.col("_max") / 3600).round(2),
            pl.col("count"),
            (pl.col("_sum") / 3600).round(2),
        )
