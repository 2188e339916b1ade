"""Declared interests: their union, the projection of a batch, and each built-in detector's interest
keeping everything its ``observe`` reads (same alerts from projected batches as from whole ones)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from chainbreaker.correlate.hooks import LinkLearner
from chainbreaker.detect.analytics import AnalyticsDetector
from chainbreaker.detect.base import Detector
from chainbreaker.detect.intel import IntelDetector, load_indicators
from chainbreaker.detect.interest import Interest, combine, project
from chainbreaker.detect.verdicts import VerdictDetector
from chainbreaker.pipeline import run_detectors
from chainbreaker.readers import ReadReport, read_paths

DEMO = Path(__file__).resolve().parents[2] / "demo" / "lockbit"


EVEN = ("n", frozenset({2, 4, 6}))
BIG = ("n", frozenset({5, 6}))
HAS_X = ("x", None)


def _batch() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "source": ["a", "b", "c", None, "a", "b"],
            "n": [1, 2, 3, 4, 5, 6],
            "x": ["p", None, None, "q", None, None],
            "hits": [None, None, [1], None, None, None],
        },
        schema_overrides={"hits": pl.List(pl.Int64)},
    )


def test_combine_is_the_union_and_none_wins() -> None:
    one = Interest(columns=frozenset({"n"}), sources=frozenset({"a"}), where=(EVEN,))
    two = Interest(columns=frozenset({"x"}), sources=frozenset({"b"}), where=(EVEN, BIG))
    both = combine([one, two, Interest(matched=True, columns=frozenset())])
    assert both == Interest(
        columns=frozenset({"n", "x"}),
        sources=frozenset({"a", "b"}),
        where=(EVEN, BIG),
        matched=True,
    )
    assert combine([one, None, two]) is None
    every = combine([one, Interest(columns=frozenset({"x"}), sources=None)])
    assert every is not None and every.every_row and every.columns == frozenset({"n", "x"})
    wide = combine([one, Interest(columns=None)])
    assert wide is not None and wide.columns is None and wide.sources == frozenset({"a"})
    assert combine([]) == Interest(columns=frozenset(), sources=frozenset())


def test_project_keeps_the_rows_and_columns_of_interest_in_order() -> None:
    batch = _batch()
    by_source = Interest(columns=frozenset({"x", "source", "absent"}), sources=frozenset({"a"}))
    got = project(batch, by_source, matched="hits", keep=("hits",))
    assert got.columns == ["source", "x", "hits"]  # the batch's order; absent names ignored
    assert got.get_column("source").to_list() == ["a", "a"]
    assert got.get_column("x").to_list() == ["p", None]
    matched = Interest(columns=frozenset({"n"}), sources=frozenset({"b"}), where=(BIG,), matched=True)
    assert project(batch, matched, matched="hits").get_column("n").to_list() == [2, 3, 5, 6]
    # rows only by content; a null source is no row of interest, never an error
    assert project(batch, Interest(where=(HAS_X, ("absent", None)))).get_column("n").to_list() == [1, 4]
    assert project(batch, Interest(columns=None, where=(EVEN,))).get_column("n").to_list() == [
        2,
        4,
        6,
    ]
    assert project(batch, Interest(columns=frozenset({"n"}), sources=None)).shape == (6, 1)
    nothing = project(batch, Interest(columns=frozenset({"x"}), sources=frozenset({"zzz"})))
    assert nothing.height == 0 and nothing.columns == ["x"]
    # a kept column stays even when every kept row is null there (detectors test column presence)
    assert project(batch, Interest(columns=frozenset({"x"}), sources=frozenset({"b"}))).columns == ["x"]
    assert project(batch.clear(), by_source).columns == ["source", "x"]


class _Quiet(Detector):
    name = "quiet"

    def observe(self, batch: pl.DataFrame) -> list[Any]:
        return []


def test_a_detector_declares_no_interest_by_default() -> None:
    assert _Quiet().interest() is None
    assert combine(d.interest() for d in [_Quiet(), VerdictDetector()]) is None


@pytest.fixture(scope="module")
def batches(dataset: Callable[[str], Path]) -> list[pl.DataFrame]:
    """Windows (EVTX), Zeek (conn, DHCP, ...), Suricata EVE and the demo's mixed logs."""
    samples = dataset("evtx-attack-samples") / "EVTX-ATTACK-SAMPLES"
    slips = dataset("slips") / "slips-dataset" / "dataset"
    paths = [
        *sorted(p for p in samples.iterdir() if p.is_dir())[:3],
        slips / "test13-malicious-dhcpscan-zeek-dir",
        slips / "test9-mixed-zeek-dir",
        slips / "test6-malicious.suricata.json",
        DEMO / "logs",
    ]
    return list(read_paths(paths, ReadReport(), workers=1))


