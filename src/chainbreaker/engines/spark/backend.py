"""IR -> Spark SQL expressions: the Spark twin of :mod:`chainbreaker.detect.sigma.polars_backend`.

Both back ends read the same compiled IR (:mod:`chainbreaker.detect.sigma.ir`), so a rule means
the same on both engines. Per row the Polars engine's semantics reduce to "a leaf on a null or
absent column is false" (``IsNull`` is true there), which is what Spark's three-valued logic gives
once every leaf is wrapped in ``coalesce(..., false)``.

Expressions are built as Spark SQL text and handed to ``F.expr`` once per rule: building them as
PySpark ``Column`` objects costs one JVM round trip per literal (minutes for the SigmaHQ set),
and long ``or`` chains are written flat (Spark's parser balances them) so neither the parser nor
Catalyst recurses thousands of levels deep.

Where the two regex engines differ we bridge them here (docs/SCALE.md "Fidelity"):

* Polars uses Rust's regex (Unicode ``\\w``/``\\d``/``\\s``, case folding, ``.`` stops only at
  ``\\n``, ``$`` only at the end of the text) and falls back to Python ``re`` for look-around and
  back references. Java's engine gets ``(?U)`` (Unicode classes and case) and ``(?d)`` (only
  ``\\n`` ends a line); for Rust-compatible patterns an unescaped ``$`` outside a class becomes
  ``\\z`` unless the rule asks for multi-line mode.
* Wildcard (glob) values compile to the same anchored regex the Polars back end uses, ended by
  ``\\z``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from chainbreaker.detect.sigma import ir
from chainbreaker.detect.sigma.polars_backend import rust_regex_ok
from chainbreaker.engines.spark.cidr import cidr_sql, colon_hits_for
from chainbreaker.events import NORMALISED_SCHEMA

if TYPE_CHECKING:  # PySpark is optional: this module imports without it
    from pyspark.sql.types import DataType, StructType

LOWER_PREFIX = "__cb_lc:"
_JAVA_FLAGS = "(?dU)"
_TIME_PARTS = {
    "minute": "minute",
    "hour": "hour",
    "day": "dayofmonth",
    "week": "weekofyear",  # ISO week, as Polars' dt.week
    "month": "month",
    "year": "year",
}
_COMPARE = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">=", "neq": "!="}
TRUE, FALSE = "true", "false"
_TRIM = r"(?U)^\s+|\s+$"  # Polars strip_chars: Unicode white space at both ends


def quoted(name: str) -> str:
    """A column name in Spark SQL: back-quoted, so dots and spaces are part of the name."""
    return "`" + name.replace("`", "``") + "`"


def literal(value: str) -> str:
    """A Spark SQL string literal (the parser unescapes backslash sequences)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def flat(op: str, items: Sequence[str], empty: str) -> str:
    """``(a op b op c ...)``: one flat chain. Spark's parser turns a chain of one operator into a
    balanced tree itself; nested parentheses instead make its ANTLR parser slow down sharply."""
    if not items:
        return empty
    if len(items) == 1:
        return items[0]
    return "(" + f" {op} ".join(items) + ")"


def any_of(items: Sequence[str]) -> str:
    return flat("OR", items, FALSE)


def all_of(items: Sequence[str]) -> str:
    return flat("AND", items, TRUE)


def java_dollar(pattern: str) -> str:
    """``$`` (outside classes, unescaped) -> ``\\z``: Rust's end-of-text ``$`` in Java syntax."""
    out: list[str] = []
    depth = 0
    escaped = False
    for ch in pattern:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "[":
            depth += 1
        elif ch == "]" and depth:
            depth -= 1
        elif ch == "$" and depth == 0:
            out.append("\\z")
            continue
        out.append(ch)
    return "".join(out)


def java_regex(pattern: str, flags: str = "") -> str:
    """The Java pattern that matches what the Polars engine matches for this rule regex."""
    inline = f"(?{flags})" if flags else ""
    if rust_regex_ok(inline + pattern) and "m" not in flags and "(?m" not in pattern:
        pattern = java_dollar(pattern)
    return _JAVA_FLAGS + inline + pattern


def glob_regex(value: str) -> str:
    rx = ir.glob_to_regex(value)  # "(?s)^...$" with a literal, unescaped final "$"
    return _JAVA_FLAGS + rx[:-1] + "\\z"


