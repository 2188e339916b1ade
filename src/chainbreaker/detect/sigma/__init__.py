"""Sigma: rules parsed by pySigma, compiled once to our IR, evaluated vectorised with Polars.

Public entry points (docs/SIGMA.md):

* :func:`load_rules` (folders -> :class:`RuleSet`, cached on disk) and :func:`compile_yaml`;
* :class:`SigmaEngine` / :func:`match_frame` (rules x conformed batch -> matched rows);
* :class:`SigmaDetector` (the :class:`chainbreaker.detect.base.Detector` the hunt runs).
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chainbreaker.detect.sigma.engine import RuleMatch, SigmaEngine, match_frame
    from chainbreaker.detect.sigma.loader import compile_yaml, load_correlations, load_rules
    from chainbreaker.detect.sigma.rules import CompiledRule, RuleProblem, RuleSet

#: Where each public name lives. They are imported on first use (PEP 562): the reader workers
#: import this package to evaluate compiled rules and must not pay for pySigma, which only
#: loading rules needs (~0.15 s of each worker's start).
_EXPORTS = {
    "RuleMatch": "engine",
    "SigmaEngine": "engine",
    "match_frame": "engine",
    "compile_yaml": "loader",
    "load_correlations": "loader",
    "load_rules": "loader",
    "CompiledRule": "rules",
    "RuleProblem": "rules",
    "RuleSet": "rules",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)


__all__ = [
    "CompiledRule",
    "RuleMatch",
    "RuleProblem",
    "RuleSet",
    "SigmaEngine",
    "compile_yaml",
    "load_correlations",
    "load_rules",
    "match_frame",
]
