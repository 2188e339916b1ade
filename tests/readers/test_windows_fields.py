"""Shared Windows flattening and normalisation: the shortcuts taken for speed give the same result
as the general path (frames built here, in the test)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from chainbreaker.readers.base import InputFile, ReadReport
from chainbreaker.readers.discover import discover
from chainbreaker.readers.registry import reader_for
from chainbreaker.readers.windows_fields import (
    FILE,
    RECORD,
    TIME_FORMATS,
    Rows,
    WindowsReader,
    normalise,
    normalise_frames,
    parse_time,
)


def _frame(times: list[str | None]) -> pl.DataFrame:
    n = len(times)
    return pl.DataFrame(
        {
            FILE: ["f.evtx"] * n,
            RECORD: list(range(1, n + 1)),
            "Channel": ["Security"] * n,
            "EventID": ["4624"] * n,
            "TimeCreated": times,
        },
        schema_overrides={RECORD: pl.Int64, "TimeCreated": pl.String},
    )


def _all_formats(times: list[str | None]) -> pl.Series:
    """The timestamps as parse_time gives them, every format tried on every row."""
    return pl.DataFrame({"t": times}, schema={"t": pl.String}).select(parse_time(pl.col("t")))["t"]


@pytest.mark.parametrize(
    "times",
    [
        ["2020-10-15T13:17:02.403318Z", None, "2021-01-01T00:00:00Z"],  # the first format only
        # a batch mixing spellings: the shortcut must fall back to trying every format
        ["2020-10-15T13:17:02.403318Z", "2020-10-15 13:17:02.333", "2020-10-15T15:17:02+02:00"],
        ["not a time", "2020-10-15T13:17:02Z", "-"],  # unparseable and "no value" stay null
        [None, None],
    ],
)
def test_timestamp_shortcut_equals_every_format(times):
    got = normalise(_frame(times))["timestamp"]
    expected = _all_formats([None if t == "-" else t for t in times])
    assert got.dtype == expected.dtype
    assert got.to_list() == expected.to_list()
    assert TIME_FORMATS[0] == "%Y-%m-%dT%H:%M:%S%.fZ"  # the evtx package's spelling is tried first


def test_a_mixed_batch_parses_every_spelling():
    got = normalise(_frame(["2020-10-15T13:17:02Z", "2020-10-15 13:17:02"]))["timestamp"].to_list()
    assert got[0] == got[1] is not None


def test_rows_group_by_channel_and_field_list_in_arrival_order():
    rows = Rows()
    rows.add([FILE, RECORD, "Channel", "A"], ["f", 1, "Security", "x"])
    rows.add([FILE, RECORD, "Channel", "B"], ["f", 2, "System", "y"])
    rows.add([FILE, RECORD, "Channel", "A"], ["f", 3, "Security", "z"])
    rows.add([FILE, RECORD, "Channel", "C"], ["f", 4, "Security", "w"])
    security, system = rows.take()
    assert rows.rows == 0
    assert security.columns == [FILE, RECORD, "Channel", "A", "C"]
    assert security[RECORD].to_list() == [1, 3, 4]
    assert security["A"].to_list() == ["x", "z", None]
    assert system["B"].to_list() == ["y"]


class _Counting(WindowsReader):
    """A Windows reader over made-up rows: ``per_file`` rows per input."""

    name = "test-counting"
    description = "test"
    per_file = 5

    @classmethod
    def detect(cls, file: InputFile, head: bytes) -> bool:
        return False

    def fill(self, file: InputFile, report: ReadReport, rows: Rows, batch_size: int) -> Iterator[None]:
        assert not gc.isenabled()  # paused while the batch is built
        for number in range(1, self.per_file + 1):
            rows.add([FILE, RECORD, "Channel", "TimeCreated"], [file.name, number, "Security", None])
            report.count(file.name, 1)
            if rows.rows >= batch_size:
                yield
                assert not gc.isenabled()


def test_collector_is_running_whenever_the_caller_holds_control(tmp_path):
    files = [InputFile(tmp_path / f"{i}.evtx") for i in range(3)]
    assert gc.isenabled()
    report = ReadReport()
    batches = _Counting().read_many(files, report, batch_size=4)
    sizes = []
    for batch in batches:
        assert gc.isenabled()
        sizes.append(batch.height)
    assert gc.isenabled()
    assert sizes == [4, 4, 4, 3]
    assert report.records == 15
    # a caller that stops early leaves the collector running too
    first = _Counting().read_many(files, ReadReport(), batch_size=4)
    next(first)
    first.close()
    assert gc.isenabled()


def test_a_disabled_collector_stays_disabled(tmp_path):
    gc.disable()
    try:
        frames = list(_Counting().read_many([InputFile(tmp_path / "a.evtx")], ReadReport(), batch_size=2))
        assert [f.height for f in frames] == [2, 2, 1]
        assert not gc.isenabled()
    finally:
        gc.enable()


def _raw_frames(files: list[InputFile]) -> list[pl.DataFrame]:
    """One batch of the files' flattened rows, one frame per channel, before normalising."""
    rows, report = Rows(), ReadReport()
    for file in files:
        reader = reader_for(file)
        assert isinstance(reader, WindowsReader)
        for _ in reader.fill(file, report, rows, 10**9):
            pass
    return rows.take()


@pytest.mark.parametrize("corpus", ["evtx-attack-samples", "otrf-atomic"])
def test_a_batch_normalised_at_once_equals_each_frame_normalised_alone(dataset: Any, corpus: str) -> None:
    # Real channel frames of many kinds: a column normalising reads that NORMALISE_INPUTS lacks
    # would be null in the stacked query and make the two differ.
    root = dataset(corpus)
    pattern = "*.evtx" if corpus == "evtx-attack-samples" else "*.zip"
    files = [f for path in sorted(root.rglob(pattern))[:60] for f in discover([path])]
    frames = _raw_frames([f for f in files if isinstance(reader_for(f), WindowsReader)])
    assert len(frames) >= 5 and sum(f.height for f in frames) > 1000
    together = normalise_frames(frames)
    assert len(together) == len(frames)
    for frame, got in zip(frames, together, strict=True):
        assert_frame_equal(got, normalise(frame))
        assert got.height == frame.height and got["timestamp"].null_count() < got.height


def test_a_frame_without_any_column_normalising_reads_keeps_its_rows() -> None:
    plain = _frame(["2020-10-15T13:17:02Z", None])
    bare = pl.DataFrame({"Extra": ["a", "b", "c"]})
    first, second = normalise_frames([plain, bare])
    assert_frame_equal(first, normalise(plain))
    assert second.height == 3 and second["Extra"].to_list() == ["a", "b", "c"]
    assert second["source"].to_list() == ["windows"] * 3 and second["timestamp"].null_count() == 3


def test_frames_whose_column_types_differ_are_stacked_with_a_common_type() -> None:
    # Reader frames agree on types and are stacked strictly; a caller's frames that do not (a record
    # number as text here) take the relaxed stack and still normalise as each frame alone.
    plain = _frame(["2020-10-15T13:17:02Z", "2020-10-15T13:17:03Z"])
    texts = _frame(["2020-10-15T13:18:00Z"]).with_columns(pl.col(RECORD).cast(pl.String))
    first, second = normalise_frames([plain, texts])
    assert_frame_equal(first, normalise(plain))
    assert_frame_equal(second, normalise(texts))
    assert second["event_ref"].struct.field("record").to_list() == [1]
