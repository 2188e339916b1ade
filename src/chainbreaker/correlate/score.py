"""The incident score (0-100): a sum of named terms, each explained, capped at 100.

| term          | points                                                                 |
|---------------|------------------------------------------------------------------------|
| severity      | highest alert level: informational 2, low 5, medium 12, high 22, critical 30 |
| rules         | 2 per distinct rule beyond the first, at most 10                        |
| phases        | 4 per distinct Lockheed Martin phase reached, at most 20                |
| tactics       | 2 per distinct ATT&CK tactic, at most 10                                |
| progress      | how far along the chain: 15 x (furthest phase number / 7), rounded      |
| spread        | 3 per host beyond the first plus 1 per linkable account, at most 10     |
| crown jewels  | ``[assets] crown_jewel_points`` (15) when a host matches ``crown_jewels`` |

The numbers are named constants below; docs/CORRELATION.md repeats the table.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence

from chainbreaker.alerts import Alert, Level
from chainbreaker.correlate.settings import CorrelateSettings
from chainbreaker.frameworks import KILLCHAIN_PHASES
from chainbreaker.incidents import Progression, ScoreTerm

SEVERITY_POINTS = {
    Level.informational: 2,
    Level.low: 5,
    Level.medium: 12,
    Level.high: 22,
    Level.critical: 30,
}
POINTS_PER_EXTRA_RULE, MAX_RULE_POINTS = 2, 10
POINTS_PER_PHASE, MAX_PHASE_POINTS = 4, 20
POINTS_PER_TACTIC, MAX_TACTIC_POINTS = 2, 10
MAX_PROGRESS_POINTS = 15
POINTS_PER_EXTRA_HOST, POINTS_PER_ACCOUNT, MAX_SPREAD_POINTS = 3, 1, 10


def crown_jewels(hosts: Sequence[str], patterns: Sequence[str]) -> list[str]:
    """Hosts (display names) matching any crown-jewel pattern, case-insensitively."""
    return [h for h in hosts if any(fnmatch.fnmatchcase(h.lower(), p) for p in patterns)]


def score(
    alerts: Sequence[Alert],
    progression: Progression,
    hosts: Sequence[str],
    users: Sequence[str],
    settings: CorrelateSettings,
) -> tuple[int, tuple[ScoreTerm, ...]]:
    """(score, explanation) of one incident."""
    terms: list[ScoreTerm] = []
    top = max(a.level for a in alerts)
    terms.append(ScoreTerm("severity", SEVERITY_POINTS[top], f"highest alert level {top.name}"))
    rules = len({a.rule_id for a in alerts})
    terms.append(
        ScoreTerm(
            "rules",
            min(MAX_RULE_POINTS, POINTS_PER_EXTRA_RULE * (rules - 1)),
            f"{rules} distinct detection rule(s)",
        )
    )
    phases = len(progression.killchain.phases)
    terms.append(
        ScoreTerm(
            "phases", min(MAX_PHASE_POINTS, POINTS_PER_PHASE * phases), f"{phases} of 7 kill-chain phases"
        )
    )
    tactics = len(progression.attack.phases)
    terms.append(
        ScoreTerm(
            "tactics", min(MAX_TACTIC_POINTS, POINTS_PER_TACTIC * tactics), f"{tactics} ATT&CK tactic(s)"
        )
    )
    furthest = progression.killchain.furthest
    number = next((i + 1 for i, p in enumerate(KILLCHAIN_PHASES) if p.id == furthest), 0)
    terms.append(
        ScoreTerm(
            "progress",
            round(MAX_PROGRESS_POINTS * number / len(KILLCHAIN_PHASES)),
            f"furthest phase {furthest or 'none'} ({number} of {len(KILLCHAIN_PHASES)})",
        )
    )
    spread = POINTS_PER_EXTRA_HOST * max(0, len(hosts) - 1) + POINTS_PER_ACCOUNT * len(users)
    terms.append(
        ScoreTerm(
            "spread",
            min(MAX_SPREAD_POINTS, spread),
            f"{len(hosts)} host(s), {len(users)} account(s)",
        )
    )
    jewels = crown_jewels(hosts, settings.crown_jewels)
    if jewels:
        terms.append(
            ScoreTerm(
                "crown_jewels", settings.crown_jewel_points, f"crown-jewel host(s): {', '.join(jewels)}"
            )
        )
    total = min(100, max(0, round(sum(t.points for t in terms))))
    return total, tuple(terms)