def _alerts(detector: Detector, batches: list[pl.DataFrame]) -> list[dict[str, Any]]:
    return [alert.as_dict() for alert in run_detectors(batches, [detector])]


@pytest.mark.parametrize(
    "make",
    [
        AnalyticsDetector,
        VerdictDetector,
        lambda: IntelDetector(load_indicators([DEMO / "intel" / "campaign.json"])),
    ],
    ids=["analytics", "verdicts", "intel"],
)
def test_each_detector_finds_the_same_in_its_own_interest(
    batches: list[pl.DataFrame], make: Callable[[], Detector]
) -> None:
    whole, projected = make(), make()
    interest = projected.interest()
    assert interest is not None
    narrow = [project(b, interest) for b in batches]
    assert sum(b.width for b in narrow) < sum(b.width for b in batches)
    expected = _alerts(whole, batches)
    assert len(expected) > 5
    assert _alerts(projected, narrow) == expected
    assert projected.skipped_reasons() == whole.skipped_reasons()


def test_the_link_learner_learns_the_same_pairs_from_its_interest(batches: list[pl.DataFrame]) -> None:
    ntlm = pl.DataFrame(  # no corpus has a Zeek ntlm.log: two records of one, and a DNS record
        {
            "source": ["zeek.ntlm", "zeek.dns", "zeek.ntlm"],
            "timestamp": [datetime(2026, 1, 2, h, tzinfo=UTC) for h in (1, 2, 3)],
            "event_code": pl.Series([None, None, None], dtype=pl.Int32),
            "hostname": ["WKS-NTLM-1", "WKS-NTLM-2", "WKS-NTLM-1"],
            "id.orig_h": ["10.9.8.7", "10.9.8.6", "10.9.8.7"],
        }
    )
    batches = [*batches, ntlm]
    whole, projected = LinkLearner(), LinkLearner()
    interest = projected.interest()
    narrow = [project(b, interest) for b in batches]
    assert sum(b.height for b in narrow) < sum(b.height for b in batches) / 2
    run_detectors(batches, [whole])
    run_detectors(narrow, [projected])
    pairs = whole.learner.links.pairs()
    assert len(pairs) > 5 and ("10.9.8.7", "wks-ntlm-1", 2) in pairs
    assert projected.learner.links.pairs() == pairs
    first_last = {k: (s.first, s.last) for k, s in whole.learner.links._pairs.items()}
    assert {k: (s.first, s.last) for k, s in projected.learner.links._pairs.items()} == first_last


def test_analytics_receive_only_the_windows_events_they_declare(batches: list[pl.DataFrame]) -> None:
    # Windows sources come by event id (Analytic.rows), so far fewer of their rows cross; the union
    # with other detectors' interests brings other event ids, which the analytics drop themselves.
    detector = AnalyticsDetector()
    interest = detector.interest()
    windows = sorted(s for s in detector.source_columns if s.startswith("windows."))
    assert interest.sources is not None and not set(windows) & interest.sources

    def windows_rows(frames: list[pl.DataFrame]) -> int:
        return sum(f.filter(pl.col("source").is_in(windows)).height for f in frames if "source" in f.columns)

    narrow = [project(b, interest) for b in batches]
    assert 0 < windows_rows(narrow) < windows_rows(batches)  # attack samples: mostly events read
    union = combine([interest, LinkLearner().interest(), VerdictDetector().interest()])
    assert union is not None
    wide = [project(b, union) for b in batches]
    assert windows_rows(wide) > windows_rows(narrow)
    expected = _alerts(AnalyticsDetector(), narrow)
    assert len(expected) > 5 and _alerts(AnalyticsDetector(), wide) == expected
