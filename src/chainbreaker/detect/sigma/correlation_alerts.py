"""From fired correlation windows to alerts (and to rows a chained correlation reads).

Overlapping windows that fire together (they share events) form one *episode*, and one episode gives
one alert: the window with the most extreme value in the direction of the condition (the largest
count for ``gte``/``gt``, the smallest for ``lt``/``lte``, the earliest otherwise), so "12 failed
logons within 5m" is reported once, with its exact count, not once per failed logon.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import polars as pl
from sigma.correlations import SigmaCorrelationCondition, SigmaCorrelationRule, SigmaCorrelationType

from chainbreaker.alerts import Alert, Level
from chainbreaker.detect.sigma import windows as win
from chainbreaker.events import EventRef
from chainbreaker.frameworks import parse_attack_tags, phases_for

#: At most this many event references per alert; ``Alert.count`` stays exact.
MAX_REFS = 100
#: Group-by fields whose value names the machine / the account of an alert.
HOST_FIELDS = frozenset(
    f.lower() for f in ("host", "Computer", "ComputerName", "Hostname", "WorkstationName", "Workstation")
)
USER_FIELDS = frozenset(
    f.lower()
    for f in ("user", "User", "UserName", "TargetUserName", "SubjectUserName", "AccountName", "TargetUser")
)
_WID = "__wid"
_EPISODE = "__episode"


@dataclass(frozen=True)
class CorrelationResult:
    alerts: list[Alert]
    output: pl.DataFrame | None  # rows at which the correlation fired, for chained correlations


def rule_names(rule: SigmaCorrelationRule) -> set[str]:
    return {n for n in (str(rule.id) if rule.id else None, rule.name) if n}


def condition_bounds(corr: SigmaCorrelationRule) -> list[tuple[str, float]]:
    """The condition as (operator, bound) pairs; several pairs form a range (all must hold).

    pySigma accepts one operator; a range written in the rule (``gt: 100`` + ``lte: 200``) is kept
    by :func:`chainbreaker.detect.sigma.correlation_load.split_range` under ``condition_range``.
    """
    cond = corr.condition
    bounds: list[tuple[str, float]] = []
    if isinstance(cond, SigmaCorrelationCondition):
        bounds.append((cond.op.name.lower(), float(cond.count)))
    extra = corr.custom_attributes.get("condition_range") or {}
    for op, bound in extra.items():
        if (op, float(bound)) not in bounds:
            bounds.append((str(op), float(bound)))
    return bounds


def _descending(corr: SigmaCorrelationRule) -> bool | None:
    ops = [op for op, _ in condition_bounds(corr)]
    if any(op in ("gt", "gte") for op in ops):
        return True
    if any(op in ("lt", "lte") for op in ops):
        return False
    return None


def build_alerts(
    corr: SigmaCorrelationRule, stack: pl.DataFrame, fired: pl.DataFrame, chained: bool
) -> CorrelationResult:
    if fired.is_empty():
        return CorrelationResult([], _empty_output(corr, stack) if chained else None)
    fired = fired.sort(win.HI).with_columns(
        (pl.col(win.LO) > pl.col(win.HI).cum_max().shift(1)).fill_null(True).cum_sum().alias(_EPISODE)
    )
    descending = _descending(corr)
    order = [_EPISODE, "timestamp"] if descending is None else [_EPISODE, win.METRIC, "timestamp"]
    flags = [False, False] if descending is None else [False, descending, False]
    reps = fired.sort(order, descending=flags).unique(subset=_EPISODE, keep="first", maintain_order=True)
    reps = reps.sort("timestamp").with_columns(pl.int_range(pl.len()).alias(_WID))
    counts = win.member_totals(stack, reps, "__count")
    rows = win.members(stack, reps, MAX_REFS, _WID)
    refs = (
        rows.select(_WID, pl.col("__refs"))
        .explode("__refs")
        .drop_nulls("__refs")
        .unique(maintain_order=True)
        .group_by(_WID, maintain_order=True)
        .agg(pl.col("__refs").head(MAX_REFS))
    )
    common = rows.group_by(_WID).agg(
        [
            pl.when(pl.col(c).n_unique() == 1).then(pl.col(c).first()).alias(c)
            for c in ("host", "user", "src_ip", "dst_ip")
        ]
    )
    ends = stack.select(pl.all().gather(reps[win.HI]))
    reps = (
        reps.with_columns(counts.alias("__total"))
        .join(refs, on=_WID, how="left", maintain_order="left")
        .join(common, on=_WID, how="left", maintain_order="left")
    )
    reps = reps.with_columns(
        pl.max_horizontal(pl.col("__total"), pl.col("__refs").list.len().fill_null(0)).alias("__total")
    )
    mapping = _mapping(corr)
    alerts = [
        _alert(corr, rep, end, mapping)
        for rep, end in zip(reps.iter_rows(named=True), ends.iter_rows(named=True), strict=True)
    ]
    output = _output(corr, stack, fired, reps) if chained else None
    return CorrelationResult(alerts, output)


def _mapping(corr: SigmaCorrelationRule) -> tuple[tuple[str, ...], ...]:
    techniques, tactics = parse_attack_tags([str(t) for t in corr.tags])
    killchain, ukc = phases_for(techniques, tactics)
    return tuple(techniques), tuple(tactics), tuple(killchain), tuple(ukc)


def _alert(
    corr: SigmaCorrelationRule, rep: dict[str, Any], end: dict[str, Any], mapping: tuple[tuple[str, ...], ...]
) -> Alert:
    techniques, tactics, killchain, ukc = mapping
    group = [(g, end.get(f"__g{i}") or "") for i, g in enumerate(corr.group_by or [])]
    host = next((v for g, v in group if g.lower() in HOST_FIELDS), None) or rep.get("host")
    user = next((v for g, v in group if g.lower() in USER_FIELDS), None) or rep.get("user")
    refs = tuple(EventRef(r["file"], r["record"]) for r in rep.get("__refs") or [])
    matched = (*group, ("correlation_value", _number(rep[win.METRIC])))
    return Alert(
        rule_id=str(corr.id) if corr.id else (corr.name or corr.title),
        title=corr.title,
        level=Level.parse(corr.level.name.lower() if corr.level else None),
        detector="sigma-correlation",
        time=_utc(rep["timestamp"]),
        event_refs=refs,
        techniques=techniques,
        tactics=tactics,
        killchain_phases=killchain,
        ukc_phases=ukc,
        status=corr.status.name.lower() if corr.status else "experimental",
        host=host,
        user=user,
        src_ip=rep.get("src_ip"),
        dst_ip=rep.get("dst_ip"),
        matched=tuple((k, str(v)) for k, v in matched),
        description=describe(corr, rep[win.METRIC], int(rep["__total"]), group),
        count=int(rep["__total"]),
        extra={"window_start": _utc(rep[win.START]).isoformat(), "correlation_type": corr.type.name.lower()},
    )


def describe(corr: SigmaCorrelationRule, metric: float, events: int, group: list[tuple[str, str]]) -> str:
    """What fired, with the numbers: ``12 events of 'Failed logon' for TargetUserName=admin ...``."""
    titles = [_title(ref) for ref in (corr.rules or [])]
    scope = f" for {', '.join(f'{k}={v}' for k, v in group)}" if group else ""
    span = f" within {corr.timespan.spec}"
    bounds = " and ".join(f"{op} {_number(b)}" for op, b in condition_bounds(corr))
    field = corr.condition.fieldref if isinstance(corr.condition, SigmaCorrelationCondition) else None
    kind = corr.type
    if kind is SigmaCorrelationType.EVENT_COUNT:
        what = f"{_number(metric)} events of {' / '.join(titles)}"
    elif kind is SigmaCorrelationType.VALUE_COUNT:
        what = f"{_number(metric)} distinct {field} values in {events} events of {' / '.join(titles)}"
    elif kind is SigmaCorrelationType.TEMPORAL:
        what = f"{_number(metric)} of {len(titles)} rules ({', '.join(titles)}) matched"
        bounds = bounds or "condition"
    elif kind is SigmaCorrelationType.TEMPORAL_ORDERED:
        what = f"{_number(metric)} of {len(titles)} rules matched in order ({' -> '.join(titles)})"
    else:
        stat = kind.name.lower().removeprefix("value_")
        what = f"{stat} of {field} = {_number(metric)} over {events} events of {' / '.join(titles)}"
    return f"{what}{scope}{span} (condition: {bounds}; {events} events)"


def _title(ref: Any) -> str:
    target = getattr(ref, "rule", None)
    return f"'{target.title}'" if target is not None and target.title else f"'{ref.reference}'"


def _number(value: float | None) -> str:
    if value is None:
        return "none"
    return str(int(value)) if float(value).is_integer() else f"{value:.4g}"


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _output(
    corr: SigmaCorrelationRule, stack: pl.DataFrame, fired: pl.DataFrame, reps: pl.DataFrame
) -> pl.DataFrame:
    """One row per fired window (at its closing event), as a chained correlation reads them."""
    ends = stack.select(pl.all().gather(fired[win.HI]))
    episode_refs = reps.select(_EPISODE, pl.col("__refs").alias("__erefs"), pl.col("__total"))
    # The episode's exact event count rides on its last fired row only, so that an outer window
    # holding the whole episode counts its events once (see count in _alert).
    last = pl.col(win.HI) == pl.col(win.HI).max().over(_EPISODE)
    columns: dict[str, pl.Expr] = {"timestamp": pl.lit(fired["timestamp"])}
    for c in ("host", "user", "src_ip", "dst_ip"):
        columns[c] = pl.col(c)
    for i, g in enumerate(corr.group_by or []):
        columns[g] = pl.col(f"__g{i}")
    out = ends.select(**columns).with_columns(fired[_EPISODE], fired.select(last.alias("__last"))["__last"])
    out = out.join(episode_refs, on=_EPISODE, how="left", maintain_order="left")
    return out.select(
        pl.exclude(_EPISODE, "__erefs", "__total", "__last"),
        pl.col("__erefs").alias("__refs"),
        pl.when(pl.col("__last")).then(pl.col("__total")).otherwise(0).alias("__count"),
    )


def _empty_output(corr: SigmaCorrelationRule, stack: pl.DataFrame) -> pl.DataFrame:
    schema: dict[str, pl.DataType] = {"timestamp": stack.schema["timestamp"]}
    schema |= {c: pl.String() for c in ("host", "user", "src_ip", "dst_ip")}
    schema |= {g: pl.String() for g in corr.group_by or []}
    schema |= {"__refs": stack.schema["__refs"], "__count": pl.Int64()}
    return pl.DataFrame(schema=schema)
