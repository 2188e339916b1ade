"""The hunt: read -> detectors -> post-processing -> one result document (docs/OUTPUTS.md).

``hunt`` streams conformed batches from :func:`chainbreaker.readers.read_paths` (the Sigma rules
evaluated in the reader workers) through every detector (Sigma, then :func:`builtin_detectors`:
analytics, verdicts, intel; callers add more), collects the alerts of ``observe`` and ``finish``,
runs post-processors (correlation into incidents: correlate/hooks.py) and returns a
:class:`HuntResult`; :func:`result_document` renders it as the versioned JSON document.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from chainbreaker import __version__
from chainbreaker.alerts import Alert
from chainbreaker.detect.base import Detector
from chainbreaker.detect.interest import combine
from chainbreaker.detect.sigma.detector import MIN_EVALUATION_ROWS, SigmaDetector
from chainbreaker.detect.sigma.loader import load_correlations, load_rules
from chainbreaker.detect.sigma.rules import RuleSet
from chainbreaker.detect.sigma.selection import Selection
from chainbreaker.readers import ReadReport, read_paths
from chainbreaker.readers.stream import WORKER_GC_THRESHOLD, Progress

#: Version of the result document; bump the major on incompatible changes (outputs/result.schema.json).
SCHEMA_VERSION = "1.1"  # 1.1: rule_failures, stats.rule_profile

#: Collector thresholds while a hunt runs: the reader workers' (Python's defaults: 700, 10, 10). A
#: hunt allocates millions of short-lived objects (rows, alerts, their dicts) that reference counting
#: frees; at the default the young generation is collected tens of thousands of times for nothing.
HUNT_GC_THRESHOLD = WORKER_GC_THRESHOLD
_gc_depth = 0


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Garbage collection set for a hunt, restored afterwards (a library caller keeps its own).

    What is alive on entry (the compiled rule set, imported modules) is frozen out of the
    collector: each full collection walked it again. On the benchmark hunt (docs/BENCHMARKS.md,
    "Hunt, session 4") the main process spent ~1 CPU s of ~5 in collections.
    """
    global _gc_depth
    if _gc_depth:  # nested: the outer call set it up
        yield
        return
    before = gc.get_threshold()
    _gc_depth += 1
    gc.freeze()
    gc.set_threshold(*HUNT_GC_THRESHOLD)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
        _gc_depth -= 1


if TYPE_CHECKING:
    from sigma.correlations import SigmaCorrelationRule

RuleCheck = Callable[[RuleSet, Sequence["SigmaCorrelationRule"]], None]


@dataclass
class HuntOptions:
    sigma: Sequence[Path] = ()  # rule files/folders; empty: the update cache plus the shipped rules
    selection: Selection = field(default_factory=Selection)
    profile_rules: bool = False
    placeholders: Path | None = None
    use_cache: bool = True
    workers: int | None = None
    correlate: bool = True  # group alerts into incidents (chainbreaker.correlate)
    analytics: bool = True  # behavioural analytics (chainbreaker.detect.analytics)
    verdicts: bool = True  # Suricata alerts and Zeek notices as alerts (chainbreaker.detect.verdicts)
    intel: Sequence[
        Path
    ] = ()  # indicator files: STIX 2.1, MISP JSON, CSV or text (chainbreaker.detect.intel)
    config: Mapping[str, Any] | None = None  # [analytics.*], [correlate], [assets] (config data or dict)
    evaluation_rows: int = MIN_EVALUATION_ROWS  # rows gathered per evaluation round: speed vs memory
    progress: Progress | None = None  # called as progress(done, total) in input bytes while reading
    #: Called with the loaded rule set and correlation rules before the selection applies (the
    #: CLI's check of --rule-id / --tag: it may raise, e.g. UnknownIdError, before anything is read).
    rule_check: RuleCheck | None = None


