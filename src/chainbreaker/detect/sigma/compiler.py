"""pySigma's parsed detection -> our IR (:mod:`chainbreaker.detect.sigma.ir`).

pySigma does the hard part: YAML, the condition grammar (``1 of``, ``all of``, ``them``,
parentheses, ``not``) and every value modifier (``contains``, ``windash``, ``base64offset``,
``utf16``, ``cidr``, ``re`` with flags, ``fieldref``, ``exists``, the time modifiers...). Its
parsed condition is a tree of ``ConditionAND/OR/NOT`` over field/value and keyword expressions
whose values are already typed (``SigmaString`` with wildcards, ``SigmaRegularExpression``...).
We walk that tree ourselves rather than subclass pySigma's text-query ``Backend``, because our
targets are expression objects, not query strings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.modifiers import SigmaWideModifier, modifier_mapping
from sigma.rule import SigmaRule
from sigma.types import (
    CompareOperators,
    Placeholder,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SigmaTimestampPart,
    SpecialChars,
)

from chainbreaker.detect.sigma import ir
from chainbreaker.errors import RuleError

# Sigma 2.1 names ``utf16le`` as an alias of ``wide``; pySigma 2.0 knows only ``wide``. Its
# modifier registry is a plain dict, so we add the alias there rather than rewrite the rule text.
modifier_mapping.setdefault("utf16le", SigmaWideModifier)

_COMPARE: dict[CompareOperators, ir.CompareOp] = {
    CompareOperators.LT: "lt",
    CompareOperators.LTE: "lte",
    CompareOperators.GT: "gt",
    CompareOperators.GTE: "gte",
    CompareOperators.NEQ: "neq",
}
_FLAGS = {
    SigmaRegularExpressionFlag.IGNORECASE: "i",
    SigmaRegularExpressionFlag.MULTILINE: "m",
    SigmaRegularExpressionFlag.DOTALL: "s",
}

FieldMapper = Callable[[str], str]


def compile_rule(
    rule: SigmaRule,
    placeholders: Mapping[str, list[str]] | None = None,
    field_mapper: FieldMapper | None = None,
) -> ir.Node:
    """The rule's detection as one simplified IR tree (conditions of a multi-condition rule are or-ed).

    ``placeholders`` resolves ``expand`` placeholders (``%name%``); ``field_mapper`` renames fields.
    Raises :class:`RuleError` for anything the engine cannot evaluate exactly.
    """
    location = str(rule.source.path) if rule.source and rule.source.path else None
    compiler = _Compiler(placeholders or {}, field_mapper or (lambda f: f), location)
    trees = [compiler.node(cond.parsed) for cond in rule.detection.parsed_condition]
    return ir.simplify(ir.Or(tuple(trees)))


class _Compiler:
    def __init__(self, placeholders: Mapping[str, list[str]], mapper: FieldMapper, location: str | None):
        self.placeholders = placeholders
        self.mapper = mapper
        self.location = location

    def fail(self, message: str) -> RuleError:
        return RuleError(message, self.location)

    def node(self, cond: Any) -> ir.Node:
        if isinstance(cond, ConditionAND):
            return ir.And(tuple(self.node(a) for a in cond.args))
        if isinstance(cond, ConditionOR):
            return ir.Or(tuple(self.node(a) for a in cond.args))
        if isinstance(cond, ConditionNOT):
            return ir.Not(self.node(cond.args[0]))
        if isinstance(cond, ConditionFieldEqualsValueExpression):
            return self.value(self.mapper(cond.field), cond.value)
        if isinstance(cond, ConditionValueExpression):
            return self.value(None, cond.value)
        raise self.fail(f"unsupported condition element {type(cond).__name__}")

    def value(self, field: str | None, value: Any) -> ir.Node:
        if isinstance(value, SigmaExpansion):
            return ir.Or(tuple(self.value(field, v) for v in value.values))
        if isinstance(value, SigmaString):  # includes SigmaCasedString
            return self.string(field, value, isinstance(value, SigmaCasedString))
        if isinstance(value, SigmaTimestampPart):
            unit = value.timestamp_part.name.lower()
            return ir.TimePart(self.need(field, "time modifier"), unit, int(value.number))  # type: ignore[arg-type]
        if isinstance(value, SigmaBool):
            return ir.StrMatch(field, "exact", ("true" if value.boolean else "false",))
        if isinstance(value, SigmaNumber):
            return ir.StrMatch(field, "exact", (str(value.number),))
        if isinstance(value, SigmaNull):
            return ir.IsNull(self.need(field, "null"))
        if isinstance(value, SigmaRegularExpression):
            flags = "".join(sorted(_FLAGS[f] for f in value.flags))
            return ir.Regex(field, str(value.regexp), flags)
        if isinstance(value, SigmaCIDRExpression):
            return ir.Cidr(self.need(field, "cidr"), (str(value.network),))
        if isinstance(value, SigmaCompareExpression):
            return ir.Compare(self.need(field, "compare"), _COMPARE[value.op], float(value.number.number))
        if isinstance(value, SigmaFieldReference):
            kind = "startswith" if value.starts_with else "endswith" if value.ends_with else "exact"
            return ir.FieldRef(self.need(field, "fieldref"), self.mapper(value.field), kind)  # type: ignore[arg-type]
        if isinstance(value, SigmaExists):
            return ir.Exists(self.need(field, "exists"), bool(value.exists))
        raise self.fail(f"unsupported value type {type(value).__name__}")

    def need(self, field: str | None, what: str) -> str:
        if field is None:
            raise self.fail(f"{what} without a field")
        return field

    def string(self, field: str | None, value: SigmaString, cased: bool) -> ir.Node:
        if value.contains_placeholder():
            return ir.Or(tuple(self.string(field, v, cased) for v in self.expand(value)))
        parts = list(value.s)
        kind: ir.StrKind
        literal_parts = [p for p in parts if isinstance(p, str)]
        specials = [p for p in parts if isinstance(p, SpecialChars)]
        many = SpecialChars.WILDCARD_MULTI
        if not specials:
            kind, text = "exact", "".join(literal_parts)
        elif (
            (len(parts) == 3 and parts[0] == many and parts[2] == many and isinstance(parts[1], str))
            or (len(parts) == 2 and parts[0] == many and isinstance(parts[1], str))
            or (len(parts) == 2 and parts[1] == many and isinstance(parts[0], str))
        ):
            if len(parts) == 3:
                kind, text = "contains", parts[1]  # type: ignore[assignment]
            elif parts[0] == many:
                kind, text = "endswith", parts[1]  # type: ignore[assignment]
            else:
                kind, text = "startswith", parts[0]  # type: ignore[assignment]
        else:
            kind, text = "glob", "".join(_glob_part(p) for p in parts)
        if field is None:  # keywords are full-text searches: a value may occur anywhere in a field
            # 'x*' and '*x' too: back ends search keywords in one text joined from every field,
            # where an anchor would only ever test the first (or last) field of the event.
            if kind in ("exact", "startswith", "endswith"):
                kind = "contains"
            elif kind == "glob":
                text = ("" if text.startswith("*") else "*") + text + ("" if text.endswith("*") else "*")
        if not cased:
            text = text.lower()
        return ir.StrMatch(field, kind, (text,), cased)

    def expand(self, value: SigmaString) -> list[SigmaString]:
        def resolve(p: Placeholder) -> list[str | SpecialChars | Placeholder]:
            if p.name not in self.placeholders:
                raise self.fail(f"unknown placeholder %{p.name}% (define it in the placeholders file)")
            return [SigmaString(v) for v in self.placeholders[p.name]]  # type: ignore[misc]

        return list(value.replace_placeholders(resolve))  # type: ignore[arg-type]


def _glob_part(part: object) -> str:
    if part == SpecialChars.WILDCARD_MULTI:
        return "*"
    if part == SpecialChars.WILDCARD_SINGLE:
        return "?"
    text = str(part)
    return text.replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?")
