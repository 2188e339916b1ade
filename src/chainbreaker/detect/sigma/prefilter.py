"""Work shared between rules: one Aho-Corasick pass per column decides which literals occur at all.

Most rules match nothing in most partitions. Before building any per-rule expression, we collect
every literal the partition's rules look for in each column (the value of exact / prefix / suffix
/ substring matches, the longest literal run of a wildcard pattern) and find, in a single
Aho-Corasick pass over the column's distinct lower-cased values, which of them occur.
A string leaf none of whose literals occur is false for every row, so it folds to a constant;
constants propagate through ``and`` / ``or`` / ``not`` (:func:`ir.simplify`), and a rule that folds
to false is never evaluated. This is exact: a literal that occurs nowhere in a column cannot be
matched by any row of it, whatever the case-sensitivity or match kind.
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import ahocorasick
import polars as pl

from chainbreaker.detect.sigma import ir


def key_literal(leaf: ir.StrMatch, value: str) -> str | None:
    """The lower-cased literal that must occur for ``value`` to match, or None if none is required."""
    if leaf.kind == "glob":
        runs = ir.glob_literals(value)
        value = max(runs, key=len) if runs else ""
    return value.lower() or None


#: Automata by literal list, most recently used last. Built once per rule set and column, not per
#: batch: building one for thousands of literals costs milliseconds, more than searching a batch's
#: distinct values with it (Polars' ``str.extract_many`` builds its automaton on every call).
_AUTOMATA: OrderedDict[tuple[str, ...], Any] = OrderedDict()
_MAX_AUTOMATA = 256
_SEPARATOR = "\x00"


def automaton(literals: tuple[str, ...]) -> Any:
    """The pyahocorasick automaton of ``literals`` (each literal is its own value), cached."""
    found = _AUTOMATA.get(literals)
    if found is None:
        found = ahocorasick.Automaton()
        for literal in literals:
            found.add_word(literal, literal)
        found.make_automaton()
        _AUTOMATA[literals] = found
        if len(_AUTOMATA) > _MAX_AUTOMATA:
            _AUTOMATA.popitem(last=False)
    else:
        _AUTOMATA.move_to_end(literals)
    return found


def present_literals(column: pl.Series, literals: list[str]) -> set[str]:
    """Which of ``literals`` occur (case-insensitively) in some value of the column."""
    return search(column.drop_nulls().unique().str.to_lowercase().to_list(), tuple(literals))


def search(values: list[str], literals: tuple[str, ...]) -> set[str]:
    """Which of ``literals`` occur in some of ``values`` (as given: lower-case both first)."""
    if not values or not literals:
        return set()
    # One search over all values joined by a character no literal has (else one search per value).
    if _joinable(literals):
        return search_text(_SEPARATOR.join(values), literals)
    found: set[str] = set()
    for text in values:
        found |= search_text(text, literals)
        if len(found) == len(literals):
            break
    return found


def search_text(text: str, literals: tuple[str, ...]) -> set[str]:
    """Which of ``literals`` occur in ``text``."""
    if not text or not literals:
        return set()
    return {literal for _, literal in automaton(literals).iter(text)}  # overlapping ones too


def _joinable(literals: Sequence[str]) -> bool:
    """Whether no literal holds the separator that joins values into one searched text."""
    return not any(_SEPARATOR in lit for lit in literals)


def wanted_literals(columns: set[str], nodes: list[ir.Node]) -> dict[str, list[str]]:
    """Per column, the sorted literals whose presence decides the string leaves of ``nodes``."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for node in nodes:
        for leaf in ir.leaves(node):
            if isinstance(leaf, ir.StrMatch) and leaf.field in columns:
                for value in leaf.values:
                    literal = key_literal(leaf, value)
                    if literal:
                        wanted[leaf.field].add(literal)
    return {c: sorted(lits) for c, lits in wanted.items()}


def presence(frame: pl.DataFrame, wanted: dict[str, list[str]]) -> dict[str, frozenset[str]]:
    """Which wanted literals occur in each column of the frame (one Aho-Corasick pass per column)."""
    return distinct_presence(frame, wanted)[0]


