"""Load Sigma rule files with pySigma, compile each rule once, report every rule left out.

Nothing is dropped silently: a file pySigma cannot parse, a file that holds no rule (empty, or a
YAML list or scalar at the top level), a rule pySigma rejects, a rule our compiler cannot evaluate
exactly, a correlation rule whose references do not resolve (a rule not loaded, a loop; see
:func:`~chainbreaker.detect.sigma.correlation_load.check_references`) ("failed"), and a rule
whose log source maps to nothing chainbreaker reads ("unsupported: no source") each become a
:class:`RuleProblem` with file and reason; the rest of the folder still loads.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from pathlib import Path

import yaml
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError, SigmaRuleLocation
from sigma.rule import SigmaRule

from chainbreaker.alerts import Level
from chainbreaker.detect.sigma import cache as rule_cache
from chainbreaker.detect.sigma.compiler import compile_rule
from chainbreaker.detect.sigma.correlation_load import check_references, split_range
from chainbreaker.detect.sigma.logsources import describe, targets_for
from chainbreaker.detect.sigma.placeholders import load_placeholders
from chainbreaker.detect.sigma.rules import CompiledRule, RuleProblem, RuleSet
from chainbreaker.errors import RuleError, UsageError
from chainbreaker.events import original_column
from chainbreaker.frameworks import parse_attack_tags, phases_for

RULE_SUFFIXES = (".yml", ".yaml")


def rule_files(paths: Iterable[Path | str]) -> list[Path]:
    """Every rule file under the given files and folders, sorted for determinism."""
    found: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.update(p for p in path.rglob("*") if p.suffix in RULE_SUFFIXES and p.is_file())
        elif path.is_file():
            found.add(path)
        else:
            raise UsageError(f"no such rule file or folder: {path}")
    return sorted(found)


def load_rules(
    paths: Iterable[Path | str], placeholders_file: Path | None = None, use_cache: bool = True
) -> RuleSet:
    """Load and compile every rule under ``paths`` (cached on disk by file hashes and version)."""
    start = time.perf_counter()
    files = rule_files(paths)
    placeholders = load_placeholders(placeholders_file)
    key = rule_cache.cache_key(files, placeholders)
    ruleset = rule_cache.read(key) if use_cache else None
    if ruleset is None:
        ruleset = compile_files(files, placeholders)
        if use_cache:
            rule_cache.write(key, ruleset)
    else:
        ruleset.from_cache = True
    ruleset.load_seconds = time.perf_counter() - start
    return ruleset


def parse_file(path: Path, text: str | None = None) -> SigmaCollection:
    """One rule file (multi-document YAML allowed) as a pySigma collection, errors collected.

    Documents go through the correlation engine's ``split_range`` first, so correlation rules
    with a range condition (which pySigma 2.0 refuses) load; references stay unresolved (rules
    may reference rules of other files; the correlation engine looks them up by id and name).

    Raises :class:`RuleError` for a file that is no Sigma rule file: no document at all (empty,
    only ``---``) or a document that is a YAML list or scalar rather than a mapping.
    """
    text = path.read_text(encoding="utf-8", errors="replace") if text is None else text
    loaded = list(yaml.safe_load_all(text))
    if all(d is None for d in loaded):
        raise RuleError("no rule in file", str(path))
    for number, document in enumerate(loaded, 1):
        if document is not None and not isinstance(document, dict):
            kind = "a list" if isinstance(document, list) else "a scalar"
            where = f" (document {number})" if len(loaded) > 1 else ""
            raise RuleError(f"not a Sigma rule: top-level YAML{where} is {kind}", str(path))
    documents = [split_range(d) if isinstance(d, dict) else d for d in loaded]
    return SigmaCollection.from_dicts(
        documents, collect_errors=True, resolve_references=False, source=SigmaRuleLocation(path)
    )


def compile_yaml(text: str, placeholders: Mapping[str, list[str]] | None = None) -> RuleSet:
    """Rules from YAML text (one or more documents), e.g. a rule written inside a test."""
    return compile_files([Path("<yaml>")], placeholders or {}, {Path("<yaml>"): text})


def compile_files(
    files: list[Path], placeholders: Mapping[str, list[str]], texts: Mapping[Path, str] | None = None
) -> RuleSet:
    ruleset = RuleSet(files=len(files))
    correlations: list[tuple[Path, SigmaCorrelationRule]] = []
    for path in files:
        try:
            collection = parse_file(path, (texts or {}).get(path))
        except RuleError as exc:  # no rule in the file, or not a mapping
            ruleset.problems.append(RuleProblem(str(path), exc.message))
            continue
        except (SigmaError, yaml.YAMLError, ValueError, OSError) as exc:  # YAML syntax errors and the like
            ruleset.problems.append(RuleProblem(str(path), f"cannot parse: {exc}"))
            continue
        for rule in collection.rules:
            if isinstance(rule, SigmaCorrelationRule):
                if rule.errors:
                    ruleset.problems.append(_problem(path, rule, str(rule.errors[0])))
                else:
                    correlations.append((path, rule))
                continue
            if isinstance(rule, SigmaRule):
                compiled = _compile(path, rule, placeholders, ruleset)
                if compiled is not None:
                    ruleset.rules.append(compiled)
        known = {str(e) for rule in collection.rules for e in rule.errors}
        for error in collection.errors:
            if str(error) not in known:  # errors of a rule are reported with the rule
                ruleset.problems.append(RuleProblem(str(path), str(error)))
    files_of = {id(rule): path for path, rule in correlations}
    kept, left_out = check_references([rule for _, rule in correlations], loaded_names(ruleset))
    for rule, reason in left_out:
        ruleset.problems.append(_problem(files_of[id(rule)], rule, reason))
    for rule in kept:
        if str(files_of[id(rule)]) not in ruleset.correlation_files:
            ruleset.correlation_files.append(str(files_of[id(rule)]))
    return ruleset


def loaded_names(ruleset: RuleSet) -> set[str]:
    """Ids and names of the compiled rules: what a correlation's ``rules:`` may refer to."""
    return {n for rule in ruleset.rules for n in (rule.id, rule.name) if n}


