"""What `hunt` says about its Sigma rules: missing rule folders and unknown identifiers before the
hunt (exit 2, with close matches), rules that failed to load and empty selections after it (stderr,
both formats: ``--format json`` keeps stdout for the document)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from difflib import get_close_matches
from pathlib import Path

from rich.markup import escape
from sigma.correlations import SigmaCorrelationRule

from chainbreaker.alerts import Level
from chainbreaker.cli.render import stderr
from chainbreaker.detect.sigma.loader import RULE_SUFFIXES
from chainbreaker.detect.sigma.rules import RuleProblem, RuleSet
from chainbreaker.detect.sigma.selection import STATUSES, Selection
from chainbreaker.errors import UnknownIdError, UsageError
from chainbreaker.frameworks import technique
from chainbreaker.pipeline import HuntResult, default_rule_paths

#: Rule failures printed after a hunt (as read warnings are); the JSON result lists them all.
FAILURES_SHOWN = 20
_TECHNIQUE_TAG = re.compile(r"attack\.t\d{4}(\.\d{3})?", re.IGNORECASE)


def _warn(message: str) -> None:
    stderr.print(f"[yellow]warning:[/] {escape(message)}", highlight=False, soft_wrap=True)


def check_rule_paths(paths: Sequence[Path]) -> None:
    """Each ``--sigma`` path must exist (exit 2 before anything is read). A folder without a rule
    file is only warned about: pointing ``--sigma`` at an empty folder is how a hunt runs the
    analytics, verdicts and indicators without Sigma rules."""
    for path in paths:
        if not path.exists():
            raise UsageError(f"no such rule file or folder: {path}")
        if path.is_dir() and not any(p.suffix in RULE_SUFFIXES and p.is_file() for p in path.rglob("*")):
            _warn(f"no Sigma rule file ({', '.join(RULE_SUFFIXES)}) under {path}")


def check_selection(
    selection: Selection, ruleset: RuleSet, correlations: Sequence[SigmaCorrelationRule]
) -> None:
    """Every ``--rule-id`` names a rule of the set (else exit 2 with close matches, as for every
    unknown identifier), and every ``--tag`` selects some rule (else a warning; exit 2 for an
    ATT&CK technique that does not exist). The hunt calls it with the rules it loaded
    (``HuntOptions.rule_check``), before the selection applies and before anything is read.
    """
    if selection.rule_ids:
        known = {n for r in ruleset.rules for n in (r.id, r.name) if n}
        known.update(n for c in correlations for n in (str(c.id) if c.id else None, c.name) if n)
        not_loaded = {p.rule_id: p for p in ruleset.problems if p.rule_id}
        for value in sorted(selection.rule_ids - known):
            problem = not_loaded.get(value)
            if problem is None:
                raise UnknownIdError("rule id", value, _close(value, known))
            _warn(f"--rule-id {value} was not loaded: {problem.file}: {_one_line(problem.reason)}")
    every_status = frozenset(STATUSES)
    tags = {t.lower() for r in ruleset.rules for t in r.tags}
    tags.update(str(t).lower() for c in correlations for t in c.tags)
    for tag in sorted(selection.tags):
        alone = Selection(tags=frozenset({tag}), statuses=every_status)
        if any(alone.accepts(r) for r in ruleset.rules) or any(t.startswith(tag) for t in tags):
            continue
        if _TECHNIQUE_TAG.fullmatch(tag):
            _check_technique(tag)
        close = get_close_matches(tag, sorted(tags), n=3)
        hint = f"; close tags in the set: {', '.join(close)}" if close else ""
        _warn(f"--tag {tag} matches no loaded rule{hint}")


def _check_technique(tag: str) -> None:
    """A technique tag no rule carries must at least be an ATT&CK technique (exit 2 otherwise)."""
    try:
        technique(tag.removeprefix("attack."))
    except UnknownIdError as exc:
        close = [f"attack.{s.lower()}" for s in exc.suggestions]
        raise UnknownIdError("ATT&CK technique tag", tag, close) from None


def _describe(selection: Selection) -> str:
    """The selection options in effect, as the user would type them."""
    parts = [f"--min-level {selection.min_level.name}"] if selection.min_level != Level.informational else []
    parts += [f"--status {s}" for s in sorted(selection.statuses or ())]
    parts += [f"--tag {t}" for t in sorted(selection.tags)]
    parts += [f"--rule-id {r}" for r in sorted(selection.rule_ids)]
    parts += [f"--logsource {k}:{v}" for k, v in selection.logsources]
    parts += [f"--exclude ({len(selection.excluded_ids)} ids)"] if selection.excluded_ids else []
    return " ".join(parts) or "the default statuses (no deprecated, no unsupported)"


def _close(value: str, names: Iterable[str], n: int = 3) -> list[str]:
    """Ids that start with ``value`` (a shortened id), then difflib's closest."""
    pool = sorted(set(names))
    starting = [name for name in pool if name.lower().startswith(value.lower())]
    return list(dict.fromkeys(starting + get_close_matches(value, pool, n=n)))[:n]


def report_rules(result: HuntResult, sigma: Sequence[Path], selection: Selection) -> None:
    """After the hunt, on stderr: the rules that failed to load (file: reason), and a warning when
    no Sigma rule ran; both formats (``--format json`` keeps stdout for the document)."""
    ruleset = result.rules
    if ruleset is None:
        return
    sources = " ".join(str(p) for p in (sigma or default_rule_paths()))
    print_rule_failures(ruleset.failed, sources)
    if not ruleset.rules:
        _warn(
            f"no Sigma rule loaded from {sources} ({ruleset.files} files: {len(ruleset.failed)} failed,"
            f" {len(ruleset.unsupported)} need a source chainbreaker does not read)"
        )
    elif result.rules_selected == 0:
        _warn(
            f"the selection ({_describe(selection)}) leaves 0 of {len(ruleset.rules)} loaded Sigma"
            " rules: no Sigma rule ran"
        )


def print_rule_failures(failed: Sequence[RuleProblem], sources: str) -> None:
    """The first :data:`FAILURES_SHOWN` rules that failed to load or compile, as ``file: reason``."""
    for problem in failed[:FAILURES_SHOWN]:
        line = escape(f"{problem.file}: {_one_line(problem.reason)}")
        stderr.print(f"[yellow]rule failed:[/] {line}", highlight=False, soft_wrap=True)
    if len(failed) > FAILURES_SHOWN:
        more = len(failed) - FAILURES_SHOWN
        hint = escape(f"`chainbreaker rules check {sources}`")
        stderr.print(f"... and {more} more; run {hint} for all", highlight=False, soft_wrap=True)


def _one_line(reason: str) -> str:
    """YAML errors span several lines (with a caret under the column): one line per rule here."""
    return " ".join(reason.split())
