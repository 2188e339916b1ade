"""Command and control over HTTP: rare user agents and requests without a Host header (Zeek http)."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from chainbreaker.alerts import Level
from chainbreaker.detect.analytics.base import Analytic, Params, param
from chainbreaker.detect.analytics.common import empty_findings, evidence_aggs, explained, null_if
from chainbreaker.detect.analytics.registry import register

HTTP_COLUMNS = ("src_ip", "dst_ip", "user_agent", "raw.host", "method", "uri")

#: Operating-system and vendor update services: legitimate, frequent, executable-heavy and spoken to by
#: agents few hosts share. Suffixes of the HTTP Host header.
UPDATE_HOSTS = (
    "windowsupdate.com", "update.microsoft.com", "download.microsoft.com", "officecdn.microsoft.com",
    "delivery.mp.microsoft.com", "dl.google.com", "gvt1.com", "swcdn.apple.com", "mzstatic.com",
    "adobe.com", "mozilla.net", "ubuntu.com", "debian.org", "fedoraproject.org",
)  # fmt: skip

#: User agents of operating-system components (prefixes).
SYSTEM_AGENTS = (
    "Microsoft-CryptoAPI", "Windows-Update-Agent", "Microsoft BITS", "Microsoft-Delivery-Optimization",
    "OfficeClickToRun", "Microsoft-WNS", "MICROSOFT_DEVICE_METADATA_RETRIEVAL_CLIENT", "Debian APT", "apt-",
)  # fmt: skip


def host_in(column: str, suffixes: tuple[str, ...]) -> pl.Expr:
    """True when the host name column equals or ends with ``.``+ one of ``suffixes``."""
    if not suffixes:
        return pl.lit(False)
    escaped = "|".join(s.lower().replace(".", r"\.") for s in suffixes)
    return pl.col(column).str.to_lowercase().str.contains(rf"(^|\.)({escaped})(:\d+)?$").fill_null(False)


@dataclass(frozen=True, slots=True)
class RareAgentParams(Params):
    max_sources: int = param(1, "a user agent used by at most this many sources is rare")
    min_population: int = param(10, "sources with HTTP traffic needed before rarity means anything")
    max_destinations: int = param(3, "destinations the rare agent talks to at most (implants talk to few)")
    min_requests: int = param(5, "requests with the agent")
    allow_agents: tuple[str, ...] = param(
        SYSTEM_AGENTS, "user-agent prefixes of system components, never rare"
    )
    allow_hosts: tuple[str, ...] = param(
        UPDATE_HOSTS, "Host header suffixes never reported (update services)"
    )


def _http(events: pl.DataFrame) -> pl.DataFrame:
    """Requests with a client address; ``_ua`` and ``_host`` are null where Zeek wrote no value."""
    return events.filter(pl.col("src_ip").is_not_null()).with_columns(
        null_if(pl.col("user_agent"), ("-", "")).alias("_ua"),
        null_if(pl.col("raw.host"), ("-", "")).alias("_host"),
    )


class HttpC2Analytic(Analytic):
    """What the HTTP C2 analytics share: Zeek http rows, the same technique and level."""

    phases = ("command-and-control",)
    techniques = ("T1071.001",)
    tactics = ("command-and-control",)
    sources = frozenset({"zeek.http"})
    columns = HTTP_COLUMNS
    level = Level.low


@register
class RareUserAgent(HttpC2Analytic):
    id = "rare_user_agent"
    name = "Rare HTTP user agent"
    params_type = RareAgentParams
    description = (
        "A user agent (or none at all) used by a single source among many HTTP clients, repeatedly and to "
        "few destinations: a custom implant rather than a browser. Needs min_population sources."
    )

    def run(self, events: pl.DataFrame) -> pl.DataFrame:
        p = self.params
        assert isinstance(p, RareAgentParams)
        http = _http(events).with_columns(pl.col("_ua").fill_null("(none)"))
        population = http.get_column("src_ip").n_unique()
        if population < p.min_population:
            return empty_findings()
        system = (
            pl.any_horizontal(pl.col("_ua").str.starts_with(a) for a in p.allow_agents)
            if p.allow_agents
            else pl.lit(False)
        )
        http = http.filter(~system & ~host_in("_host", p.allow_hosts))
        agents = http.group_by("_ua").agg(
            *evidence_aggs(),
            pl.col("src_ip").n_unique().alias("_sources"),
            pl.col("src_ip").first(),
            pl.col("dst_ip").n_unique().alias("_dests"),
            pl.col("dst_ip").first(),
            pl.col("_host").drop_nulls().unique().head(3).alias("_hosts"),
        )
        found = agents.filter(
            (pl.col("_sources") <= p.max_sources)
            & (pl.col("_dests") <= p.max_destinations)
            & (pl.col("count") >= p.min_requests)
        )
        return explained(
            found,
            "user agent {} used only by {} ({} requests to {} destination(s): {}); {} HTTP clients seen",
            pl.col("_ua").str.slice(0, 120),
            pl.col("src_ip"),
            pl.col("count"),
            pl.col("_dests"),
            pl.col("_hosts").list.join(", "),
            pl.lit(population),
        )


@dataclass(frozen=True, slots=True)
class MissingHostParams(Params):
    min_requests: int = param(3, "requests without Host from one source to one destination")


@register
class MissingHostHeader(HttpC2Analytic):
    id = "http_missing_host"
    name = "HTTP requests without a Host header"
    params_type = MissingHostParams
    description = (
        "Repeated HTTP requests with a method but no Host header (HTTP/1.1 requires one; browsers always "
        "send it): hand-made clients and implants."
    )

    def run(self, events: pl.DataFrame) -> pl.DataFrame:
        p = self.params
        assert isinstance(p, MissingHostParams)
        http = _http(events).filter(
            pl.col("_host").is_null() & pl.col("method").is_not_null() & ~pl.col("method").is_in(["-", ""])
        )
        if http.is_empty():
            return empty_findings()
        pairs = http.group_by("src_ip", "dst_ip").agg(
            *evidence_aggs(), pl.col("uri").drop_nulls().unique().head(3).alias("_uris")
        )
        return explained(
            pairs.filter(pl.col("count") >= p.min_requests),
            "{} sent {} requests without Host header to {}: {}",
            pl.col("src_ip"),
            pl.col("count"),
            pl.col("dst_ip"),
            pl.col("_uris").list.join(", "),
        )
