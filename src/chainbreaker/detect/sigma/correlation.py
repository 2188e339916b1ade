"""Sigma correlation rules (meta rules, Sigma 2.1), evaluated exactly and vectorised over matched rows.

The Sigma engine matches base rules per batch, keeps the rows each referenced rule matched and, at
the end of the stream, calls :func:`evaluate_correlations`. Every correlation type of the
specification is supported: ``event_count``, ``value_count``, ``temporal`` (also with an extended
boolean condition such as ``a and not b``), ``temporal_ordered``, and the metric types
``value_sum``, ``value_avg``, ``value_median`` and ``value_percentile``; with ``group-by``,
``aliases``, ``generate`` and chains (a correlation referencing another correlation reads the rows
at which the inner one fired). Window semantics (closed windows: events exactly ``timespan`` apart
are in one window) are described in :mod:`chainbreaker.detect.sigma.windows` and docs/RULES.md.

Group-by values are compared case-insensitively (Sigma matching is case-insensitive and Windows
account and host names are too); rows whose group-by fields are empty take part in no window.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl
from sigma.correlations import (
    CorrelationConditionAND,
    CorrelationConditionItem,
    CorrelationConditionNOT,
    SigmaCorrelationCondition,
    SigmaCorrelationRule,
    SigmaCorrelationType,
    SigmaExtendedCorrelationCondition,
    SigmaRuleReference,
)

from chainbreaker.alerts import Alert
from chainbreaker.detect.sigma import windows as win
from chainbreaker.detect.sigma.correlation_alerts import build_alerts, condition_bounds, rule_names
from chainbreaker.errors import RuleError
from chainbreaker.events import TIMESTAMP_TYPE, original_column

#: Normalised columns carried through a correlation so alerts (and chained correlations) keep them.
CARRIED = ("host", "user", "src_ip", "dst_ip")
REFS = "__refs"
COUNT = "__count"
#: Custom attribute marking a correlation that runs only to feed a selected chained correlation
#: (the hunt's rule selection rejected it, :mod:`chainbreaker.detect.sigma.selection`): no alerts.
FEEDER = "chainbreaker_feeder"
_REF_TYPE = pl.List(pl.Struct({"file": pl.String(), "record": pl.Int64()}))


def read_columns(correlations: Sequence[SigmaCorrelationRule]) -> frozenset[str]:
    """Every event column :func:`evaluate_correlations` may read from the matched rows it is given:
    time, event reference, the carried normalised columns, and each group-by, alias and value
    field (with its original-column spelling). Callers keep only these of the rows they hold for
    correlation until the end of a hunt: feeder rules can match every logon or process access."""
    fields: set[str] = {"timestamp", "event_ref", REFS, COUNT, *CARRIED}
    for corr in correlations:
        fields.update(corr.group_by or [])
        value = _value_field(corr)
        fields.update([value] if isinstance(value, str) else value or [])
        for alias in corr.aliases.aliases.values():
            fields.update(alias.mapping.values())
    return frozenset(fields | {original_column(f) for f in fields})


def suppressed_rules(correlations: Sequence[SigmaCorrelationRule]) -> frozenset[str]:
    """Ids and names of rules whose own alerts are NOT emitted.

    A rule referenced by correlations stays silent unless at least one of them says
    ``generate: true`` (the specification's default is ``false``: only the correlation fires).
    The engine asks ``rule_is_generated`` (or this set) before emitting a base rule's alerts.
    """
    referenced: dict[str, bool] = {}
    for corr in correlations:
        for ref in _references(corr):
            for name in _reference_names(ref):
                referenced[name] = referenced.get(name, False) or bool(corr.generate)
    return frozenset(name for name, generated in referenced.items() if not generated)


def rule_is_generated(rule_id: str | None, rule_name: str | None, suppressed: frozenset[str]) -> bool:
    """Whether a (base or correlation) rule's own alerts should be emitted."""
    return not ({rule_id, rule_name} & suppressed)


def evaluate_correlations(
    rules: Sequence[SigmaCorrelationRule], matches: Mapping[str, pl.DataFrame]
) -> list[Alert]:
    """Alerts of every correlation in ``rules`` over ``matches`` (rule id and name -> matched rows).

    Chained correlations are evaluated after the correlations they reference. A correlation
    referenced by another one (with ``generate: false``) gives no alerts of its own.
    """
    frames: dict[str, pl.DataFrame] = dict(matches)
    suppressed = suppressed_rules(rules)
    needed = {name for corr in rules for ref in _references(corr) for name in _reference_names(ref)}
    alerts: list[Alert] = []
    for corr in _dependency_order(rules):
        stack = _stack(corr, frames)
        fired = _fired_windows(corr, stack)
        result = build_alerts(corr, stack, fired, chained=bool(rule_names(corr) & needed))
        if rule_is_generated(*_id_and_name(corr), suppressed) and not is_feeder(corr):
            alerts.extend(result.alerts)
        if result.output is not None:
            for name in rule_names(corr):
                frames[name] = result.output
    return alerts


def is_feeder(corr: SigmaCorrelationRule) -> bool:
    """Whether the rule selection kept this correlation only as a silent feeder of another one."""
    return bool(corr.custom_attributes.get(FEEDER))


def references(corr: SigmaCorrelationRule) -> list[str]:
    """The names (rule ids or names) a correlation refers to, in order: its ``rules``, or the
    rules named in an extended temporal condition."""
    return [ref.reference for ref in _references(corr)]


def _id_and_name(rule: SigmaCorrelationRule) -> tuple[str | None, str | None]:
    return (str(rule.id) if rule.id else None), rule.name


def _references(corr: SigmaCorrelationRule) -> list[SigmaRuleReference]:
    if corr.rules is not None:
        return list(corr.rules)
    if isinstance(corr.condition, SigmaExtendedCorrelationCondition):
        return [SigmaRuleReference(name) for name in corr.condition.get_referenced_rules()]
    return []


def _reference_names(ref: SigmaRuleReference) -> set[str]:
    names = {ref.reference}
    target = getattr(ref, "rule", None)  # set once pySigma resolved the reference
    if target is not None:
        names |= {str(target.id)} if target.id else set()
        names |= {target.name} if target.name else set()
    return names


def _dependency_order(rules: Sequence[SigmaCorrelationRule]) -> list[SigmaCorrelationRule]:
    by_name = {name: corr for corr in rules for name in rule_names(corr)}
    ordered: list[SigmaCorrelationRule] = []
    state: dict[int, str] = {}

    def visit(corr: SigmaCorrelationRule) -> None:
        mark = state.get(id(corr))
        if mark == "done":
            return
        if mark == "active":
            raise RuleError("correlation rules reference each other in a cycle", corr.title)
        state[id(corr)] = "active"
        for ref in _references(corr):
            for name in _reference_names(ref):
                if name in by_name:
                    visit(by_name[name])
        state[id(corr)] = "done"
        ordered.append(corr)

    for corr in rules:
        visit(corr)
    return ordered


def _field_for(corr: SigmaCorrelationRule, field: str, ref: SigmaRuleReference) -> str:
    """The field that ``field`` (a group-by entry or alias name) means in events of ``ref``."""
    alias = corr.aliases.aliases.get(field)
    if alias is None:
        return field
    wanted = _reference_names(ref)
    for alias_ref, target in alias.mapping.items():
        if _reference_names(alias_ref) & wanted:
            return target
    raise RuleError(
        f"alias {field!r} has no field for rule {ref.reference!r}", str(corr.source or corr.title)
    )


def _column(frame: pl.DataFrame, field: str) -> pl.Expr:
    for name in (field, original_column(field)):
        if name in frame.columns:
            return pl.col(name).cast(pl.String)
    return pl.lit(None, dtype=pl.String)


def _value_field(corr: SigmaCorrelationRule) -> str | list[str] | None:
    cond = corr.condition
    return cond.fieldref if isinstance(cond, SigmaCorrelationCondition) else None


def _stack(corr: SigmaCorrelationRule, frames: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    """All rows of the referenced rules in one frame, keyed, sorted by group then time."""
    group_by = list(corr.group_by or [])
    value_field = _value_field(corr)
    parts: list[pl.DataFrame] = []
    for index, ref in enumerate(_references(corr)):
        frame = next((frames[n] for n in _reference_names(ref) if n in frames), None)
        if frame is None or frame.is_empty():
            continue
        columns = [pl.col("timestamp").cast(TIMESTAMP_TYPE)]
        columns += [_column(frame, _field_for(corr, g, ref)).alias(f"__g{i}") for i, g in enumerate(group_by)]
        if isinstance(value_field, str):
            columns.append(_column(frame, _field_for(corr, value_field, ref)).alias(win.VALUE))
        elif isinstance(value_field, list):
            parts_of_value = [_column(frame, _field_for(corr, f, ref)) for f in value_field]
            columns.append(pl.concat_str(parts_of_value, separator="|").alias(win.VALUE))
        columns += [_column(frame, c).alias(c) for c in CARRIED]
        if REFS in frame.columns:
            columns += [pl.col(REFS).cast(_REF_TYPE), pl.col(COUNT).cast(pl.Int64)]
        elif "event_ref" in frame.columns:
            ref_col = pl.col("event_ref").struct.rename_fields(["file", "record"])
            refs = pl.when(pl.col("event_ref").is_null()).then(pl.lit([], dtype=_REF_TYPE))
            columns += [refs.otherwise(pl.concat_list(ref_col)).cast(_REF_TYPE).alias(REFS)]
            columns += [pl.lit(1, dtype=pl.Int64).alias(COUNT)]
        else:
            columns += [pl.lit([], dtype=_REF_TYPE).alias(REFS), pl.lit(1, dtype=pl.Int64).alias(COUNT)]
        parts.append(frame.select(columns).with_columns(pl.lit(index, dtype=pl.Int64).alias(win.RULE)))
    keys = [f"{win.KEY_PREFIX}{i}" for i in range(len(group_by))] or [f"{win.KEY_PREFIX}all"]
    if not parts:
        schema: dict[str, pl.DataType] = {"timestamp": TIMESTAMP_TYPE, win.RULE: pl.Int64()}
        schema |= {f"__g{i}": pl.String() for i in range(len(group_by))}
        schema |= {k: pl.String() for k in keys} | {c: pl.String() for c in CARRIED}
        schema |= {REFS: _REF_TYPE, COUNT: pl.Int64(), win.VALUE: pl.String(), win.ROW: pl.Int64()}
        return pl.DataFrame(schema=schema)
    stack = pl.concat(parts, how="diagonal_relaxed").filter(pl.col("timestamp").is_not_null())
    if group_by:
        stack = stack.filter(pl.all_horizontal(pl.col(f"__g{i}").is_not_null() for i in range(len(group_by))))
        stack = stack.with_columns(pl.col(f"__g{i}").str.to_lowercase().alias(k) for i, k in enumerate(keys))
    else:
        stack = stack.with_columns(pl.lit("").alias(keys[0]))
    if win.VALUE not in stack.columns:
        stack = stack.with_columns(pl.lit(None, dtype=pl.String).alias(win.VALUE))
    stack = stack.sort([*keys, "timestamp", win.RULE])
    return stack.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias(win.ROW))


def _metric(corr: SigmaCorrelationRule) -> pl.Expr:
    kind = corr.type
    number = pl.col(win.VALUE).str.strip_chars().cast(pl.Float64, strict=False)
    if kind is SigmaCorrelationType.EVENT_COUNT:
        return pl.len().cast(pl.Float64)
    if kind is SigmaCorrelationType.VALUE_COUNT:
        return pl.col(win.VALUE).str.to_lowercase().drop_nulls().n_unique().cast(pl.Float64)
    if kind is SigmaCorrelationType.TEMPORAL:
        if isinstance(corr.condition, SigmaExtendedCorrelationCondition):
            names = {ref.reference: i for i, ref in enumerate(_references(corr))}
            return _boolean(corr.condition.parsed, names).cast(pl.Float64)
        return pl.col(win.RULE).n_unique().cast(pl.Float64)
    if kind is SigmaCorrelationType.VALUE_SUM:
        return number.sum()
    if kind is SigmaCorrelationType.VALUE_AVG:
        return number.mean()
    if kind is SigmaCorrelationType.VALUE_MEDIAN:
        return number.median()
    if kind is SigmaCorrelationType.VALUE_PERCENTILE:
        cond = corr.condition
        percentile = cond.percentile if isinstance(cond, SigmaCorrelationCondition) else None
        if percentile is None or not 0 <= percentile <= 100:
            raise RuleError("value_percentile needs a condition percentile between 0 and 100", corr.title)
        return number.quantile(percentile / 100, interpolation="linear")
    raise RuleError(f"unsupported correlation type {kind}", corr.title)


def _boolean(node: CorrelationConditionItem | SigmaRuleReference, names: Mapping[str, int]) -> pl.Expr:
    """An extended temporal condition (``a and not b``) as a per-window aggregation."""
    if isinstance(node, SigmaRuleReference):
        return (pl.col(win.RULE) == names[node.reference]).any()
    args = [_boolean(arg, names) for arg in node.args]
    if isinstance(node, CorrelationConditionNOT):
        return ~args[0]
    combined = args[0]
    for arg in args[1:]:
        combined = combined & arg if isinstance(node, CorrelationConditionAND) else combined | arg
    return combined


def _fired_windows(corr: SigmaCorrelationRule, stack: pl.DataFrame) -> pl.DataFrame:
    seconds = corr.timespan.seconds
    if corr.type is SigmaCorrelationType.TEMPORAL_ORDERED:
        if isinstance(corr.condition, SigmaExtendedCorrelationCondition):
            raise RuleError(
                "extended conditions are supported for temporal, not temporal_ordered", corr.title
            )
        windows = win.ordered_chains(stack, seconds, len(_references(corr)))
    else:
        windows = win.rolling_metric(stack, seconds, _metric(corr))
    if isinstance(corr.condition, SigmaExtendedCorrelationCondition):
        return windows.filter(pl.col(win.METRIC) == 1)
    test = pl.lit(True)
    for op, bound in condition_bounds(corr):
        test = test & _compare(pl.col(win.METRIC), op, bound)
    return windows.filter(test.fill_null(False))


def _compare(metric: pl.Expr, op: str, bound: float) -> pl.Expr:
    return {
        "gt": metric > bound,
        "gte": metric >= bound,
        "lt": metric < bound,
        "lte": metric <= bound,
        "eq": metric == bound,
        "neq": metric != bound,
    }[op]


__all__ = [
    "FEEDER",
    "evaluate_correlations",
    "is_feeder",
    "read_columns",
    "references",
    "rule_is_generated",
    "suppressed_rules",
]