def _problem(
    path: Path, rule: SigmaRule | SigmaCorrelationRule, reason: str, kind: str = "failed"
) -> RuleProblem:
    rule_id = str(rule.id) if rule.id else None
    return RuleProblem(str(path), reason, kind, rule_id, rule.title or None)  # type: ignore[arg-type]


def _compile(
    path: Path, rule: SigmaRule, placeholders: Mapping[str, list[str]], ruleset: RuleSet
) -> CompiledRule | None:
    if rule.errors:
        ruleset.problems.append(_problem(path, rule, str(rule.errors[0])))
        return None
    targets = targets_for(rule.logsource)
    if not targets:
        reason = f"unsupported: no source for {describe(rule.logsource)}"
        ruleset.problems.append(_problem(path, rule, reason, "unsupported"))
        return None
    try:
        condition = compile_rule(rule, placeholders, original_column)
    except (RuleError, SigmaError) as exc:
        ruleset.problems.append(_problem(path, rule, getattr(exc, "message", None) or str(exc)))
        return None
    tags = tuple(str(t) for t in rule.tags)
    techniques, tactics = parse_attack_tags(tags)
    killchain, ukc = phases_for(techniques, tactics)
    return CompiledRule(
        id=str(rule.id) if rule.id else f"{path.stem}",
        title=rule.title or path.stem,
        level=Level.parse(rule.level.name if rule.level else None),
        status=rule.status.name.lower() if rule.status else "experimental",
        condition=condition,
        targets=targets,
        file=str(path),
        name=rule.name,
        logsource=(rule.logsource.product, rule.logsource.category, rule.logsource.service),
        tags=tags,
        techniques=techniques,
        tactics=tactics,
        killchain_phases=killchain,
        ukc_phases=ukc,
        description=(rule.description or "").strip(),
    )


def load_correlations(files: Iterable[str], ruleset: RuleSet | None = None) -> list[SigmaCorrelationRule]:
    """The correlation rules of the given files, as pySigma objects (references left unresolved).

    With ``ruleset`` (the rule set the files were listed in), correlations whose references do
    not resolve against its rules (reported as failures when it was loaded) are left out.
    """
    out: list[SigmaCorrelationRule] = []
    for name in files:
        collection = parse_file(Path(name))
        out.extend(r for r in collection.rules if isinstance(r, SigmaCorrelationRule) and not r.errors)
    if ruleset is not None:
        out = check_references(out, loaded_names(ruleset))[0]
    return out
