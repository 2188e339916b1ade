"""Sigma: rules parsed by pySigma, compiled once to our IR, evaluated vectorised with Polars.

Public entry points (docs/SIGMA.md):

* :func:`load_rules` (folders -> :class:`RuleSet`, cached on disk) and :func:`compile_yaml`;
* :class:`SigmaEngine` / :func:`match_frame` (rules x conformed batch -> matched rows);
* :class:`SigmaDetector` (the :class:`chainbreaker.detect.base.Detector` the hunt runs).
"""

from chainbreaker.detect.sigma.engine import RuleMatch, SigmaEngine, match_frame
from chainbreaker.detect.sigma.loader import compile_yaml, load_correlations, load_rules
from chainbreaker.detect.sigma.rules import CompiledRule, RuleProblem, RuleSet

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
