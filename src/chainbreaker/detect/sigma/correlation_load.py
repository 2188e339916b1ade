"""Loading correlation rules: range conditions, and checking what each correlation refers to.

Range conditions (``gt: 100`` and ``lte: 200`` in one condition map):
The specification allows a condition map with two criteria, a range; pySigma 2.0 refuses any map
with more than one operator. :func:`split_range` rewrites such a document before pySigma sees it:
the first operator stays in ``correlation.condition``, the whole map goes to the top-level custom
attribute ``condition_range``, which :func:`chainbreaker.detect.sigma.correlation_alerts.condition_bounds`
reads back (every criterion must hold). Documents without a range are returned unchanged.

References: :func:`check_references` resolves every correlation's ``rules:`` against the loaded
rules and the other correlations (chains). A correlation that refers to a rule that is not loaded,
that is part of a reference loop, or that refers to a correlation left out for either reason
would never fire (or would stop the hunt at its end): it is left out and reported.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule

from chainbreaker.detect.sigma.correlation import references
from chainbreaker.detect.sigma.correlation_alerts import rule_names
from chainbreaker.errors import RuleError

OPERATORS = ("gt", "gte", "lt", "lte", "eq", "neq")


def split_range(document: dict[str, Any]) -> dict[str, Any]:
    correlation = document.get("correlation")
    if not isinstance(correlation, dict) or not isinstance(correlation.get("condition"), dict):
        return document
    condition = correlation["condition"]
    ops = [op for op in OPERATORS if op in condition]
    if len(ops) < 2:
        return document
    rewritten = copy.deepcopy(document)
    kept = {k: v for k, v in condition.items() if k not in OPERATORS or k == ops[0]}
    rewritten["correlation"]["condition"] = kept
    rewritten["condition_range"] = {op: condition[op] for op in ops}
    return rewritten


def load_rules(paths: Iterable[Path]) -> SigmaCollection:
    """Load Sigma rule files (multi-document YAML allowed) with range conditions supported."""
    documents: list[dict[str, Any]] = []
    for path in paths:
        try:
            loaded = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
        except (OSError, yaml.YAMLError) as exc:
            raise RuleError(f"cannot read rule file: {exc}", str(path)) from exc
        documents += [split_range(doc) for doc in loaded if isinstance(doc, dict)]
    return SigmaCollection.from_dicts(documents)


def check_references(
    correlations: Sequence[SigmaCorrelationRule], known: Collection[str]
) -> tuple[list[SigmaCorrelationRule], list[tuple[SigmaCorrelationRule, str]]]:
    """Split correlations into the usable ones and the left-out ones with the reason.

    ``known`` holds the ids and names of the loaded (compiled) base rules. A reference may name a
    base rule or another correlation of ``correlations``. Left out: a correlation with a reference
    to nothing loaded, every correlation on a reference loop (``a -> b -> a``, or a correlation
    referring to itself), then, until nothing changes, every correlation referring to one left out.
    """
    by_name = {name: corr for corr in correlations for name in rule_names(corr)}
    reasons: dict[int, str] = {}
    for corr in correlations:
        missing = [r for r in references(corr) if r not in known and r not in by_name]
        if missing:
            names = ", ".join(repr(r) for r in missing)
            reasons[id(corr)] = f"correlation refers to {names}: no such rule is loaded"
    for key, loop in _loops(correlations, by_name).items():
        reasons.setdefault(key, f"correlation rules refer to each other in a loop: {loop}")
    changed = True
    while changed:
        changed = False
        for corr in correlations:
            if id(corr) in reasons:
                continue
            bad = next((r for r in references(corr) if r in by_name and id(by_name[r]) in reasons), None)
            if bad is not None:
                reasons[id(corr)] = f"correlation refers to correlation {bad!r}, which is left out"
                changed = True
    kept = [c for c in correlations if id(c) not in reasons]
    return kept, [(c, reasons[id(c)]) for c in correlations if id(c) in reasons]


def _loops(
    correlations: Sequence[SigmaCorrelationRule], by_name: dict[str, SigmaCorrelationRule]
) -> dict[int, str]:
    """Every correlation on a reference cycle (by ``id()``), with the cycle spelled out."""
    found: dict[int, str] = {}
    state: dict[int, str] = {}
    path: list[SigmaCorrelationRule] = []

    def label(corr: SigmaCorrelationRule) -> str:
        return corr.name or (str(corr.id) if corr.id else corr.title)

    def visit(corr: SigmaCorrelationRule) -> None:
        state[id(corr)] = "active"
        path.append(corr)
        for ref in references(corr):
            target = by_name.get(ref)
            if target is None:
                continue
            if state.get(id(target)) == "active":
                cycle = path[path.index(target) :]
                text = " -> ".join(label(c) for c in [*cycle, target])
                for member in cycle:
                    found.setdefault(id(member), text)
            elif id(target) not in state:
                visit(target)
        path.pop()
        state[id(corr)] = "done"

    for corr in correlations:
        if id(corr) not in state:
            visit(corr)
    return found
