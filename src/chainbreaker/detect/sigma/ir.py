"""The rule IR: a small, back-end neutral expression tree that compiled Sigma detections become.

pySigma parses a rule; :mod:`chainbreaker.detect.sigma.compiler` turns its parsed condition into
these nodes; each back end (Polars now, Spark later) turns the nodes into its own expressions.
Nodes are frozen dataclasses of plain values, so a compiled rule set pickles into the cache.

Conventions every back end follows:

* ``field is None`` on a string or regex leaf means a keyword (field-less) search.
* String values of a leaf that is not ``cased`` are already lower-cased; the back end compares
  them with the lower-cased column. ``glob`` values use ``*`` and ``?`` as wildcards and ``\\``
  to escape ``*``, ``?`` and ``\\`` (see :func:`glob_literals`).
* A leaf on a field whose column is absent or null is false (``IsNull`` is the exception), so
  ``not selection`` matches events that lack the field, as SIEM back ends do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Generic, Literal, TypeAlias, TypeVar

StrKind = Literal["exact", "contains", "startswith", "endswith", "glob"]
CompareOp = Literal["lt", "lte", "gt", "gte", "neq"]
TimeUnit = Literal["minute", "hour", "day", "week", "month", "year"]


@dataclass(frozen=True, slots=True)
class Const:
    value: bool


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Node


@dataclass(frozen=True, slots=True)
class StrMatch:
    """Any of ``values`` matches the field (exact, substring, prefix, suffix or wildcard pattern)."""

    field: str | None
    kind: StrKind
    values: tuple[str, ...]
    cased: bool = False


@dataclass(frozen=True, slots=True)
class Regex:
    field: str | None
    pattern: str
    flags: str = ""  # subset of "ims"


@dataclass(frozen=True, slots=True)
class Cidr:
    field: str
    networks: tuple[str, ...]  # "10.0.0.0/8", "fe80::/10"


@dataclass(frozen=True, slots=True)
class Compare:
    """Numeric comparison; the column's text is cast to a number, unparsable text never matches."""

    field: str
    op: CompareOp
    value: float


@dataclass(frozen=True, slots=True)
class Exists:
    field: str
    exists: bool = True


@dataclass(frozen=True, slots=True)
class IsNull:
    field: str


@dataclass(frozen=True, slots=True)
class FieldRef:
    """The field equals (starts with, ends with) the value of another field of the same event."""

    field: str
    other: str
    kind: Literal["exact", "startswith", "endswith"] = "exact"
    cased: bool = False


@dataclass(frozen=True, slots=True)
class TimePart:
    """A part of the field's timestamp (Sigma 2.1 time modifiers) equals ``value``."""

    field: str
    unit: TimeUnit
    value: int


Leaf: TypeAlias = StrMatch | Regex | Cidr | Compare | Exists | IsNull | FieldRef | TimePart
Node: TypeAlias = Const | And | Or | Not | Leaf

TRUE = Const(True)
FALSE = Const(False)

#: The pseudo-field of keyword (field-less) string searches once a back end has joined an event's
#: string fields into one text, separated by KEYWORD_SEPARATOR (which wildcards never cross).
KEYWORDS = "\x00keywords"
KEYWORD_SEPARATOR = "\x1f"


def leaves(node: Node) -> Iterator[Leaf]:
    """Every leaf of the tree, depth first."""
    if isinstance(node, And | Or):
        for item in node.items:
            yield from leaves(item)
    elif isinstance(node, Not):
        yield from leaves(node.item)
    elif not isinstance(node, Const):
        yield node


def fields(node: Node) -> set[str]:
    """Every field the tree reads (keyword leaves read none by name)."""
    out: set[str] = set()
    for leaf in leaves(node):
        name = getattr(leaf, "field", None)
        if name:
            out.add(name)
        if isinstance(leaf, FieldRef):
            out.add(leaf.other)
    return out


def positive_fields(node: Node, negated: bool = False) -> set[str]:
    """Fields tested outside any ``not``: the ones worth citing as why an event matched."""
    if isinstance(node, And | Or):
        return set().union(*(positive_fields(i, negated) for i in node.items)) if node.items else set()
    if isinstance(node, Not):
        return positive_fields(node.item, not negated)
    if isinstance(node, Const) or negated:
        return set()
    name = getattr(node, "field", None)
    return {name} if name else set()


def rename(node: Node, mapping: Mapping[str, str]) -> Node:
    """The same tree with fields renamed (a log source's own names for Sigma's field names)."""
    if not mapping:
        return node
    if isinstance(node, And | Or):
        return type(node)(tuple(rename(i, mapping) for i in node.items))
    if isinstance(node, Not):
        return Not(rename(node.item, mapping))
    if isinstance(node, Const):
        return node
    name = getattr(node, "field", None)
    if name is not None and name in mapping:
        node = replace(node, field=mapping[name])
    if isinstance(node, FieldRef) and node.other in mapping:
        node = replace(node, other=mapping[node.other])
    return node


def substitute(node: Node, decide: Callable[[Leaf], Node | None]) -> Node:
    """Replace leaves for which ``decide`` returns a node (e.g. a constant), then simplify."""
    if isinstance(node, And | Or):
        return simplify(type(node)(tuple(substitute(i, decide) for i in node.items)))
    if isinstance(node, Not):
        return simplify(Not(substitute(node.item, decide)))
    if isinstance(node, Const):
        return node
    new = decide(node)
    return node if new is None else new


