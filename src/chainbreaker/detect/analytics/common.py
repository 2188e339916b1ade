"""Shared Polars expressions and the single-event ``SelectorAnalytic`` most host analytics build on."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar

import polars as pl

from chainbreaker.detect.analytics.base import ENTITY_COLUMNS, MAX_REFS, Analytic, Params, param
from chainbreaker.detect.interest import Where

#: RFC 1918, loopback, link-local, CGNAT, multicast, and IPv6 ULA / link-local / multicast / loopback.
_PRIVATE_IP = (
    r"^(10\.|127\.|169\.254\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\.)"
    r"|^(fc|fd|fe80:|ff[0-9a-f]{2}:|::1$)|^(0\.0\.0\.0|255\.255\.255\.255)$|^(22[4-9]|23\d)\."
)


def event_codes(by_source: Mapping[str, Iterable[int]]) -> Mapping[str, Where]:
    """``Analytic.rows`` for analytics that read some event ids of each source (read-only)."""
    return MappingProxyType({s: ("event_code", frozenset(codes)) for s, codes in by_source.items()})


def merge_wheres(wheres: Iterable[Where]) -> tuple[Where, ...]:
    """One condition per column holding for any row one of ``wheres`` holds for, by column name."""
    merged: dict[str, set[Hashable] | None] = {}
    for column, values in wheres:
        current = merged.get(column, set())
        merged[column] = None if current is None or values is None else current | set(values)
    return tuple((c, None if v is None else frozenset(v)) for c, v in sorted(merged.items()))


def col_or_null(events: pl.DataFrame, name: str) -> pl.Expr:
    """The column, or a null String when the frame lacks it (sources differ in what they carry)."""
    return pl.col(name) if name in events.columns else pl.lit(None, dtype=pl.String)


def conform_columns(events: pl.DataFrame, names: tuple[str, ...]) -> pl.DataFrame:
    """Add the absent ones of ``names`` as null String columns."""
    missing = [n for n in names if n not in events.columns]
    return events.with_columns(pl.lit(None, dtype=pl.String).alias(n) for n in missing) if missing else events


def null_if(expr: pl.Expr, placeholders: tuple[str, ...]) -> pl.Expr:
    """``expr``, null where it holds one of ``placeholders``: logs write ``-`` or an empty string (or a
    loopback address for a local origin) where there is no value, and a placeholder must not group."""
    return pl.when(expr.is_in(list(placeholders))).then(None).otherwise(expr)


def lower_base(name: str) -> pl.Expr:
    """Lower-case file name of a Windows or POSIX path column (``C:\\x\\Cmd.EXE`` -> ``cmd.exe``)."""
    return pl.col(name).str.to_lowercase().str.replace(r"^.*[\\/]", "")


def short_host(host: pl.Expr) -> pl.Expr:
    """Lower-case first DNS label of a host name (``DC01.corp.local`` -> ``dc01``)."""
    return host.str.to_lowercase().str.split(".").list.first()


def is_private(name: str) -> pl.Expr:
    """True for internal (non-routable, multicast, broadcast) addresses."""
    return pl.col(name).str.to_lowercase().str.contains(_PRIVATE_IP).fill_null(False)


def as_int(name: str) -> pl.Expr:
    """Decimal string column as Int64 (null when not a number)."""
    return pl.col(name).str.strip_chars().cast(pl.Int64, strict=False)


def as_hex(name: str) -> pl.Expr:
    """Hexadecimal string column (``0x17``) as Int64."""
    return pl.col(name).str.to_lowercase().str.strip_prefix("0x").str.to_integer(base=16, strict=False)


def evidence_aggs() -> list[pl.Expr]:
    """The aggregations every finding needs: first time, count and a sample of references."""
    return [
        pl.col("timestamp").min().alias("time"),
        pl.len().cast(pl.Int64).alias("count"),
        pl.col("event_ref").head(MAX_REFS).alias("refs"),
    ]


def entity_aggs(events: pl.DataFrame, keys: tuple[str, ...]) -> list[pl.Expr]:
    """For each entity column not used as a key, its first non-null value in the group."""
    return [
        pl.col(c).drop_nulls().first().alias(c)
        for c in ENTITY_COLUMNS
        if c not in keys and c in events.columns
    ]


def empty_findings() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "time": pl.Datetime("ns", "UTC"),
            "count": pl.Int64,
            "refs": pl.List(pl.Struct({"file": pl.String, "record": pl.Int64})),
            "explanation": pl.String,
        }
    )


def explained(found: pl.DataFrame, template: str, *values: pl.Expr) -> pl.DataFrame:
    """Findings as ``Analytic.run`` returns them: each row's explanation filled from ``template``
    (``{}`` placeholders, as ``pl.format``), oldest first."""
    return found.with_columns(pl.format(template, *values).alias("explanation")).sort("time")


@dataclass(frozen=True, slots=True)
class WindowParams(Params):
    window: str = param("1h", "time bucket that groups matching events into one alert (Polars duration)")


class SelectorAnalytic(Analytic):
    """One alert per group of matching events (``group_by`` keys and a time bucket).

    Subclasses give ``selector`` (which events are evidence), optionally ``prepare`` (derived
    columns), ``aggs`` (extra per-group values) and ``explain`` (explanation over the groups).
    """

    group_by: ClassVar[tuple[str, ...]] = ("host",)
    params_type: ClassVar[type[Params]] = WindowParams

    def prepare(self, events: pl.DataFrame) -> pl.DataFrame:
        return events

    @abstractmethod
    def selector(self) -> pl.Expr: ...

    def aggs(self) -> list[pl.Expr]:
        return []

    def explain(self) -> pl.Expr:
        return pl.format("{} matching event(s)", pl.col("count"))

    def having(self) -> pl.Expr:
        """Filter over the aggregated groups (thresholds)."""
        return pl.lit(True)

    def run(self, events: pl.DataFrame) -> pl.DataFrame:
        events = self.prepare(events)
        for key in self.group_by:
            if key not in events.columns:
                events = events.with_columns(pl.lit(None, dtype=pl.String).alias(key))
        hits = events.filter(self.selector().fill_null(False))
        if hits.is_empty():
            return empty_findings()
        window = getattr(self.params, "window", "1h")
        hits = hits.with_columns(pl.col("timestamp").dt.truncate(window).alias("_bucket"))
        # maintain_order: groups tied on time come out in input order, the same on every run
        grouped = hits.group_by([*self.group_by, "_bucket"], maintain_order=True).agg(
            *evidence_aggs(), *entity_aggs(hits, self.group_by), *self.aggs()
        )
        grouped = grouped.filter(self.having())
        return (
            grouped.with_columns(self.explain().alias("explanation"))
            .drop("_bucket")
            .sort("time", maintain_order=True)
        )


def ipv4_int(name: str) -> pl.Expr:
    """Dotted IPv4 string column as UInt32-valued Int64 (null for anything else, IPv6 included)."""
    parts = pl.col(name).str.extract_groups(r"^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$")
    octets = [parts.struct.field(str(i)).cast(pl.Int64, strict=False) for i in range(1, 5)]
    return octets[0] * 16_777_216 + octets[1] * 65_536 + octets[2] * 256 + octets[3]


def in_networks(name: str, networks: tuple[str, ...]) -> pl.Expr:
    """True when the address column lies in one of ``networks`` (IPv4 CIDRs, or exact addresses)."""
    import ipaddress

    expr = pl.lit(False)
    exact: list[str] = []
    value = ipv4_int(name)
    for text in networks:
        net = ipaddress.ip_network(text, strict=False)
        if net.version == 4 and net.prefixlen < 32:
            low, high = int(net.network_address), int(net.broadcast_address)
            expr = expr | value.is_between(low, high)
        else:
            exact.append(str(net.network_address))
    if exact:
        expr = expr | pl.col(name).is_in(exact)
    return expr.fill_null(False)
