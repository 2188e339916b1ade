"""Ingest's part files are the frames of the embedded read, one each, in read order, with any workers.

The Spark engine hands each part file to the builtin detectors as one batch of the embedded read
(engines/spark/analytics.py: per-batch logic such as the intel matcher's grouping must see the
same batches on both engines), and orders the parts by name. Measured alternatives that would
break this (one part per batch, small channel frames merged) are in docs/BENCHMARKS.md, "Ingest".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from chainbreaker.events import NORMALISED_SCHEMA
from chainbreaker.readers import ReadReport, read_paths, scan_parquet_parts, stream, write_parquet_parts

BATCH = 2000


@pytest.fixture(scope="module")
def evtx_files(dataset: Any) -> list[Path]:
    return sorted(dataset("evtx-attack-samples").rglob("*.evtx"))


def test_each_part_file_is_one_frame_of_the_read(evtx_files: list[Path], tmp_path: Path) -> None:
    frames = list(read_paths(evtx_files, ReadReport(), batch_size=BATCH, workers=1))
    report = ReadReport()
    parts = write_parquet_parts(evtx_files, tmp_path / "out", report, batch_size=BATCH, workers=1)
    assert report.records == sum(f.height for f in frames) == 8255
    # several channels per batch: more frames than batches, so a per-batch part would differ
    assert len(frames) > -(-report.records // BATCH)
    assert [p.name for p in parts] == sorted(p.name for p in tmp_path.joinpath("out").iterdir())
    assert len(parts) == len(frames)
    for part, frame in zip(parts, frames, strict=True):
        assert_frame_equal(pl.read_parquet(part), frame)  # rows, column order and dtypes
        assert frame.get_column("channel").n_unique() == 1  # one Windows channel per part
    events = scan_parquet_parts(tmp_path / "out").collect()
    assert events.height == 8255
    assert {name: events.schema[name] for name in NORMALISED_SCHEMA} == NORMALISED_SCHEMA
    assert all(events.schema[c] == pl.String for c in events.columns if c not in NORMALISED_SCHEMA)


def test_parts_are_the_same_with_two_workers(
    evtx_files: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stream, "MIN_GROUP_BYTES", 4 << 20)  # several tasks, so both workers write
    one = write_parquet_parts(evtx_files, tmp_path / "one", ReadReport(), batch_size=BATCH, workers=1)
    two = write_parquet_parts(evtx_files, tmp_path / "two", ReadReport(), batch_size=BATCH, workers=2)
    assert len({p.name.split("-")[1] for p in two}) > 2  # parts of several tasks
    assert [p.name for p in one] == [p.name for p in two]
    for a, b in zip(one, two, strict=True):
        assert_frame_equal(pl.read_parquet(a), pl.read_parquet(b))
