"""Which compiled rules a hunt runs: level, status, tags, ids, log source, and an exclusion file."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from chainbreaker.alerts import Level
from chainbreaker.detect.sigma.rules import CompiledRule
from chainbreaker.errors import ConfigError, UsageError

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
        if rule.level < self.min_level:
            return False
        if self.statuses is None:
            if rule.status in DEFAULT_EXCLUDED_STATUSES:
                return False
        elif rule.status not in self.statuses:
            return False
        if self.rule_ids and rule.id not in self.rule_ids and rule.name not in self.rule_ids:
            return False
        if rule.id in self.excluded_ids or (rule.name and rule.name in self.excluded_ids):
            return False
        if self.tags and not any(t.lower().startswith(want) for t in rule.tags for want in self.tags):
            return False
        product, category, service = rule.logsource
        values = {"product": product, "category": category, "service": service}
        return all((values[k] or "").lower() == v.lower() for k, v in self.logsources)

    def apply(self, rules: Iterable[CompiledRule]) -> list[CompiledRule]:
        return [r for r in rules if self.accepts(r)]


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