def distinct_presence(
    frame: pl.DataFrame, wanted: dict[str, list[str]], keyword_columns: Sequence[str] = ()
) -> tuple[dict[str, frozenset[str]], dict[str, pl.Series]]:
    """:func:`presence`, and each wanted column's distinct non-null values, which the engine reuses
    to decide single string tests on distinct values.

    The literals of the joined keyword text (:data:`ir.KEYWORDS`, when not a column of ``frame``) are
    searched in the ``keyword_columns`` it joins: a literal without the separator occurs in the
    joined text exactly when it occurs in one of the joined values, and the columns' distinct
    values are far fewer than the rows' joined texts (nearly all distinct). A literal holding the
    separator counts as present (it is then left to the full test).
    """
    virtual = ir.KEYWORDS in wanted and ir.KEYWORDS not in frame.columns
    keyword_literals = wanted[ir.KEYWORDS] if virtual else []
    columns = [c for c in wanted if c != ir.KEYWORDS or not virtual]
    joined = [c for c in keyword_columns if c not in columns] if keyword_literals else []
    present: dict[str, frozenset[str]] = {}
    found: dict[str, pl.Series] = {}
    texts: dict[str, str] = {}
    distinct = pl.DataFrame()
    if columns or joined:  # every column's distinct values, then their lower-cased text
        distinct = frame.select(pl.col(c).drop_nulls().unique().implode() for c in [*columns, *joined])
        # Each column's values joined into one text, then lower-cased, by Polars: one Python string
        # per column instead of one per value, and no per-column ``list.eval`` query. Lower-casing
        # maps characters one by one and the separator is neither cased nor case-ignorable, so the
        # lower-cased join is the join of the lower-cased values.
        joined_texts = distinct.select(pl.all().list.join(_SEPARATOR).str.to_lowercase()).row(0)
        texts = dict(zip(distinct.columns, joined_texts, strict=True))
        for c in columns:
            literals = tuple(wanted[c])
            if _joinable(literals):
                hits = search_text(texts[c], literals)
            else:
                hits = search(_lowered(distinct, c), literals)
            present[c] = frozenset(hits)
        found = {c: distinct.get_column(c)[0].alias(c) for c in columns}
    if virtual:
        spanning = {lit for lit in keyword_literals if ir.KEYWORD_SEPARATOR in lit}
        literals = tuple(keyword_literals)
        if not keyword_literals:
            hits = set()
        elif _joinable(literals):
            hits = search_text(_SEPARATOR.join(texts[c] for c in keyword_columns), literals)
        else:
            hits = search([v for c in keyword_columns for v in _lowered(distinct, c)], literals)
        present[ir.KEYWORDS] = frozenset(hits | spanning)
    return present, found


def _lowered(distinct: pl.DataFrame, column: str) -> list[str]:
    """A column's distinct values (one imploded list per column of ``distinct``), lower-cased."""
    return distinct.get_column(column)[0].str.to_lowercase().to_list()


def fold(nodes: list[ir.Node], columns: set[str], present: dict[str, frozenset[str]]) -> list[ir.Node]:
    """Each node with leaves that cannot match (absent column, absent literals) folded to constants."""

    def decide(leaf: ir.Leaf) -> ir.Node | None:
        name = leaf.field
        if name is None:
            return None  # keyword searches run over every string column
        if name not in columns:
            if isinstance(leaf, ir.IsNull):
                return ir.TRUE
            if isinstance(leaf, ir.Exists):
                return ir.Const(not leaf.exists)
            return ir.FALSE
        if isinstance(leaf, ir.FieldRef) and leaf.other not in columns:
            return ir.FALSE
        if not isinstance(leaf, ir.StrMatch):
            return None
        found = present.get(name, frozenset())
        keep = tuple(v for v in leaf.values if (k := key_literal(leaf, v)) is None or k in found)
        if not keep:
            return ir.FALSE
        return replace(leaf, values=keep) if len(keep) != len(leaf.values) else None

    return [ir.substitute(node, decide) for node in nodes]


def prune(frame: pl.DataFrame, nodes: list[ir.Node]) -> list[ir.Node]:
    """:func:`fold` with the literals present in ``frame``."""
    columns = set(frame.columns)
    return fold(nodes, columns, presence(frame, wanted_literals(columns, nodes)))


class FoldCache:
    """:func:`fold`, one rule at a time, cached by what decides the result for that rule.

    A rule's folded form depends only on which of *its* fields the frame has and which of *its*
    literals occur, so rules keep their folded form across groups and rounds whose other
    literals differ (most rules fold to false under most literal patterns). Nodes are keyed by
    ``id``: the caller keeps them alive (the engine's plans).
    """

    #: Entries kept before the cache starts over (bounds memory on endless streams).
    MAX_ENTRIES = 100_000

    def __init__(self) -> None:
        self._literals: dict[int, tuple[frozenset[str], dict[str, frozenset[str]]]] = {}
        self._folded: dict[object, ir.Node] = {}

    def fold(
        self, nodes: list[ir.Node], columns: set[str], present: dict[str, frozenset[str]]
    ) -> list[ir.Node]:
        out: list[ir.Node] = []
        for node in nodes:
            fields, literals = self._info(node)
            key = (
                id(node),
                fields & columns,
                tuple(
                    (c, lits & present.get(c, frozenset())) for c, lits in literals.items() if c in columns
                ),
            )
            folded = self._folded.get(key)
            if folded is None:
                if len(self._folded) >= self.MAX_ENTRIES:
                    self._folded.clear()
                folded = self._folded[key] = fold([node], columns, present)[0]
            out.append(folded)
        return out

    def wanted(self, columns: set[str], nodes: list[ir.Node]) -> dict[str, list[str]]:
        """:func:`wanted_literals`, from each node's literals found once."""
        out: dict[str, set[str]] = defaultdict(set)
        for node in nodes:
            for column, literals in self._info(node)[1].items():
                if column in columns:
                    out[column] |= literals
        return {c: sorted(lits) for c, lits in out.items()}

    def _info(self, node: ir.Node) -> tuple[frozenset[str], dict[str, frozenset[str]]]:
        """The fields a node reads and, per field, the literals its string tests look for."""
        info = self._literals.get(id(node))
        if info is None:
            fields = ir.fields(node)
            wanted = wanted_literals(fields, [node])
            info = self._literals[id(node)] = (
                frozenset(fields),
                {c: frozenset(v) for c, v in wanted.items()},
            )
        return info