class SparkBackend:
    """Compiles IR against the schema of a Spark DataFrame (the whole dataset's union schema).

    ``colon_values`` holds, per field that CIDR leaves test, its distinct values containing ``:``
    (see :mod:`chainbreaker.engines.spark.cidr`). ``present``: the columns holding a value in the
    partitions (keys) the expressions will run on; the others count as absent, so their leaves
    fold to constants and keyword searches scan only them, as in the Polars engine.
    """

    def __init__(
        self,
        schema: StructType,
        colon_values: Mapping[str, Sequence[str]] | None = None,
        present: set[str] | None = None,
    ) -> None:
        self.colon_values = dict(colon_values or {})
        self.types: dict[str, DataType] = {f.name: f.dataType for f in schema.fields}
        if present is not None:  # like the Polars engine, treat columns null in these keys as absent
            self.types = {c: t for c, t in self.types.items() if c in present or c in NORMALISED_SCHEMA}
        self.columns = set(self.types)
        self.lowered: dict[str, str] = {}
        self.keyword_columns = sorted(
            c for c, t in self.types.items() if _is_string(t) and c not in NORMALISED_SCHEMA
        )
        # Polars renames "Threat Name" to "ThreatName" where no such column exists (engine.drop_absent)
        spaced: dict[str, list[str]] = {}
        for name in self.types:
            if " " in name:
                spaced.setdefault(name.replace(" ", ""), []).append(name)
        self.spaced = {new: olds[0] for new, olds in spaced.items() if len(olds) == 1}

    def has(self, field: str) -> bool:
        return field in self.columns or field in self.spaced

    def is_text(self, field: str) -> bool:
        """Whether :meth:`raw` reads the field as stored text (no cast): its leaves can be decided
        on its distinct values (:mod:`chainbreaker.engines.spark.decide`)."""
        if field in self.columns:
            return _is_string(self.types[field])
        return field in self.spaced and _is_string(self.types[self.spaced[field]])

    def raw(self, field: str) -> str:
        """The field's column as text (a spaced original name stands in for a missing column)."""
        if field in self.columns:
            col = quoted(field)
            if not _is_string(self.types[field]):
                col = f"CAST({col} AS STRING)"
            if field in self.spaced:
                col = f"coalesce({col}, {quoted(self.spaced[field])})"
            return col
        return quoted(self.spaced[field])

    def lower(self, field: str) -> str:
        """The lower-cased column, computed once per row in a projection before the rules run.

        Named after the SQL it lowers, so backends of different partitions share equal columns.
        """
        raw = self.raw(field)
        name = LOWER_PREFIX + raw
        self.lowered[name] = f"lower({raw})"
        return quoted(name)

    def lowered_columns(self) -> dict[str, str]:
        """Name -> SQL of each lower-cased column the compiled expressions read."""
        return dict(self.lowered)

    def sql(self, node: ir.Node) -> str:
        """The node as a non-null boolean SQL expression."""
        if isinstance(node, ir.Const):
            return TRUE if node.value else FALSE
        if isinstance(node, ir.And):
            return all_of([self.sql(i) for i in node.items])
        if isinstance(node, ir.Or):
            return any_of([self.sql(i) for i in node.items])
        if isinstance(node, ir.Not):
            return f"(NOT {self.sql(node.item)})"
        if isinstance(node, ir.IsNull):
            return f"({self.raw(node.field)} IS NULL)" if self.has(node.field) else TRUE
        if isinstance(node, ir.Exists):
            if not self.has(node.field):
                return FALSE if node.exists else TRUE
            return f"({self.raw(node.field)} IS {'NOT ' if node.exists else ''}NULL)"
        if isinstance(node, ir.StrMatch | ir.Regex) and node.field is None:
            return any_of([self.sql(_with_field(node, c)) for c in self.keyword_columns])
        field = node.field
        if field is None or not self.has(field):
            return FALSE
        return f"coalesce({self._leaf(node, field)}, false)"

    def _leaf(self, node: ir.Leaf, field: str) -> str:
        if isinstance(node, ir.StrMatch):
            return self._string(node, field)
        if isinstance(node, ir.Regex):
            return f"({self.raw(field)} RLIKE {literal(java_regex(node.pattern, node.flags))})"
        if isinstance(node, ir.Cidr):
            return cidr_sql(self.raw(field), node.networks, colon_hits_for(node, self.colon_values))
        if isinstance(node, ir.Compare):
            trimmed = f"regexp_replace({self.raw(field)}, {literal(_TRIM)}, '')"
            value = f"CAST({literal(repr(node.value))} AS DOUBLE)"
            return f"(try_cast({trimmed} AS DOUBLE) {_COMPARE[node.op]} {value})"
        if isinstance(node, ir.FieldRef):
            if not self.has(node.other):
                return FALSE
            left = self.raw(field) if node.cased else self.lower(field)
            right = self.raw(node.other) if node.cased else self.lower(node.other)
            if node.kind == "exact":
                return f"({left} = {right})"
            return f"{node.kind}({left}, {right})"
        if isinstance(node, ir.TimePart):
            return f"({_TIME_PARTS[node.unit]}(to_timestamp({self.raw(field)})) = {node.value})"
        raise TypeError(f"no Spark form for {type(node).__name__}")

    def _string(self, node: ir.StrMatch, field: str) -> str:
        col = self.raw(field) if node.cased else self.lower(field)
        values = node.values
        if node.kind == "exact":
            if len(values) == 1:
                return f"({col} = {literal(values[0])})"
            return f"({col} IN ({', '.join(literal(v) for v in values)}))"
        if node.kind in ("contains", "startswith", "endswith"):
            return any_of([f"{node.kind}({col}, {literal(v)})" for v in values])
        return any_of([f"({col} RLIKE {literal(glob_regex(v))})" for v in values])


def _with_field(node: ir.StrMatch | ir.Regex, field: str) -> ir.StrMatch | ir.Regex:
    if isinstance(node, ir.StrMatch):
        return ir.StrMatch(field, node.kind, node.values, node.cased)
    return ir.Regex(field, node.pattern, node.flags)


def _is_string(data_type: DataType) -> bool:
    return bool(data_type.typeName() == "string")
