"""Range conditions in correlation rules (``gt: 100`` and ``lte: 200`` in one condition map).

The specification allows a condition map with two criteria, a range; pySigma 2.0 refuses any map
with more than one operator. :func:`split_range` rewrites such a document before pySigma sees it:
the first operator stays in ``correlation.condition``, the whole map goes to the top-level custom
attribute ``condition_range``, which :func:`chainbreaker.detect.sigma.correlation_alerts.condition_bounds`
reads back (every criterion must hold). Documents without a range are returned unchanged.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from sigma.collection import SigmaCollection

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
