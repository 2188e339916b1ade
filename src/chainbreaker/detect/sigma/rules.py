"""Compiled Sigma rules and the load/compile report: plain, picklable values."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from chainbreaker.alerts import Level
from chainbreaker.detect.sigma import ir
from chainbreaker.detect.sigma.logsources import Target


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """One Sigma detection rule, compiled once; everything an alert needs rides along."""

    id: str
    title: str
    level: Level
    status: str
    condition: ir.Node
    targets: tuple[Target, ...]
    file: str
    name: str | None = None
    logsource: tuple[str | None, str | None, str | None] = (None, None, None)  # product, category, service
    tags: tuple[str, ...] = ()
    techniques: tuple[str, ...] = ()
    tactics: tuple[str, ...] = ()
    killchain_phases: tuple[str, ...] = ()
    ukc_phases: tuple[str, ...] = ()
    description: str = ""

    def compiled_for(self, target: Target) -> ir.Node:
        """The condition with the target's field names, and its row condition (Sysmon 12 is
        ``registry_delete`` only where ``EventType`` is ``DeleteKey`` or ``DeleteValue``)."""
        node = ir.rename(self.condition, target.field_map)
        if target.where:
            # After the rule's own tests: of equally cheap necessary tests the engine anchors on the
            # first (ir.anchor), and the rule's own are the more selective. A cheaper row test
            # (an exact value beside a rule's `endswith`) becomes the anchor: one test of a column
            # with a handful of distinct values, which the engine decides on those values.
            rows = tuple(ir.StrMatch(column, "exact", values) for column, values in target.where)
            node = ir.And((node, *rows))
        return ir.simplify(node)


@dataclass(frozen=True, slots=True)
class RuleProblem:
    """A rule that did not make it into the engine: a real failure or an unsupported log source."""

    file: str
    reason: str
    kind: Literal["failed", "unsupported"] = "failed"
    rule_id: str | None = None
    title: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "rule_id": self.rule_id, "title": self.title, "reason": self.reason}


@dataclass
class RuleSet:
    """What loading rule folders gave: compiled rules, correlation rule files, and every problem."""

    rules: list[CompiledRule] = field(default_factory=list)
    problems: list[RuleProblem] = field(default_factory=list)
    correlation_files: list[str] = field(default_factory=list)
    files: int = 0
    from_cache: bool = False
    load_seconds: float = 0.0

    @property
    def failed(self) -> list[RuleProblem]:
        return [p for p in self.problems if p.kind == "failed"]

    @property
    def unsupported(self) -> list[RuleProblem]:
        return [p for p in self.problems if p.kind == "unsupported"]

    def report(self) -> dict[str, Any]:
        """The ``rules check`` summary: counts and every failure with file and reason."""
        failed, unsupported = self.failed, self.unsupported
        return {
            "files": self.files,
            "total": len(self.rules) + len(failed) + len(unsupported),
            "loaded": len(self.rules),
            "failed": len(failed),
            "unsupported": len(unsupported),
            "correlation_files": len(self.correlation_files),
            "failures": [p.as_dict() for p in failed],
            "unsupported_rules": [p.as_dict() for p in unsupported],
        }
