"""``IntelDetector``: joins each batch's observables against the indicator table.

Exact kinds are one hash join on (kind, value). IPv4 CIDRs are matched with one ``join_asof`` per
prefix length (ranges of one prefix length never overlap, so the nearest lower start is the only
candidate). IPv6 CIDRs are not matched (exact IPv6 addresses are).
"""

from __future__ import annotations

import ipaddress

import polars as pl

from chainbreaker.alerts import Alert, Level
from chainbreaker.detect.analytics.base import MAX_REFS
from chainbreaker.detect.analytics.common import ipv4_int
from chainbreaker.detect.base import Detector
from chainbreaker.detect.intel.indicators import DEFAULT_PHASE
from chainbreaker.detect.intel.observables import SPECS, observables
from chainbreaker.detect.interest import Interest
from chainbreaker.events import EventRef

_INFO = ("source", "confidence", "phase", "label")
#: What an alert tells of the events behind a hit.
_CONTEXT = ("timestamp", "host", "user", "src_ip", "dst_ip", "event_ref")


def _merge(indicators: pl.DataFrame) -> pl.DataFrame:
    """One row per (kind, value): sources joined, highest confidence, first phase and label.

    Only duplicated (kind, value) pairs go through the (costly) string aggregation."""
    duplicated = pl.struct("kind", "value").is_duplicated()
    unique = indicators.filter(~duplicated).select("kind", "value", *_INFO)
    merged = (
        indicators.filter(duplicated)
        .group_by("kind", "value")
        .agg(
            pl.col("source").drop_nulls().unique().sort().str.join(", ").alias("source"),
            pl.col("confidence").max(),
            pl.col("phase").drop_nulls().first(),
            pl.col("label").drop_nulls().first(),
        )
    )
    return pl.concat([unique, merged.select(unique.columns)], how="vertical_relaxed")


def _cidr_tables(cidrs: pl.DataFrame) -> dict[int, pl.DataFrame]:
    rows: dict[int, dict[str, list[object]]] = {}
    for value, *info in cidrs.select("value", *_INFO).iter_rows():
        try:
            net = ipaddress.ip_network(value, strict=False)
        except ValueError:
            continue
        if net.version != 4:
            continue
        table = rows.setdefault(
            net.prefixlen, {"low": [], "high": [], "indicator": [], **{k: [] for k in _INFO}}
        )
        table["low"].append(int(net.network_address))
        table["high"].append(int(net.broadcast_address))
        table["indicator"].append(str(net))
        for key, item in zip(_INFO, info, strict=True):
            table[key].append(item)
    return {
        p: pl.DataFrame(t).with_columns(pl.col("low", "high").cast(pl.Int64)).sort("low")
        for p, t in rows.items()
    }


class IntelDetector(Detector):
    name = "intel"
    description = "threat-intelligence indicators (STIX 2.1, MISP, CSV/text) matched against events"

    def __init__(self, indicators: pl.DataFrame) -> None:
        merged = _merge(indicators)
        self.exact = merged.filter(pl.col("kind") != "cidr").with_columns(pl.col("value").alias("indicator"))
        self.cidrs = _cidr_tables(merged.filter(pl.col("kind") == "cidr"))
        self.kinds = set(self.exact.get_column("kind").unique().to_list()) | ({"ip"} if self.cidrs else set())
        self.count = merged.height

    def interest(self) -> Interest:
        """Every row (an observable can be in any event), only the columns observables of the
        indicators' kinds come from and the alerts' context."""
        needed = {c for _, kind, columns, _ in SPECS if kind in self.kinds for c in columns}
        return Interest(columns=frozenset(needed | set(_CONTEXT)), sources=None)

    def matches(self, batch: pl.DataFrame) -> pl.DataFrame:
        """(``_row``, field, observed, kind, indicator, source, confidence, phase, label) per hit."""
        obs = observables(batch, self.kinds)
        hits = [obs.join(self.exact, on=["kind", "value"], how="inner").drop("value")]
        ips = obs.filter(pl.col("kind") == "ip").with_columns(ipv4_int("value").alias("_int"))
        ips = ips.filter(pl.col("_int").is_not_null()).sort("_int")
        for table in self.cidrs.values():
            joined = ips.join_asof(table, left_on="_int", right_on="low", strategy="backward")
            joined = joined.filter(pl.col("high").is_not_null() & (pl.col("_int") <= pl.col("high")))
            hits.append(
                joined.with_columns(pl.lit("cidr").alias("kind")).drop("value", "_int", "low", "high")
            )
        columns = ["_row", "field", "observed", "kind", "indicator", *_INFO]
        return pl.concat([h.select(columns) for h in hits], how="vertical_relaxed")

    def observe(self, batch: pl.DataFrame) -> list[Alert]:
        if batch.is_empty():
            return []
        batch = batch.with_row_index("_row")
        hits = self.matches(batch)
        if hits.is_empty():
            return []
        context = [c for c in _CONTEXT if c in batch.columns]
        hits = hits.join(batch.select("_row", *context), on="_row", how="left")
        keys = ["kind", "indicator", "field", "observed", "host", "src_ip", "dst_ip"]
        grouped = hits.group_by(keys).agg(
            pl.col("timestamp").min().alias("time"),
            pl.len().alias("count"),
            pl.col("event_ref").head(MAX_REFS).alias("refs"),
            pl.col("user").drop_nulls().first(),
            *(pl.col(c).first() for c in _INFO),
        )
        return [_alert(row) for row in grouped.sort("time").iter_rows(named=True)]


def _level(confidence: int | None) -> Level:
    if confidence is None:
        return Level.medium
    return Level.high if confidence >= 80 else Level.medium if confidence >= 50 else Level.low


def _alert(row: dict[str, object]) -> Alert:
    kind, indicator = str(row["kind"]), str(row["indicator"])
    phase = row["phase"] or DEFAULT_PHASE.get(kind)
    confidence = row["confidence"] if isinstance(row["confidence"], int) else None
    label = f": {row['label']}" if row["label"] else ""
    refs = tuple(EventRef(r["file"], r["record"]) for r in row["refs"] or [] if r and r["file"])  # type: ignore[attr-defined]
    return Alert(
        rule_id=f"intel.{kind}",
        title=f"Threat-intel match: {kind} {indicator}",
        level=_level(confidence),
        detector="intel",
        time=row["time"],  # type: ignore[arg-type]
        event_refs=refs,
        killchain_phases=(str(phase),) if phase else (),
        host=row["host"],  # type: ignore[arg-type]
        user=row["user"],  # type: ignore[arg-type]
        src_ip=row["src_ip"],  # type: ignore[arg-type]
        dst_ip=row["dst_ip"],  # type: ignore[arg-type]
        matched=((str(row["field"]), str(row["observed"])),),
        description=(
            f"{row['field']} {row['observed']} matches {kind} indicator {indicator} from {row['source']} "
            f"(confidence {confidence if confidence is not None else 'unknown'}){label}"
        ),
        count=int(row["count"]),  # type: ignore[call-overload]
        extra={
            "indicator": indicator,
            "kind": kind,
            "source": row["source"],
            "confidence": confidence,
            "phase_from": "indicator" if row["phase"] else "default",
        },
    )
