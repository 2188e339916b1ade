"""Buffering stream transforms: every row comes out exactly once, in order, flushed at each task's end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest

from chainbreaker.readers import ReadReport, read_paths, stream
from chainbreaker.readers.stream import BufferingTransform

KEY = ["event_ref", "source", "channel", "event_code"]


class Gather:
    """Holds batches until ``max_rows`` rows wait (or the stream flushes it), then returns them as
    one frame with the round's number; module level, so worker processes can unpickle it."""

    def __init__(self, max_rows: int) -> None:
        self.max_rows = max_rows
        self.held: list[pl.DataFrame] = []
        self.rounds = 0

    def __call__(self, batch: pl.DataFrame) -> list[pl.DataFrame]:
        self.held.append(batch.select(KEY))
        if sum(b.height for b in self.held) >= self.max_rows:
            return self.flush()
        return []

    def flush(self) -> list[pl.DataFrame]:
        held, self.held = self.held, []
        if not held:
            return []
        self.rounds += 1
        return [pl.concat(held).with_columns(pl.lit(self.rounds).alias("round"))]


class Split:
    """Returns each batch as two frames, late by one batch: several outputs per call, some at flush."""

    def __init__(self) -> None:
        self.last: pl.DataFrame | None = None

    def __call__(self, batch: pl.DataFrame) -> list[pl.DataFrame]:
        out = self.flush()
        self.last = batch.select(KEY)
        return out

    def flush(self) -> list[pl.DataFrame]:
        last, self.last = self.last, None
        if last is None:
            return []
        half = last.height // 2
        return [last.head(half), last.slice(half)]


def _files(dataset: Any) -> list[Path]:
    return sorted(dataset("evtx-attack-samples").rglob("*.evtx"))[:80]


def test_buffering_transforms_are_recognised() -> None:
    assert isinstance(Gather(10), BufferingTransform)
    assert isinstance(Split(), BufferingTransform)
    assert not isinstance(len, BufferingTransform)  # a plain function per batch


@pytest.mark.parametrize("max_rows", [1, 700, 10**9])
def test_every_row_comes_out_once_in_order(
    dataset: Any, monkeypatch: pytest.MonkeyPatch, max_rows: int
) -> None:
    files = _files(dataset)
    monkeypatch.setattr(stream, "MIN_GROUP_BYTES", 1 << 20)  # several tasks of several files each
    tasks = stream.plan(files, ReadReport())
    assert len(tasks) >= 3 and all(len(t.files) > 1 for t in tasks[:-1])
    expected = pl.concat([b.select(KEY) for b in read_paths(files, workers=1, batch_size=500)])
    assert expected.height > 1000
    for workers in (1, 2):
        report = ReadReport()
        frames = list(read_paths(files, report, batch_size=500, workers=workers, transform=Gather(max_rows)))
        got = pl.concat(frames)
        assert got.drop("round").equals(expected)  # each row once, nothing lost at a task's end
        assert report.records == expected.height
        # rounds never span two tasks: the stream flushed the transform at each task's end
        assert len(frames) >= len(tasks)
        if max_rows == 10**9:
            assert len(frames) == len(tasks)
        if max_rows == 1:
            assert all(f.height <= 500 for f in frames)


def test_several_frames_per_call_and_at_flush(dataset: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    files = _files(dataset)
    monkeypatch.setattr(stream, "MIN_GROUP_BYTES", 1 << 20)
    plain = [b.select(KEY) for b in read_paths(files, workers=1, batch_size=500)]
    for workers in (1, 2):
        frames = list(read_paths(files, batch_size=500, workers=workers, transform=Split()))
        assert pl.concat(frames).equals(pl.concat(plain))
        assert len(frames) == sum(2 if b.height > 1 else 1 for b in plain)  # empty halves dropped
