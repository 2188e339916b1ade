"""Rules evaluated in the reader workers (a stream transform) give exactly the in-process alerts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl

from chainbreaker.alerts import Alert
from chainbreaker.detect.sigma import RuleSet
from chainbreaker.detect.sigma.detector import PRIVATE_PREFIX, SigmaDetector, strip_private
from chainbreaker.pipeline import run_detectors
from chainbreaker.readers import ReadReport, read_paths


def _alerts(batches: list[pl.DataFrame], detector: SigmaDetector) -> list[Alert]:
    return run_detectors(batches, [detector])


def _key(alert: Alert) -> tuple[object, ...]:
    refs = tuple((ref.file, ref.record) for ref in alert.event_refs)
    return (alert.rule_id, refs, alert.time, alert.host or "", alert.user or "", alert.matched, alert.id)


def test_worker_evaluation_equals_in_process_evaluation(
    dataset: Callable[[str], Path], sigmahq_rules: RuleSet
) -> None:
    samples = dataset("evtx-attack-samples") / "EVTX-ATTACK-SAMPLES"
    folders = sorted(p for p in samples.iterdir() if p.is_dir())[:3]
    windows = [r for r in sigmahq_rules.rules if r.logsource[0] == "windows"]
    assert len(windows) > 2000

    in_process = SigmaDetector(windows)
    plain = list(read_paths(folders, ReadReport(), workers=1))
    expected = _alerts(plain, in_process)

    in_workers = SigmaDetector(windows)
    transform = in_workers.worker_transform()
    assert transform is not None
    tagged = list(read_paths(folders, ReadReport(), workers=2, transform=transform))
    hits = [next(c for c in b.columns if c.startswith(PRIVATE_PREFIX + "hits:")) for b in tagged]
    assert sum(b.get_column(h).is_not_null().sum() for b, h in zip(tagged, hits, strict=True)) > 0
    got = _alerts(tagged, in_workers)

    assert len(expected) > 100
    assert sorted(map(_key, got)) == sorted(map(_key, expected))
    assert in_workers.skipped_reasons() == in_process.skipped_reasons()
    assert [strip_private(b).columns for b in tagged] == [b.columns for b in plain]

    # a second rule set never reads the first one's matches: it evaluates the batches itself
    other = SigmaDetector(windows)
    assert sorted(map(_key, _alerts(tagged, other))) == sorted(map(_key, expected))


def test_profiling_evaluates_in_process() -> None:
    assert SigmaDetector([], profile=True).worker_transform() is None
