"""A hunt whose reader workers send only what the detectors read (detect/interest.py) gives the same
result document as one that sends whole batches: alerts, incidents, stats, skipped reasons."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from chainbreaker.alerts import Alert
from chainbreaker.detect.base import Detector
from chainbreaker.detect.interest import Interest
from chainbreaker.detect.sigma.detector import PRIVATE_PREFIX
from chainbreaker.pipeline import HuntOptions, hunt, result_document

DEMO = Path(__file__).resolve().parent.parent / "demo" / "lockbit"


class _Seen(Detector):
    """Raises nothing; counts the rows and columns that reach the detectors."""

    name = "seen"

    def __init__(self, interest: Interest | None) -> None:
        self._interest = interest
        self.rows = 0
        self.widest = 0
        self.private = 0

    def interest(self) -> Interest | None:
        return self._interest

    def observe(self, batch: pl.DataFrame) -> list[Alert]:
        self.rows += batch.height
        self.widest = max(self.widest, batch.width)
        self.private += sum(c.startswith(PRIVATE_PREFIX) for c in batch.columns)
        return []


def _document(paths: list[Path], seen: _Seen, options: HuntOptions) -> dict[str, Any]:
    document = result_document(hunt(paths, options, extra_detectors=[seen]))
    document["stats"].pop("duration_s")
    return document


@pytest.mark.parametrize("intel", [False, True], ids=["default", "intel"])
def test_a_projected_hunt_equals_a_whole_batch_hunt(dataset: Callable[[str], Path], intel: bool) -> None:
    samples = dataset("evtx-attack-samples") / "EVTX-ATTACK-SAMPLES"
    slips = dataset("slips") / "slips-dataset" / "dataset"
    paths = [
        *sorted(p for p in samples.iterdir() if p.is_dir())[:4],
        slips / "test9-mixed-zeek-dir",
        slips / "test6-malicious.suricata.json",
        DEMO / "logs",
    ]
    options = HuntOptions(workers=2, intel=[DEMO / "intel" / "campaign.json"] if intel else [])
    whole = _Seen(None)  # declares no interest: every row and column crosses, as before
    expected = _document(paths, whole, options)
    projected = _Seen(Interest(columns=frozenset(), sources=frozenset()))
    got = _document(paths, projected, options)

    assert got == expected
    stats = expected["stats"]
    assert stats["alerts"] > 100 and stats["incidents"] > 5 and stats["rule_evaluations"] > 100
    detectors = {a["detector"] for a in expected["alerts"]}
    assert detectors >= {"sigma", "sigma-correlation", "analytic", "suricata", "zeek-notice"}
    assert ("intel" in detectors) == intel
    assert whole.rows == stats["records"] and projected.widest < whole.widest / 2
    if intel:  # an indicator may be in any event: every row crosses, with few columns
        assert projected.rows == stats["records"]
    else:  # analytics read Security and Sysmon, the verdicts Suricata alerts: no BITS, no DNS...
        assert projected.rows < stats["records"] * 0.9
    assert whole.private == projected.private == 0  # Sigma's private columns are Sigma's alone


def test_sigma_alone_sends_only_the_matched_rows(dataset: Callable[[str], Path]) -> None:
    samples = dataset("evtx-attack-samples") / "EVTX-ATTACK-SAMPLES"
    paths = sorted(p for p in samples.iterdir() if p.is_dir())[:3]
    options = HuntOptions(workers=2, analytics=False, verdicts=False, correlate=False)
    whole = _Seen(None)
    expected = _document(paths, whole, options)
    projected = _Seen(Interest(columns=frozenset(), sources=frozenset()))
    assert _document(paths, projected, options) == expected
    matched_events = len({(r["file"], r["record"]) for a in expected["alerts"] for r in a["event_refs"]})
    assert 0 < matched_events <= projected.rows < whole.rows == expected["stats"]["records"]
