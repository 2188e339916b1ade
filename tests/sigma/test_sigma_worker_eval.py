"""Rules evaluated in the reader workers (a stream transform) give exactly the in-process alerts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl

from chainbreaker.alerts import Alert
from chainbreaker.detect.sigma import RuleSet
from chainbreaker.detect.sigma.detector import (
    PRIVATE_PREFIX,
    SigmaDetector,
    WorkerEvaluator,
    evaluations_column,
    hits_column,
    strip_private,
)
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


def test_rounds_of_any_size_tag_the_same_matches(
    dataset: Callable[[str], Path], sigmahq_rules: RuleSet
) -> None:
    samples = dataset("evtx-attack-samples") / "EVTX-ATTACK-SAMPLES"
    folders = sorted(p for p in samples.iterdir() if p.is_dir())[:4]
    windows = [r for r in sigmahq_rules.rules if r.logsource[0] == "windows"]
    batches = list(read_paths(folders, ReadReport(), workers=1, batch_size=300))
    assert len(batches) > 3

    def tagged(max_rows: int) -> tuple[list[pl.DataFrame], list[list[list[int] | None]], int]:
        transform = SigmaDetector(windows).worker_transform()
        assert isinstance(transform, WorkerEvaluator)
        transform.max_rows = max_rows
        out = [frame for batch in batches for frame in transform(batch)] + transform.flush()
        token = transform.spec.token
        # which rules each event matched (the cited fields may differ: they are those of the
        # condition as folded for the round's literals, see docs/SIGMA.md "Evaluation")
        hits = [
            [
                None if h is None else sorted(hit["rule"] for hit in h)
                for h in f.get_column(hits_column(token))
            ]
            for f in out
        ]
        evaluations = sum(int(f.get_column(evaluations_column(token)).sum()) for f in out)
        return [strip_private(f) for f in out], hits, evaluations

    one_by_one, hits_apart, per_batch = tagged(1)
    one_round, hits_together, per_round = tagged(10**9)
    assert len(one_by_one) == len(one_round) == len(batches)  # each batch back, in order, tagged
    for a, b, plain in zip(one_by_one, one_round, batches, strict=True):
        assert a.equals(plain) and b.equals(plain)
    assert hits_apart == hits_together
    assert sum(hit is not None for hits in hits_together for hit in hits) > 100
    assert per_round < per_batch  # one round pays each group's costs once


def test_profiling_times_rules_and_keeps_the_alerts(
    dataset: Callable[[str], Path], sigmahq_rules: RuleSet
) -> None:
    """Per-rule timing evaluates each rule on its own, including rules decided on distinct values
    (a constant column), and must find the same alerts."""
    samples = dataset("evtx-attack-samples") / "EVTX-ATTACK-SAMPLES"
    folders = sorted(p for p in samples.iterdir() if p.is_dir())[:3]
    windows = [r for r in sigmahq_rules.rules if r.logsource[0] == "windows"]
    batches = list(read_paths(folders, ReadReport(), workers=1))
    plain = SigmaDetector(windows)
    profiled = SigmaDetector(windows, profile=True)
    expected = _alerts(batches, plain)
    assert len(expected) > 100
    assert sorted(map(_key, _alerts(batches, profiled))) == sorted(map(_key, expected))
    assert len(profiled.engine.seconds) >= len({a.rule_id for a in expected})