@dataclass
class HuntResult:
    alerts: list[Alert]
    read: ReadReport
    rules: RuleSet | None
    rules_selected: int
    duration_s: float
    incidents: list[dict[str, Any]] = field(default_factory=list)
    detectors: list[Detector] = field(default_factory=list)
    rule_seconds: list[tuple[str, str, float]] = field(default_factory=list)  # id, title, seconds
    evaluations: int = 0


#: A post-processor sees the finished result (alerts) and may add to it (incidents...).
PostProcessor = Callable[[HuntResult], None]


def default_rule_paths() -> list[Path]:
    """Rules a hunt uses without ``--sigma``: the ``rules update`` set (when present) + shipped rules."""
    paths: list[Path] = []
    try:
        from chainbreaker.detect.sigma.update import default_rules_dir
    except ImportError:  # rules update not installed in this build
        default_rules_dir = None  # type: ignore[assignment]
    if default_rules_dir is not None:
        updated = default_rules_dir()
        if updated is not None and Path(updated).exists():
            paths.append(Path(updated))
    shipped = Path(str(resources.files("chainbreaker").joinpath("rules")))
    if shipped.is_dir():
        paths.append(shipped)
    return paths


def sigma_detector(options: HuntOptions) -> tuple[SigmaDetector, RuleSet]:
    """Load, compile (or take from cache) and select the Sigma rules of a hunt."""
    ruleset = load_rules(options.sigma or default_rule_paths(), options.placeholders, options.use_cache)
    # The selection applies to correlation rules too; the rules a kept correlation needs run as
    # silent feeders even where the selection rejected them (detect/sigma/selection.py).
    correlations = load_correlations(ruleset.correlation_files, ruleset)
    if options.rule_check is not None:
        options.rule_check(ruleset, correlations)
    chosen = options.selection.select(ruleset.rules, correlations)
    detector = SigmaDetector(
        chosen.rules,
        chosen.correlations,
        options.profile_rules,
        options.evaluation_rows,
        feeders=chosen.feeders,
    )
    return detector, ruleset


def builtin_detectors(options: HuntOptions) -> list[Detector]:
    """The detectors that run beside Sigma: analytics, sensor verdicts and indicator matching."""
    detectors: list[Detector] = []
    if options.analytics:
        from chainbreaker.config import Config
        from chainbreaker.detect.analytics import AnalyticsDetector, build_analytics

        detectors.append(AnalyticsDetector(build_analytics(Config(dict(options.config or {})))))
    if options.verdicts:
        from chainbreaker.detect.verdicts import VerdictDetector

        detectors.append(VerdictDetector())
    if options.intel:
        from chainbreaker.detect.intel import IntelDetector, load_indicators

        detectors.append(IntelDetector(load_indicators(list(options.intel))))
    return detectors


def run_detectors(batches: Iterable[pl.DataFrame], detectors: Sequence[Detector]) -> list[Alert]:
    """Stream every batch through every detector, then finish them; alerts in time order.

    A frame of private columns only (a reader worker's tally of a round) goes to the Sigma
    detectors alone; the others see each batch without the private columns.
    """
    from chainbreaker.detect.sigma.detector import strip_private

    alerts: list[Alert] = []
    for batch in batches:
        plain = strip_private(batch)  # Sigma matches the reader workers attached, for Sigma only
        for detector in detectors:
            if isinstance(detector, SigmaDetector):
                alerts.extend(detector.observe(batch))
            elif plain.width:
                alerts.extend(detector.observe(plain))
    for detector in detectors:
        alerts.extend(detector.finish())
    alerts.sort(key=lambda a: (a.time, a.rule_id, a.id))
    return alerts


def hunt(
    paths: Sequence[str | Path],
    options: HuntOptions | None = None,
    extra_detectors: Sequence[Detector] = (),
    post: Sequence[PostProcessor] = (),
) -> HuntResult:
    options = options or HuntOptions()
    start = time.perf_counter()
    with fewer_collections():
        sigma, ruleset = sigma_detector(options)
        gc.freeze()  # the compiled rules too: they live as long as the hunt
        return _hunt(paths, options, sigma, ruleset, start, extra_detectors, post)


