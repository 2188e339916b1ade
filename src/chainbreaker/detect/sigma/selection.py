"""Which compiled rules a hunt runs: level, status, tags, ids, log source, and an exclusion file.

The same selection applies to correlation rules (:meth:`Selection.select`): a correlation has a
level, status, tags, id and name of its own; it has no log source, so ``--logsource`` keeps it
when one of the base rules it needs (following chains) is of that source. Every rule a kept
correlation needs, base rule or chained correlation, runs even when the selection rejected it, as
a silent *feeder*: its matches feed the correlation, it raises no alert of its own.

A tactic tag (``attack.stealth``) selects by tactic, whatever the spelling: through
:func:`chainbreaker.frameworks.canonical_tactic` it matches the rules whose resolved tactics hold
it, and the pre-v19 ``attack.defense-evasion`` selects both of its successors, Stealth and
Defense Impairment.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sigma.correlations import SigmaCorrelationRule

from chainbreaker.alerts import Level
from chainbreaker.detect.sigma.correlation import FEEDER, references
from chainbreaker.detect.sigma.correlation_alerts import rule_names
from chainbreaker.detect.sigma.rules import CompiledRule
from chainbreaker.errors import ConfigError, UsageError
from chainbreaker.frameworks import canonical_tactic, parse_attack_tags
from chainbreaker.frameworks.tags import successors

#: Statuses a hunt skips unless asked for (SigmaHQ marks retired rules this way).
DEFAULT_EXCLUDED_STATUSES = frozenset({"deprecated", "unsupported"})
STATUSES = ("stable", "test", "experimental", "deprecated", "unsupported")


@dataclass(frozen=True, slots=True)
class Selection:
    min_level: Level = Level.informational
    statuses: frozenset[str] | None = None  # None: every status but the default exclusions
    tags: frozenset[str] = frozenset()  # lower-case; a rule needs one of them (prefix match)
    rule_ids: frozenset[str] = frozenset()
    logsources: tuple[tuple[str, str], ...] = ()  # ("product", "windows")...; all must hold
    excluded_ids: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        unknown = (self.statuses or frozenset()) - set(STATUSES)
        if unknown:
            raise UsageError(
                f"unknown rule status {', '.join(sorted(unknown))}; expected {', '.join(STATUSES)}"
            )
        for key, _ in self.logsources:
            if key not in ("product", "category", "service"):
                raise UsageError(f"--logsource takes product:X, category:X or service:X, not {key!r}")

    def accepts(self, rule: CompiledRule) -> bool:
        return self._accepts(rule.level, rule.status, rule.id, rule.name, rule.tags, rule.tactics) and (
            self.accepts_logsource(rule)
        )

    def accepts_logsource(self, rule: CompiledRule) -> bool:
        product, category, service = rule.logsource
        values = {"product": product, "category": category, "service": service}
        return all((values[k] or "").lower() == v.lower() for k, v in self.logsources)

    def accepts_correlation(self, corr: SigmaCorrelationRule) -> bool:
        """Level, status, ids, exclusions and tags of a correlation rule (log source: see select)."""
        level = Level.parse(corr.level.name.lower() if corr.level else None)
        status = corr.status.name.lower() if corr.status else "experimental"
        tags = tuple(str(t) for t in corr.tags)
        rule_id = str(corr.id) if corr.id else (corr.name or corr.title)
        return self._accepts(level, status, rule_id, corr.name, tags, parse_attack_tags(tags)[1])

    def _accepts(
        self,
        level: Level,
        status: str,
        rule_id: str,
        name: str | None,
        tags: Sequence[str],
        tactics: Sequence[str],
    ) -> bool:
        if level < self.min_level:
            return False
        if self.statuses is None:
            if status in DEFAULT_EXCLUDED_STATUSES:
                return False
        elif status not in self.statuses:
            return False
        if self.rule_ids and rule_id not in self.rule_ids and name not in self.rule_ids:
            return False
        if rule_id in self.excluded_ids or (name and name in self.excluded_ids):
            return False
        return not self.tags or self._tagged(tags, tactics)

    def _tagged(self, tags: Sequence[str], tactics: Sequence[str]) -> bool:
        if any(t.lower().startswith(want) for t in tags for want in self.tags):
            return True
        wanted = _wanted_tactics(self.tags)
        return bool(wanted and wanted.intersection(tactics))

    def apply(self, rules: Iterable[CompiledRule]) -> list[CompiledRule]:
        return [r for r in rules if self.accepts(r)]

    def select(self, rules: Sequence[CompiledRule], correlations: Sequence[SigmaCorrelationRule]) -> Selected:
        """The rules and correlations a hunt runs, with the feeders kept correlations need.

        Rules keep their loaded order. A chained correlation kept only as a feeder is a copy marked
        with :data:`~chainbreaker.detect.sigma.correlation.FEEDER` (no alerts); the given
        correlation objects are not changed.
        """
        bases: dict[str, list[CompiledRule]] = {}
        for rule in rules:
            for key in {rule.id, rule.name} - {None}:
                bases.setdefault(str(key), []).append(rule)
        by_name = {name: corr for corr in correlations for name in rule_names(corr)}

        def needs(corr: SigmaCorrelationRule) -> tuple[set[int], list[SigmaCorrelationRule]]:
            """Base rules (by id()) and chained correlations a correlation needs, transitively."""
            base: set[int] = set()
            chained: list[SigmaCorrelationRule] = []
            todo, seen = [corr], {id(corr)}
            while todo:
                for ref in references(todo.pop()):
                    base.update(id(r) for r in bases.get(ref, []))
                    inner = by_name.get(ref)
                    if inner is not None and id(inner) not in seen:
                        seen.add(id(inner))
                        chained.append(inner)
                        todo.append(inner)
            return base, chained

        chosen = {id(r) for r in rules if self.accepts(r)}
        by_id = {id(r): r for r in rules}
        kept: set[int] = set()
        feeder_rules: set[int] = set()
        feeder_chains: set[int] = set()
        for corr in correlations:
            if not self.accepts_correlation(corr):
                continue
            base, chained = needs(corr)
            if self.logsources and not any(self.accepts_logsource(by_id[b]) for b in base):
                continue
            kept.add(id(corr))
            feeder_rules.update(base)
            feeder_chains.update(id(c) for c in chained)
        silent = frozenset(by_id[b].id for b in feeder_rules - chosen)
        out_corrs: list[SigmaCorrelationRule] = []
        for corr in correlations:
            if id(corr) in kept:
                out_corrs.append(corr)
            elif id(corr) in feeder_chains:
                out_corrs.append(_as_feeder(corr))
        selected = [r for r in rules if id(r) in chosen or id(r) in feeder_rules]
        return Selected(selected, out_corrs, silent)


@dataclass(frozen=True, slots=True)
class Selected:
    """What :meth:`Selection.select` keeps: rules to run (feeders included), correlations to run,
    and the ids of the base rules that run only as silent feeders."""

    rules: list[CompiledRule]
    correlations: list[SigmaCorrelationRule]
    feeders: frozenset[str]


def _as_feeder(corr: SigmaCorrelationRule) -> SigmaCorrelationRule:
    feeder = copy.copy(corr)
    feeder.custom_attributes = {**corr.custom_attributes, FEEDER: True}
    return feeder


def _wanted_tactics(tags: Iterable[str]) -> frozenset[str]:
    """The tactics (short names) that tactic tags among ``tags`` ask for; empty: none asked."""
    wanted: set[str] = set()
    for tag in tags:
        namespace, _, name = tag.partition(".")
        if namespace != "attack" or not name:
            continue
        short = canonical_tactic(name)
        if short is None:
            continue
        wanted.add(short)
        wanted.update(successors(name))  # a tactic ATT&CK v19 split: both successors
    return frozenset(wanted)


def parse_logsource(value: str) -> tuple[str, str]:
    key, sep, name = value.partition(":")
    if not sep or not name:
        raise UsageError(f"--logsource expects KEY:VALUE (product:windows), got {value!r}")
    return key.strip().lower(), name.strip()


def read_exclusions(path: Path) -> frozenset[str]:
    """Rule ids (or names), one a line; ``#`` starts a comment."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read exclusion file: {exc.strerror}", str(path)) from None
    return frozenset(line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip())
