"""Exact sliding time windows over grouped event rows, vectorised with Polars.

Every window here is CLOSED on both ends: a window that ends at an event at time ``t`` holds
every event of the same group with a timestamp in ``[t - timespan, t]``. Two events exactly
``timespan`` apart therefore fall in one window; one nanosecond more and they do not. The Sigma
specification only says events must "occur in the time frame defined by timespan" and that the
frame should not be bound to fixed boundaries; we read "within 5m" as "at most 5 minutes apart".

Input frames ("stacks") are built by :mod:`chainbreaker.detect.sigma.correlation`: one row per
matched event, sorted by the group keys (``KEY_PREFIX`` columns) and then by time, with
``ROW`` the position in that order and ``RULE`` the index of the referenced rule that matched.
Windows are returned as row ranges ``[LO, HI]`` of that order, which lets callers fetch the
member events of a window with a slice instead of a join.
"""

from __future__ import annotations

import polars as pl

KEY_PREFIX = "__k"
ROW = "__row"
RULE = "__rule"
VALUE = "__value"
LO = "__lo"
HI = "__hi"
START = "__start"
METRIC = "__metric"


def key_columns(stack: pl.DataFrame) -> list[str]:
    return [c for c in stack.columns if c.startswith(KEY_PREFIX)]


def _period(seconds: int) -> str:
    return f"{seconds}s"


def rolling_metric(stack: pl.DataFrame, seconds: int, metric: pl.Expr) -> pl.DataFrame:
    """One window per row, ending at that row's time; ``metric`` aggregated over the window.

    Returns the keys, ``timestamp`` (window end), ``START`` (time of the first member), ``LO``/``HI``
    (member row range; HI includes later rows that share the end time) and ``METRIC``.
    """
    keys = key_columns(stack)
    rolled = stack.rolling(
        index_column="timestamp", period=_period(seconds), closed="both", group_by=keys
    ).agg(
        pl.col(ROW).min().alias(LO),
        pl.col(ROW).max().alias(HI),
        pl.col("timestamp").min().alias(START),
        metric.alias(METRIC),
    )
    # Rows sharing one timestamp give identical windows: keep one.
    return rolled.unique(subset=[*keys, "timestamp"], keep="first", maintain_order=True)


def ordered_chains(stack: pl.DataFrame, seconds: int, steps: int) -> pl.DataFrame:
    """Windows in which rules 0..j matched in that order (ties in time count as in order).

    For each event of rule ``j`` we compute the latest possible start of a chain
    ``rule 0 -> ... -> rule j`` that ends at it: the start of a one-step chain is the event's own
    time, and step ``j`` takes the running maximum of step ``j-1`` starts over earlier events of
    rule ``j-1`` (an as-of join). Taking the latest start is optimal: it gives the shortest chain.
    A chain counts when it spans at most ``seconds``; ``METRIC`` is its length ``j + 1``.
    """
    keys = key_columns(stack)
    limit = pl.duration(seconds=seconds)
    out: list[pl.DataFrame] = []
    previous: pl.DataFrame | None = None
    for step in range(steps):
        events = stack.filter(pl.col(RULE) == step).select(*keys, "timestamp", ROW)
        if previous is None:
            chains = events.with_columns(pl.col("timestamp").alias(START))
        else:
            # As-of joins need each side sorted by time within each group, which the stack order gives.
            best = previous.with_columns(pl.col(START).cum_max().over(keys)).select(*keys, "timestamp", START)
            chains = events.join_asof(
                best,
                on="timestamp",
                by=keys,
                strategy="backward",
                allow_exact_matches=True,
                check_sortedness=False,
            ).filter(pl.col(START).is_not_null())
        chains = chains.filter(pl.col("timestamp") - pl.col(START) <= limit)
        if chains.is_empty():
            break
        out.append(chains.with_columns(pl.lit(step + 1, dtype=pl.Int64).alias(METRIC)))
        previous = chains
    if not out:
        return pl.DataFrame(
            schema={**{k: stack.schema[k] for k in keys}, "timestamp": stack.schema["timestamp"]}
            | {ROW: pl.Int64, START: stack.schema["timestamp"], METRIC: pl.Int64}
        )
    windows = pl.concat([f.select(*keys, "timestamp", ROW, START, METRIC) for f in out])
    return _with_ranges(stack, windows.sort(*keys, "timestamp"))


def _with_ranges(stack: pl.DataFrame, windows: pl.DataFrame) -> pl.DataFrame:
    """Turn ``START``..``timestamp`` of each window into the member row range ``LO``..``HI``.

    The stack is sorted by group and time, so the first (last) row of each run of equal
    (group, time) found with a shift comparison is the row an as-of join must land on.
    """
    keys = key_columns(stack)
    rows = stack.select(*keys, "timestamp", ROW)
    run = [*keys, "timestamp"]
    first = rows.filter(~pl.all_horizontal(pl.col(c) == pl.col(c).shift(1) for c in run).fill_null(False))
    last = rows.filter(~pl.all_horizontal(pl.col(c) == pl.col(c).shift(-1) for c in run).fill_null(False))
    ranged = (
        windows.sort(*keys, START)
        .join_asof(
            first.rename({"timestamp": START, ROW: LO}),
            on=START,
            by=keys,
            strategy="forward",
            check_sortedness=False,
        )
        .sort(*keys, "timestamp")
        .join_asof(
            last.rename({ROW: HI}), on="timestamp", by=keys, strategy="backward", check_sortedness=False
        )
    )
    return ranged.drop(ROW).unique(subset=[*keys, "timestamp", METRIC], keep="first", maintain_order=True)


def members(stack: pl.DataFrame, windows: pl.DataFrame, cap: int, window_id: str) -> pl.DataFrame:
    """Rows of ``stack`` inside each window, at most ``cap`` per window (the first ``cap - 1`` and
    the last, so the closing event is always cited), tagged with ``window_id``."""
    positions = windows.select(
        window_id,
        pl.when(pl.col(HI) - pl.col(LO) + 1 <= cap)
        .then(pl.int_ranges(pl.col(LO), pl.col(HI) + 1))
        .otherwise(pl.concat_list(pl.int_ranges(pl.col(LO), pl.col(LO) + cap - 1), pl.col(HI)))
        .alias(ROW),
    ).explode(ROW)
    # ROW is the position in ``stack``: a gather, not a join.
    rows = stack.select(pl.all().gather(positions[ROW]))
    return pl.concat([positions.select(window_id), rows], how="horizontal")


def member_totals(stack: pl.DataFrame, windows: pl.DataFrame, column: str) -> pl.Series:
    """Exact total of the numeric ``column`` over each window's member range, by prefix sums."""
    prefix = stack[column].cast(pl.Int64).cum_sum()
    upper = prefix.gather(windows[HI])
    lower = prefix.gather((windows[LO] - 1).clip(lower_bound=0))
    return upper - lower.zip_with(windows[LO] > 0, pl.zeros(len(lower), pl.Int64, eager=True))