def simplify(node: Node) -> Node:
    """Flatten nested and/or, fold constants, merge string leaves of one field and kind under ``or``."""
    if isinstance(node, Not):
        inner = simplify(node.item)
        if isinstance(inner, Const):
            return Const(not inner.value)
        if isinstance(inner, Not):
            return inner.item
        return Not(inner)
    if not isinstance(node, And | Or):
        return node
    is_and = isinstance(node, And)
    items: list[Node] = []
    for item in node.items:
        item = simplify(item)
        if isinstance(item, Const):
            if item.value != is_and:  # false under and / true under or decides the whole node
                return item
            continue
        if type(item) is type(node):
            items.extend(item.items)
        else:
            items.append(item)
    if not is_and:
        items = _merge_string_leaves(items)
    if not items:
        return Const(is_and)
    if len(items) == 1:
        return items[0]
    return And(tuple(items)) if is_and else Or(tuple(items))


def _merge_string_leaves(items: list[Node]) -> list[Node]:
    merged: dict[tuple[str | None, str, bool], list[str]] = {}
    out: list[Node] = []
    for item in items:
        if isinstance(item, StrMatch):
            key = (item.field, item.kind, item.cased)
            if key not in merged:
                merged[key] = []
                out.append(item)  # placeholder keeps the first position
            merged[key].extend(v for v in item.values if v not in merged[key])
        else:
            out.append(item)
    result: list[Node] = []
    for item in out:
        if isinstance(item, StrMatch):
            result.append(replace(item, values=tuple(merged[(item.field, item.kind, item.cased)])))
        else:
            result.append(item)
    return result


def _cost(node: Node) -> int:
    if isinstance(node, StrMatch):
        keyword = 4 if node.field in (None, KEYWORDS) else 0
        return {"exact": 1, "startswith": 2, "endswith": 2, "contains": 3}.get(node.kind, 5) + keyword
    if isinstance(node, And | Or):
        return sum(_cost(i) for i in node.items)
    return 8  # regex, cidr, compare, fieldref...


def anchor(node: Node) -> Node | None:
    """A cheap condition every match of ``node`` satisfies (None if there is none worth having).

    The engine evaluates anchors over all rows first and the whole condition only on the rows an
    anchor keeps: most rules are ``selection and not filter`` whose selection (``Image`` ends with
    ``\\svchost.exe``) is cheap and rare while filters and regular expressions are not.
    """
    found = _necessary(node)
    return None if found is None or found == node else found


def _necessary(node: Node) -> Node | None:
    if isinstance(node, And):
        candidates = [n for n in (_necessary(i) for i in node.items) if n is not None]
        return min(candidates, key=_cost) if candidates else None
    if isinstance(node, Or):
        parts = [_necessary(i) for i in node.items]
        if any(p is None for p in parts):
            return None
        return simplify(Or(tuple(p for p in parts if p is not None)))
    if isinstance(node, StrMatch):
        return node
    return None  # not, constants, and leaves no cheaper than themselves


def keywords_as_field(node: Node) -> Node:
    """Keyword string searches as searches of the :data:`KEYWORDS` pseudo-field."""

    def decide(leaf: Leaf) -> Node | None:
        if isinstance(leaf, StrMatch) and leaf.field is None:
            return replace(leaf, field=KEYWORDS)
        return None

    return substitute(node, decide)


def glob_literals(pattern: str) -> list[str]:
    """The literal runs of a glob pattern (between wildcards), unescaped."""
    runs: list[str] = []
    current: list[str] = []
    chars = iter(pattern)
    for ch in chars:
        if ch == "\\":
            current.append(next(chars, "\\"))
        elif ch in "*?":
            if current:
                runs.append("".join(current))
            current = []
        else:
            current.append(ch)
    if current:
        runs.append("".join(current))
    return runs


def glob_to_regex(pattern: str, separator: str | None = None) -> str:
    """An anchored regular expression (Rust/Python syntax) equivalent to a glob pattern.

    With a ``separator`` the text is several fields joined by it (keyword searches): the pattern
    must match one whole field, so it is anchored at separators and wildcards never cross them.
    """
    any_char = f"[^{separator}]" if separator else "."
    out: list[str] = [f"(?:^|{separator})" if separator else "^"]
    chars = iter(pattern)
    for ch in chars:
        if ch == "\\":
            out.append(_escape(next(chars, "\\")))
        elif ch == "*":
            out.append(any_char + "*")
        elif ch == "?":
            out.append(any_char)
        else:
            out.append(_escape(ch))
    out.append(f"(?:{separator}|$)" if separator else "$")
    return "(?s)" + "".join(out)


def _escape(ch: str) -> str:
    return "\\" + ch if ch in r"\.^$|?*+()[]{}-#&~" else ch


_T = TypeVar("_T")


class NodeMemo(Generic[_T]):
    """``compute(node)`` remembered per node object (the engine's folded nodes are shared and met
    again in every round): keyed by id, each node kept alive beside its value so the id stays its
    own; cleared when ``limit`` nodes are held."""

    def __init__(self, compute: Callable[[Node], _T], limit: int) -> None:
        self.compute = compute
        self.limit = limit
        self._values: dict[int, tuple[Node, _T]] = {}

    def __call__(self, node: Node) -> _T:
        found = self._values.get(id(node))
        if found is None:
            if len(self._values) >= self.limit:
                self._values.clear()
            found = self._values[id(node)] = (node, self.compute(node))
        return found[1]
