"""Driver side of the Spark engine's pruning: rules folded, and leaves decided, on distinct values.

The Spark job collects, per partition key, the distinct values of each column that a planned rule
tests with a string, regex, CIDR or numeric comparison leaf (:func:`decidable_fields`). Here, on
the driver, with the embedded engine's own code and nothing re-implemented:

1. **literal presence** (:mod:`chainbreaker.detect.sigma.prefilter`): ``wanted_literals``, the
   Aho-Corasick ``search`` over the lower-cased distinct values, and ``fold``, exactly as the
   embedded engine prunes a partition: a rule none of whose needed literals occur folds to false
   and never runs on Spark;
2. **leaf decisions**: every remaining leaf on such a column is evaluated over the column's
   distinct values by the embedded :class:`PolarsBackend` (same regex engine, case folding, CIDR
   and number parsing) and replaced by a cased exact match on the values that passed, which the
   Spark back end writes as ``col IN (...)``: a hash lookup per row instead of a regex. No value
   passed: false; every value passed: ``col IS NOT NULL``.

Both steps are exact, whatever the data: a decided leaf is true on a row exactly when the row's
value is one the leaf accepts. A column with more distinct values than the job's cap, or a leaf
accepting more than :data:`MAX_IN_VALUES` values, keeps its row-wise Spark form instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet

import polars as pl

from chainbreaker.detect.sigma import ir
from chainbreaker.detect.sigma.polars_backend import PolarsBackend
from chainbreaker.detect.sigma.prefilter import fold, search, wanted_literals

#: Longest ``IN`` list a decided leaf becomes; past it the leaf is evaluated row by row on Spark
#: (a long list of literals costs Spark's SQL parser more than the row-wise test saves).
MAX_IN_VALUES = 2_000
_DECIDABLE = (ir.StrMatch, ir.Regex, ir.Cidr, ir.Compare)


def decidable_fields(node: ir.Node, string_fields: set[str]) -> set[str]:
    """Fields of ``node`` whose leaves can be decided on distinct values (string columns only)."""
    return {
        leaf.field
        for leaf in ir.leaves(node)
        if isinstance(leaf, _DECIDABLE) and leaf.field is not None and leaf.field in string_fields
    }


def prune(
    nodes: Sequence[ir.Node],
    columns: set[str],
    values: Mapping[str, Sequence[str]],
    undecided: AbstractSet[str] = frozenset(),
) -> list[ir.Node]:
    """``nodes`` (one key's planned conditions) folded and decided on the key's distinct values.

    ``columns``: the fields holding a value in the key; ``values``: per decidable field, all its
    distinct values in the key; ``undecided``: fields with too many values to collect (their
    literals count as present, their leaves stay as they are).
    """
    wanted = wanted_literals(columns, list(nodes))
    lowered = _lowered(values, [c for c in wanted if c in values])
    present = {
        c: frozenset(search(lowered[c], tuple(lits))) if c in lowered else frozenset(lits)
        for c, lits in wanted.items()
    }
    folded = fold(list(nodes), columns, present)
    hits = _decide(folded, {c: v for c, v in values.items() if c not in undecided})
    if not hits:
        return folded

    def replace(leaf: ir.Leaf) -> ir.Node | None:
        return hits.get(leaf)

    return [ir.substitute(node, replace) for node in folded]


def _lowered(values: Mapping[str, Sequence[str]], columns: list[str]) -> dict[str, list[str]]:
    """Each column's distinct values lower-cased by Polars, as the embedded prefilter does."""
    return {
        c: pl.Series(c, list(values[c]), dtype=pl.String).str.to_lowercase().unique().to_list()
        for c in columns
    }


def _decide(nodes: Sequence[ir.Node], values: Mapping[str, Sequence[str]]) -> dict[ir.Leaf, ir.Node]:
    """Per decidable leaf of ``nodes``: false, ``exists``, or a cased exact match on its hits."""
    by_field: dict[str, dict[ir.Leaf, None]] = {}  # field -> its distinct leaves, in order
    for node in nodes:
        for leaf in ir.leaves(node):
            field = leaf.field
            if field is not None and isinstance(leaf, _DECIDABLE) and field in values:
                by_field.setdefault(field, {})[leaf] = None
    out: dict[ir.Leaf, ir.Node] = {}
    for field, unique in by_field.items():
        leaves = list(unique)
        series = pl.Series(field, list(values[field]), dtype=pl.String)
        frame = pl.DataFrame([series])
        backend = PolarsBackend(frame)
        exprs = [backend.expr(leaf).alias(str(i)) for i, leaf in enumerate(leaves)]
        masks = frame.with_columns(backend.lowered_exprs()).select(exprs)
        for i, leaf in enumerate(leaves):
            passed = series.filter(masks.get_column(str(i)))
            if passed.is_empty():
                out[leaf] = ir.FALSE
            elif passed.len() == series.len():
                out[leaf] = ir.Exists(field, True)
            elif passed.len() <= MAX_IN_VALUES:
                out[leaf] = ir.StrMatch(field, "exact", tuple(sorted(passed.to_list())), cased=True)
    return out