def _hunt(
    paths: Sequence[str | Path],
    options: HuntOptions,
    sigma: SigmaDetector,
    ruleset: RuleSet,
    start: float,
    extra_detectors: Sequence[Detector],
    post: Sequence[PostProcessor],
) -> HuntResult:
    detectors: list[Detector] = [sigma, *builtin_detectors(options), *extra_detectors]
    if options.correlate:  # learns address -> host from the batches, then groups the alerts
        from chainbreaker.correlate.hooks import LinkLearner, correlation_step

        learner = LinkLearner()
        detectors.append(learner)
        post = [*post, correlation_step(learner, options.config)]
    report = ReadReport()
    # The Sigma rules run in the reader workers, next to the parsing (detector.worker_transform);
    # with one worker they run here, on rounds of gathered batches (fewer, larger evaluations).
    in_workers = options.workers is None or options.workers > 1
    transform = sigma.worker_transform() if in_workers else None
    if transform is not None:  # the workers send only what the detectors read (detect/interest.py)
        transform = transform.projecting(combine(d.interest() for d in detectors))
    batches = read_paths(
        paths, report, workers=options.workers, progress=options.progress, transform=transform
    )
    alerts = run_detectors(batches, detectors)
    floor = options.selection.min_level  # --min-level applies to every detector's alerts, not only Sigma's
    alerts = [a for a in alerts if a.level >= floor]
    result = HuntResult(
        alerts=alerts,
        read=report,
        rules=ruleset,
        rules_selected=len(sigma.engine.rules),
        duration_s=0.0,
        detectors=detectors,
        evaluations=sigma.engine.evaluations,
    )
    if options.profile_rules:
        titles = {r.id: r.title for r in sigma.engine.rules}
        slowest = sorted(sigma.engine.seconds.items(), key=lambda kv: -kv[1])[:20]
        result.rule_seconds = [(rid, titles.get(rid, ""), secs) for rid, secs in slowest]
    for step in post:
        step(result)
    result.duration_s = time.perf_counter() - start
    return result


def result_document(result: HuntResult) -> dict[str, Any]:
    """The run as one JSON-ready document (schema: outputs/result.schema.json, docs/OUTPUTS.md)."""
    with fewer_collections():
        return _document(result)


def _document(result: HuntResult) -> dict[str, Any]:
    read = result.read
    rules = result.rules
    stats: dict[str, Any] = {
        "records": read.records,
        "skipped": read.skipped,
        "warnings": read.warning_count,  # exact; the "warnings" list keeps the first 10,000
        "files": len(read.files),
        "rules_loaded": len(rules.rules) if rules else 0,
        "rules_failed": len(rules.failed) if rules else 0,
        "rules_unsupported": len(rules.unsupported) if rules else 0,
        "rules_selected": result.rules_selected,
        "rule_evaluations": result.evaluations,
        "alerts": len(result.alerts),
        "incidents": len(result.incidents),
        "duration_s": round(result.duration_s, 3),
    }
    if result.rule_seconds:  # --profile-rules: the slowest rules first (at most 20)
        stats["rule_profile"] = [
            {"rule_id": rid, "title": title, "seconds": round(secs, 6)}
            for rid, title, secs in result.rule_seconds
        ]
    return {
        "schema_version": SCHEMA_VERSION,
        "generator": f"chainbreaker {__version__}",
        "alerts": [a.as_dict() for a in result.alerts],
        "incidents": result.incidents,
        "stats": stats,
        "warnings": [w.as_dict() for w in read.warnings],
        "skipped_reasons": [r for d in result.detectors for r in d.skipped_reasons()],
        "rule_failures": [p.as_dict() for p in rules.failed] if rules else [],  # file, reason: every one
    }
