"""Command and control over DNS: tunnelling (many unique, long, high-entropy subdomains; TXT volume).

Per (source, registered domain) it counts unique subdomains, the mean length of their longest label,
the Shannon entropy of their characters (pooled over the group) and TXT/NULL queries. Reverse lookups
(in-addr.arpa, ip6.arpa), .local and allow-listed domains are skipped. The registered domain is the
last two labels, or three under short second-level labels (co.uk, com.au...): a heuristic, since the
public suffix list is not bundled.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from chainbreaker.alerts import Level
from chainbreaker.detect.analytics.base import Analytic, Params, param
from chainbreaker.detect.analytics.common import empty_findings, evidence_aggs, explained
from chainbreaker.detect.analytics.registry import register

_SECOND_LEVEL = r"^(co|com|net|org|gov|ac|edu|ne|or|go|mil|gob|nic)$"


def registered_domain(name: pl.Expr) -> pl.Expr:
    labels = name.str.split(".")
    n = labels.list.len()
    short_sld = labels.list.get(-2, null_on_oob=True).str.contains(_SECOND_LEVEL) & (
        labels.list.get(-1, null_on_oob=True).str.len_chars() == 2
    )
    keep = pl.when(short_sld & (n >= 3)).then(3).otherwise(2)
    return labels.list.slice(-keep).list.join(".")


@dataclass(frozen=True, slots=True)
class TunnelParams(Params):
    min_unique_subdomains: int = param(50, "unique subdomains one source queries under one domain")
    min_label_length: float = param(20.0, "mean length of the longest subdomain label (encoded data)")
    min_entropy: float = param(4.0, "Shannon entropy (bits/char) of the subdomain characters")
    min_txt_queries: int = param(100, "TXT/NULL queries from one source to one domain (alone suffices)")
    allow_domains: tuple[str, ...] = param((), "registered domains never reported")


@register
class DnsTunnel(Analytic):
    id = "dns_tunnel"
    name = "DNS tunnelling"
    phases = ("command-and-control", "actions-on-objectives")
    techniques = ("T1071.004", "T1048.003")
    tactics = ("command-and-control", "exfiltration")
    sources = frozenset({"zeek.dns"})
    columns = ("src_ip", "dst_ip", "query", "qtype_name")
    level = Level.high
    params_type = TunnelParams
    description = (
        "Zeek dns: one source queries many unique subdomains of one domain whose labels are long and "
        "high-entropy (data encoded in names), or sends many TXT/NULL queries to it."
    )

    def run(self, events: pl.DataFrame) -> pl.DataFrame:
        p = self.params
        assert isinstance(p, TunnelParams)
        query = pl.col("query").str.to_lowercase().str.strip_chars_end(".")
        dns = events.with_columns(query.alias("_q")).filter(
            pl.col("_q").is_not_null()
            & ~pl.col("_q").str.contains(r"(\.in-addr\.arpa|\.ip6\.arpa|\.local)$")
            & pl.col("_q").str.contains(r"\.")
        )
        dns = dns.with_columns(registered_domain(pl.col("_q")).alias("_domain"))
        dns = dns.filter(~pl.col("_domain").is_in(list(p.allow_domains)))
        if dns.is_empty():
            return empty_findings()
        dns = dns.with_columns(
            pl.col("_q")
            .str.slice(0, pl.col("_q").str.len_chars() - pl.col("_domain").str.len_chars() - 1)
            .alias("_sub")
        )
        keys = ["src_ip", "_domain"]
        groups = dns.group_by(keys).agg(
            *evidence_aggs(),
            pl.col("dst_ip").drop_nulls().first(),
            pl.col("_sub").filter(pl.col("_sub") != "").n_unique().alias("_unique"),
            pl.col("qtype_name").is_in(["TXT", "NULL"]).sum().alias("_txt"),
        )
        subs = dns.filter(pl.col("_sub") != "").select([*keys, "_sub"]).unique()
        longest = (
            subs.with_columns(
                pl.col("_sub")
                .str.split(".")
                .list.eval(pl.element().str.len_chars())
                .list.max()
                .alias("_longest")
            )
            .group_by(keys)
            .agg(pl.col("_longest").mean())
        )
        chars = (
            subs.select(*keys, pl.col("_sub").str.replace_all(r"\.", "").str.split("").alias("_c"))
            .explode("_c")
            .group_by([*keys, "_c"])
            .len()
        )
        probability = pl.col("len") / pl.col("len").sum().over(keys)
        entropy = chars.group_by(keys).agg((-(probability * probability.log(2))).sum().alias("_entropy"))
        groups = groups.join(longest, on=keys, how="left").join(entropy, on=keys, how="left")
        encoded = (
            (pl.col("_unique") >= p.min_unique_subdomains)
            & (pl.col("_longest") >= p.min_label_length)
            & (pl.col("_entropy") >= p.min_entropy)
        )
        found = groups.filter(encoded | (pl.col("_txt") >= p.min_txt_queries))
        return explained(
            found,
            "{} queried {} unique subdomains of {} (longest label {} chars on average, entropy {} "
            "bits/char, {} TXT/NULL queries) in {} queries",
            pl.col("src_ip"),
            pl.col("_unique"),
            pl.col("_domain"),
            pl.col("_longest").round(1),
            pl.col("_entropy").round(2),
            pl.col("_txt"),
            pl.col("count"),
        )
