"""Rules evaluated in the reader workers (a stream transform) give exactly the in-process alerts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl

from chainbreaker.alerts import Alert
from chainbreaker.detect.interest import Interest
from chainbreaker.detect.sigma import RuleSet
from chainbreaker.detect.sigma.detector import (
    PRIVATE_PREFIX,
    SigmaDetector,
    WorkerEvaluator,
    hits_column,
    strip_private,
    tally_column,
)
from chainbreaker.detect.sigma.engine import PARTITION_COLUMNS
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
    sent = list(read_paths(folders, ReadReport(), workers=2, transform=transform))
    tagged = [b for b in sent if strip_private(b).width]  # without the rounds' tally frames
    assert len(sent) > len(tagged)
    hits = [next(c for c in b.columns if c.startswith(PRIVATE_PREFIX + "hits:")) for b in tagged]
    assert sum(b.get_column(h).is_not_null().sum() for b, h in zip(tagged, hits, strict=True)) > 0
    got = _alerts(sent, in_workers)

    assert len(expected) > 100
    assert sorted(map(_key, got)) == sorted(map(_key, expected))
    assert in_workers.skipped_reasons() == in_process.skipped_reasons()
    assert in_workers.engine.evaluations > 0 and in_workers.records == sum(b.height for b in plain)
    assert [strip_private(b).columns for b in tagged] == [b.columns for b in plain]

    # a second rule set never reads the first one's matches: it evaluates the batches itself
    other = SigmaDetector(windows)
    assert sorted(map(_key, _alerts(sent, other))) == sorted(map(_key, expected))


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
        sent = [frame for batch in batches for frame in transform(batch)] + transform.flush()
        token = transform.spec.token
        out = [f for f in sent if tally_column(token) not in f.columns]
        tallies = [f.get_column(tally_column(token))[0] for f in sent if tally_column(token) in f.columns]
        assert sum(t["records"] for t in tallies) == sum(b.height for b in batches)
        # which rules each event matched (the cited fields may differ: they are those of the
        # condition as folded for the round's literals, see docs/SIGMA.md "Evaluation")
        hits = [
            [
                None if h is None else sorted(hit["rule"] for hit in h)
                for h in f.get_column(hits_column(token))
            ]
            for f in out
        ]
        evaluations = sum(int(t["evaluations"]) for t in tallies)
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


def test_projected_rounds_send_the_matched_rows_and_tally_every_row(
    dataset: Callable[[str], Path], sigmahq_rules: RuleSet
) -> None:
    """With an interest, a round sends only the rows of interest (here: matched rows and the rows of
    one source), only the columns of interest, and a tally of every row it read."""
    samples = dataset("evtx-attack-samples") / "EVTX-ATTACK-SAMPLES"
    folders = sorted(p for p in samples.iterdir() if p.is_dir())[:3]
    windows = [r for r in sigmahq_rules.rules if r.logsource[0] == "windows"]
    batches = list(read_paths(folders, ReadReport(), workers=1))
    detector = SigmaDetector(windows)
    whole = detector.worker_transform()
    assert whole is not None
    token = whole.spec.token
    source = min(str(s) for b in batches for s in b.get_column("source").unique())  # one of them
    interest = Interest(columns=frozenset({"source", "event_ref"}), sources=frozenset({source}), matched=True)
    assert detector.interest() is not None
    projected = whole.projecting(interest).projecting(None).projecting(interest)
    whole_out = [f for b in batches for f in whole(b)] + whole.flush()
    sent = [f for b in batches for f in projected(b)] + projected.flush()

    hits = hits_column(token)
    tally = [f for f in sent if tally_column(token) in f.columns]
    rows = [f for f in sent if hits in f.columns]
    assert len(tally) + len(rows) == len(sent) and tally
    assert sum(t.get_column(tally_column(token))[0]["records"] for t in tally) == sum(
        b.height for b in batches
    )
    keys = {
        k.values() and tuple(k.values()) for t in tally for k in t.get_column(tally_column(token))[0]["keys"]
    }
    assert keys == set(pl.concat([b.select(PARTITION_COLUMNS) for b in batches]).unique().iter_rows())
    for frame in rows:
        assert set(frame.columns) <= {"source", "event_ref", hits}
        assert (frame.get_column(hits).is_not_null() | (frame.get_column("source") == source)).all()
    # exactly the rows of interest of the whole batches, in their order
    expected = pl.concat(
        [
            f.filter(pl.col(hits).is_not_null() | (pl.col("source") == source)).select(rows[0].columns)
            for f in whole_out
            if hits in f.columns
        ]
    )
    assert expected.height > 100 and expected.get_column(hits).null_count() > 0
    assert pl.concat(rows).equals(expected)
