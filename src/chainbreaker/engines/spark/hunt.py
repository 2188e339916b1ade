"""``hunt --engine spark``: the hunt of :mod:`chainbreaker.pipeline` with detection run as Spark jobs.

Rules are loaded and selected exactly as the embedded hunt does (:func:`pipeline.sigma_detector`),
evaluated over the Parquet event data on the cluster (:mod:`.job`), turned into alerts on the driver
by the embedded detector's own code (``alerts_for``, Sigma correlation rules, suppression). The
builtin detectors (analytics, sensor verdicts, threat intel) get only the rows and columns they
read, filtered on the cluster (:mod:`.analytics`, :mod:`.intel`), and decide on the driver with the
embedded code. Alerts are then correlated into incidents on the driver.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import polars as pl

from chainbreaker.alerts import Alert
from chainbreaker.detect.sigma.correlation import evaluate_correlations
from chainbreaker.detect.sigma.detector import SigmaDetector, alerts_for
from chainbreaker.engines.spark.analytics import builtin_alerts
from chainbreaker.engines.spark.job import SparkRun, read_events, run_rules
from chainbreaker.engines.spark.session import DEFAULT_MASTER, SparkEngineError, spark_session
from chainbreaker.errors import ChainbreakerError, UsageError
from chainbreaker.events import concat
from chainbreaker.pipeline import HuntOptions, HuntResult, PostProcessor, sigma_detector
from chainbreaker.readers import ReadReport


def correlate_on_driver(options: HuntOptions) -> PostProcessor:
    """Kill-chain correlation of the run's alerts into incidents, on the driver (``[correlate]``
    settings from ``options.config``). Entity links are not learned from the events (they stay on
    the cluster), so incidents group by what the alerts carry and the declared ``[assets]``."""
    from chainbreaker.correlate.hooks import LinkLearner, correlation_step

    return correlation_step(LinkLearner(), options.config)


def sigma_alerts(detector: SigmaDetector, run: SparkRun) -> list[Alert]:
    """Alerts of the matched rows, as :class:`SigmaDetector` makes them (suppression, correlation rules)."""
    alerts: list[Alert] = []
    kept: dict[str, list[pl.DataFrame]] = {}
    for match in run.matches:
        keys, emit = detector.routing(match.rule)
        for key in keys:
            kept.setdefault(key, []).append(match.rows)
        if emit:
            alerts.extend(alerts_for(match))
    if detector.correlations:
        matches = {name: concat(frames) for name, frames in kept.items()}
        alerts.extend(evaluate_correlations(detector.correlations, matches))
    return alerts


def spark_hunt(
    paths: Sequence[str | Path],
    options: HuntOptions | None = None,
    master: str = DEFAULT_MASTER,
    conf: Mapping[str, str] | None = None,
    post: Sequence[PostProcessor] | None = None,
) -> HuntResult:
    """Hunt over Parquet event datasets (``chainbreaker ingest`` output) with Spark on ``master``.

    Sigma rules run as Spark jobs; then, as ``options.analytics``, ``verdicts`` and ``intel`` ask
    (the embedded hunt's defaults), the same detector objects as the embedded hunt's, fed with the
    rows and columns they read, filtered on the executors (intel: a broadcast join with the
    indicators), one part file at a time in read order (docs/SCALE.md). ``post`` defaults to
    driver-side correlation when ``options.correlate`` is set.
    """
    options = options or HuntOptions()
    if post is None:
        post = [correlate_on_driver(options)] if options.correlate else []
    start = time.perf_counter()
    missing = [str(p) for p in paths if "://" not in str(p) and not Path(p).exists()]
    if missing:
        raise UsageError(f"no such Parquet dataset: {missing[0]} (write one with chainbreaker ingest -o)")
    detector, ruleset = sigma_detector(options)
    spark = spark_session(master, conf)
    datasets = [str(p) for p in paths]
    try:
        events = read_events(spark, datasets)
        run = run_rules(spark, events, detector.engine.rules, keep_all_columns=bool(detector.correlations))
        builtin, detectors = builtin_alerts(spark, events, datasets, options)
    except ChainbreakerError:
        raise
    except Exception as exc:  # Py4J and Spark analysis errors share no base class
        raise SparkEngineError(f"Spark job failed: {str(exc).splitlines()[0]}") from exc
    alerts = sigma_alerts(detector, run) + builtin
    alerts.sort(key=lambda a: (a.time, a.rule_id, a.id))
    report = ReadReport()
    report.file(" + ".join(str(p) for p in paths), "parquet").records = run.records
    result = HuntResult(
        alerts=alerts,
        read=report,
        rules=ruleset,
        rules_selected=len(detector.engine.rules),
        duration_s=0.0,
        detectors=[detector, *detectors],
        evaluations=run.evaluations,
    )
    for step in post:
        step(result)
    result.duration_s = time.perf_counter() - start
    return result
