"""Kill-chain frameworks: MITRE ATT&CK Enterprise, the Lockheed Martin Cyber Kill Chain, the
Unified Kill Chain, and the data-driven mapping between them (see docs/FRAMEWORKS.md).

Everything here is pure lookup over small files shipped in ``frameworks/data``; nothing prints.
"""

from chainbreaker.frameworks.attack import AttackData, Tactic, Technique, attack, find_technique, technique
from chainbreaker.frameworks.explain import Explanation, explain
from chainbreaker.frameworks.killchain import KILLCHAIN_PHASES, KillChainPhase, killchain_phase
from chainbreaker.frameworks.mapping import mapping, phases_for
from chainbreaker.frameworks.tags import canonical_tactic, parse_attack_tags, tactic
from chainbreaker.frameworks.ukc import UKC_PHASES, UkcPhase, ukc_phase

__all__ = [
    "KILLCHAIN_PHASES",
    "UKC_PHASES",
    "AttackData",
    "Explanation",
    "KillChainPhase",
    "Tactic",
    "Technique",
    "UkcPhase",
    "attack",
    "canonical_tactic",
    "explain",
    "find_technique",
    "killchain_phase",
    "mapping",
    "parse_attack_tags",
    "phases_for",
    "tactic",
    "technique",
    "ukc_phase",
]
