"""IR -> Polars expressions over one partition of a batch (events of one source/channel/event id).

The back end sees the partition's data, which lets it

* treat columns that are absent or entirely null as absent (their leaves fold to constants);
* lower-case each column a rule compares case-insensitively once per partition (``lower()``);
* evaluate what the Rust regex engine cannot (look-around, back references) and CIDR ranges with
  Python's ``re`` / ``ipaddress`` over the column's *distinct* values, then ``is_in`` on them, so
  no Python code ever runs per record.

Lists of literals use one pass each: ``is_in`` for exact values, ``str.contains_any``
(Aho-Corasick) for substrings, one anchored alternation regex for prefixes and suffixes.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Hashable
from dataclasses import replace
from functools import lru_cache

import polars as pl

from chainbreaker.detect.sigma import ir
from chainbreaker.events import NORMALISED_SCHEMA

LOWER_PREFIX = "\x00lc:"
_TIME_PARTS = {
    "minute": lambda e: e.dt.minute(),
    "hour": lambda e: e.dt.hour(),
    "day": lambda e: e.dt.day(),
    "week": lambda e: e.dt.week(),
    "month": lambda e: e.dt.month(),
    "year": lambda e: e.dt.year(),
}
#: Per Python-decided test (:meth:`PolarsBackend._distinct`): value -> whether it passes.
_DECIDED: dict[Hashable, dict[str, bool]] = {}
_MAX_DECIDED = 200_000  # values kept per test before its answers start over
_COMPARE = {
    "lt": lambda c, v: c < v,
    "lte": lambda c, v: c <= v,
    "gt": lambda c, v: c > v,
    "gte": lambda c, v: c >= v,
    "neq": lambda c, v: c != v,
}


@lru_cache(maxsize=4096)
def rust_regex_ok(pattern: str) -> bool:
    """Whether Polars' (Rust) regex engine accepts the pattern."""
    try:
        pl.Series([""], dtype=pl.String).str.contains(pattern)
    except pl.exceptions.PolarsError:
        return False
    return True


def _affix_in(col: pl.Expr, values: tuple[str, ...], prefix: bool) -> pl.Expr:
    """Any of many prefixes (suffixes): per distinct length, slice that many characters and ``is_in``.

    Cheaper than a large alternation regex, which the regex engine would recompile on every batch.
    """
    by_length: dict[int, list[str]] = {}
    for value in values:
        by_length.setdefault(len(value), []).append(value)
    tests = [
        (col.str.slice(0, n) if prefix else col.str.slice(-n, n)).is_in(group)
        for n, group in sorted(by_length.items())
    ]
    return pl.any_horizontal(tests) if len(tests) > 1 else tests[0]


