"""What a detector reads of each batch, so that the reader workers send only that (docs/ARCHITECTURE.md).

In a hunt the batches are read (and the Sigma rules evaluated) in reader worker processes and
cross to the main process as Arrow IPC. A Windows batch has hundreds of columns and most of its
rows match no rule; when every detector of the run declares an :class:`Interest`, the workers
send only the rows and columns some detector reads (:func:`project`), and the main process
writes, reads and holds no more. A detector without a declared interest (``None``, the default
of :meth:`Detector.interest <chainbreaker.detect.base.Detector.interest>`) gets whole batches,
and then so does every other.

Each detector sees the union of all the interests: more rows and columns than its own, never
fewer, so its ``observe`` must only depend on its own rows and columns (filter by source, select
its columns), as a detector handed a whole batch already does.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable
from dataclasses import dataclass
from typing import Any

import polars as pl

#: More rows of interest, by content: rows whose ``column`` holds one of ``values`` (None: any
#: non-null value). Plain data, so that it pickles to the reader workers without imports.
Where = tuple[str, frozenset[Hashable] | None]


def value_order(value: Any) -> tuple[str, Any]:
    """Sort key for the values of a condition: numbers in numeric order, then strings."""
    return type(value).__name__, value


def held(where: Where, names: Collection[str]) -> pl.Expr:
    """True on the rows ``where`` names in a frame with columns ``names`` (never where the column
    is absent or null)."""
    column, values = where
    if column not in names:
        return pl.lit(False)
    if values is None:
        return pl.col(column).is_not_null()
    return pl.col(column).is_in(sorted(values, key=value_order))


@dataclass(frozen=True)
class Interest:
    """The rows and columns of a batch a detector reads.

    Rows: those whose ``source`` is in ``sources`` (``None``: every row), those some ``where``
    condition holds for (a column the batch lacks holds for no row), and with ``matched`` those a
    Sigma rule of the run matched (the reader workers know which). Columns: ``columns``
    (``None``: every column); names the batch lacks are ignored, and a kept column stays even
    where all the kept rows are null, so a detector that checks which columns a batch has sees
    the same answer.
    """

    columns: frozenset[str] | None = None
    sources: frozenset[str] | None = frozenset()
    where: tuple[Where, ...] = ()
    matched: bool = False

    @property
    def every_row(self) -> bool:
        return self.sources is None


def combine(interests: Iterable[Interest | None]) -> Interest | None:
    """The union of the interests; None (whole batches) when any of them is None."""
    columns: set[str] | None = set()
    sources: set[str] | None = set()
    where: list[Where] = []
    matched = False
    for interest in interests:
        if interest is None:
            return None
        columns = None if columns is None or interest.columns is None else columns | interest.columns
        sources = None if sources is None or interest.sources is None else sources | interest.sources
        where += [w for w in interest.where if w not in where]
        matched = matched or interest.matched
    return Interest(
        columns=None if columns is None else frozenset(columns),
        sources=None if sources is None else frozenset(sources),
        where=tuple(where),
        matched=matched,
    )


def project(
    batch: pl.DataFrame, interest: Interest, matched: str | None = None, keep: Iterable[str] = ()
) -> pl.DataFrame:
    """The rows and columns of ``batch`` that ``interest`` names, in the batch's order.

    ``matched`` is the name of the column that is non-null on rows a Sigma rule matched (the
    reader worker's private hits column); ``keep`` names columns kept whatever the interest
    (that hits column itself).
    """
    kept = set(keep)
    if interest.columns is not None:
        kept |= interest.columns
        names = [c for c in batch.columns if c in kept]
        narrow = batch.select(names) if len(names) < batch.width else batch
    else:
        narrow = batch
    if interest.every_row or not batch.height:
        return narrow
    mask = _row_mask(batch, interest, matched)
    return narrow.filter(mask) if mask is not None else narrow.clear()


def _row_mask(batch: pl.DataFrame, interest: Interest, matched: str | None) -> pl.Series | None:
    """The boolean mask of the rows of interest (nulls as false), or None when there are none."""
    terms: list[pl.Expr] = []
    if interest.sources and "source" in batch.columns:
        terms.append(pl.col("source").is_in(sorted(interest.sources)))
    if interest.matched and matched is not None and matched in batch.columns:
        terms.append(pl.col(matched).is_not_null())
    terms += [held(where, batch.columns) for where in interest.where if where[0] in batch.columns]
    if not terms:
        return None
    return batch.select(pl.any_horizontal(terms).fill_null(False)).to_series()