class PolarsBackend:
    """Compiles IR for one partition. ``frame`` is the partition with absent columns dropped."""

    def __init__(self, frame: pl.DataFrame, virtual: tuple[str, ...] = ()) -> None:
        self.frame = frame
        self.columns = set(frame.columns) | set(virtual)  # virtual: derived columns added later
        self.lowered: set[str] = set()
        self.data_dependent = False  # set when an expression embeds values of this frame
        self.keyword_columns = [
            c
            for c, t in frame.schema.items()
            if t == pl.String and c not in NORMALISED_SCHEMA and c != ir.KEYWORDS
        ]

    def lower(self, column: str) -> pl.Expr:
        self.lowered.add(column)
        return pl.col(LOWER_PREFIX + column)

    def lowered_exprs(self) -> list[pl.Expr]:
        """The lower-cased columns the compiled expressions read, to add to the frame first."""
        return [pl.col(c).str.to_lowercase().alias(LOWER_PREFIX + c) for c in sorted(self.lowered)]

    def expr(self, node: ir.Node) -> pl.Expr:
        if isinstance(node, ir.Const):
            return pl.lit(node.value)
        if isinstance(node, ir.And):
            return pl.all_horizontal(self.expr(i) for i in node.items)
        if isinstance(node, ir.Or):
            return pl.any_horizontal(self.expr(i) for i in node.items)
        if isinstance(node, ir.Not):
            return ~self.expr(node.item)
        if isinstance(node, ir.StrMatch):
            return self._keyword(node) if node.field is None else self._string(node, node.field)
        if isinstance(node, ir.Regex):
            return self._keyword(node) if node.field is None else self._regex(node, node.field)
        if isinstance(node, ir.IsNull):
            return pl.col(node.field).is_null() if node.field in self.columns else pl.lit(True)
        if isinstance(node, ir.Exists):
            present = pl.col(node.field).is_not_null() if node.field in self.columns else pl.lit(False)
            return present if node.exists else ~present
        if node.field not in self.columns:
            return pl.lit(False)
        return self._other(node).fill_null(False)

    def _keyword(self, node: ir.StrMatch | ir.Regex) -> pl.Expr:
        """A field-less search: the value in any original string column of the event."""
        if not self.keyword_columns:
            return pl.lit(False)
        return pl.any_horizontal(self.expr(replace(node, field=c)) for c in self.keyword_columns)

    def _string(self, node: ir.StrMatch, field: str) -> pl.Expr:
        if field not in self.columns:
            return pl.lit(False)
        col = pl.col(field) if node.cased else self.lower(field)
        values = node.values
        if node.kind == "exact":
            out = col == values[0] if len(values) == 1 else col.is_in(values)
        elif node.kind == "contains":
            if len(values) == 1:
                out = col.str.contains(values[0], literal=True)
            else:
                out = col.str.contains_any(values)
        elif node.kind in ("startswith", "endswith"):
            starts = node.kind == "startswith"
            if len(values) == 1:
                out = col.str.starts_with(values[0]) if starts else col.str.ends_with(values[0])
            else:
                out = _affix_in(col, values, starts)
        else:
            separator = ir.KEYWORD_SEPARATOR if field == ir.KEYWORDS else None
            out = col.str.contains("|".join(f"(?:{ir.glob_to_regex(v, separator)})" for v in values))
        return out.fill_null(False)

    def _regex(self, node: ir.Regex, field: str) -> pl.Expr:
        if field not in self.columns:
            return pl.lit(False)
        inline = f"(?{node.flags})" if node.flags else ""
        if rust_regex_ok(inline + node.pattern):
            return pl.col(field).str.contains(inline + node.pattern).fill_null(False)
        flags = 0
        for ch, flag in (("i", re.IGNORECASE), ("m", re.MULTILINE), ("s", re.DOTALL)):
            if ch in node.flags:
                flags |= flag
        compiled = re.compile(node.pattern, flags)
        return self._distinct(field, ("re", node.pattern, flags), lambda v: compiled.search(v) is not None)

    def _distinct(self, field: str, test: Hashable, predicate: Callable[[str], bool]) -> pl.Expr:
        """Decide on each distinct value in Python (for what Rust regex cannot), then ``is_in``.

        Each value's answer is kept per ``test`` (values repeat across groups and rounds: IP
        addresses, command lines), so later frames run the predicate on new values only.
        """
        self.data_dependent = True
        distinct = self.frame.get_column(field).drop_nulls().unique().to_list()
        decided = _DECIDED.get(test)
        if decided is None or len(decided) > _MAX_DECIDED:
            decided = _DECIDED[test] = {}
        hits = []
        for value in distinct:
            hit = decided.get(value)
            if hit is None:
                hit = decided[value] = predicate(value)
            if hit:
                hits.append(value)
        return pl.col(field).is_in(hits).fill_null(False)

    def _other(self, node: ir.Leaf) -> pl.Expr:
        if isinstance(node, ir.Cidr):
            networks = [ipaddress.ip_network(n, strict=False) for n in node.networks]
            test = ("cidr", tuple(node.networks))
            return self._distinct(node.field, test, lambda v: _in_networks(v, networks))
        if isinstance(node, ir.Compare):
            number = pl.col(node.field).str.strip_chars().cast(pl.Float64, strict=False)
            return _COMPARE[node.op](number, node.value)
        if isinstance(node, ir.FieldRef):
            if node.other not in self.columns:
                return pl.lit(False)
            left = pl.col(node.field) if node.cased else self.lower(node.field)
            right = pl.col(node.other) if node.cased else self.lower(node.other)
            if node.kind == "startswith":
                return left.str.starts_with(right)
            if node.kind == "endswith":
                return left.str.ends_with(right)
            return left == right
        if isinstance(node, ir.TimePart):
            stamp = pl.col(node.field).str.to_datetime(strict=False, time_unit="ns", time_zone="UTC")
            return _TIME_PARTS[node.unit](stamp) == node.value
        raise TypeError(f"no Polars form for {type(node).__name__}")


def _in_networks(value: str, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    try:
        address = ipaddress.ip_address(value.strip().split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:10.0.0.1 as Sysmon writes some IPv4 peers
    return any(address in n for n in networks if n.version == address.version)
