"""The stream hands each input's sniffed head to its reader: one open per plain EVTX file, the same
frames as a reader that reads the file itself, and a file read again (a live log that grew) is read
as it is now.

Opens are counted by wrapping the real ``os.open`` and ``open`` (the readers still run); the evtx
package opens the file in Rust, which these wrappers do not see and the test does not count.
"""

from __future__ import annotations

import builtins
import io
import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from evtx import PyEvtxParser

from chainbreaker.readers import InputFile, ReadReport
from chainbreaker.readers.evtx import CHUNK_SIZE, HEADER_SIZE, EvtxReader
from chainbreaker.readers.registry import reader_for
from chainbreaker.readers.stream import plan, run_task


@pytest.fixture(scope="module")
def evtx_files(dataset: Any) -> list[Path]:
    return sorted(dataset("evtx-attack-samples").rglob("*.evtx"))


@pytest.fixture
def opens(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Python-level opens per resolved path, from now on (``os.open``, ``open``, ``io.open``)."""
    counted: Counter[str] = Counter()

    def counting(real: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(file: Any, *args: Any, **kwargs: Any) -> Any:
            if isinstance(file, str | os.PathLike):
                counted[str(Path(os.fspath(file)).resolve())] += 1
            return real(file, *args, **kwargs)

        return wrapper

    monkeypatch.setattr(os, "open", counting(os.open))
    monkeypatch.setattr(builtins, "open", counting(builtins.open))
    monkeypatch.setattr(io, "open", counting(io.open))
    return counted


def _records(path: Path) -> int:
    return sum(1 for _ in PyEvtxParser(str(path)).records_json())


def _stream(paths: list[Path], report: ReadReport, opens: Counter[str] | None = None) -> list[pl.DataFrame]:
    """What the stream reads from ``paths`` (planned first, so only the reading is counted)."""
    tasks = plan(paths, report)
    if opens is not None:
        opens.clear()
    return [batch for task in tasks for batch in run_task(task, report, 10**9)]


def _equal(left: list[pl.DataFrame], right: list[pl.DataFrame]) -> bool:
    return len(left) == len(right) and all(x.equals(y) for x, y in zip(left, right, strict=True))


def test_the_stream_opens_each_plain_evtx_file_once(evtx_files: list[Path], opens: Counter[str]) -> None:
    # small files (one chunk: most of the corpus) and the largest one, several files per run
    paths = [*evtx_files[:6], max(evtx_files, key=lambda p: (p.stat().st_size, str(p)))]
    report = ReadReport()
    frames = _stream(paths, report, opens)
    assert {str(p.resolve()): opens[str(p.resolve())] for p in paths} == {str(p.resolve()): 1 for p in paths}
    assert report.records == sum(_records(p) for p in paths) > 0 and report.warnings == []
    assert {f.reader for f in report.files.values()} == {"evtx"}

    # the reader on plain inputs (no sniff) reads the header itself and gives the same frames
    opens.clear()
    direct_report = ReadReport()
    direct = list(EvtxReader().read_many([InputFile(p) for p in paths], direct_report, 10**9))
    assert all(opens[str(p.resolve())] == 1 for p in paths)
    assert _equal(frames, direct)
    assert direct_report.records == report.records and direct_report.warnings == []


def test_the_stream_gives_every_corpus_file_the_frames_of_an_unsniffed_read(evtx_files: list[Path]) -> None:
    report, direct_report = ReadReport(), ReadReport()
    tasks = plan(evtx_files, report)
    assert len(tasks) > 1  # tasks are cut by size; each task's inputs share batches
    for task in tasks:
        frames = list(run_task(task, report, 10**9))
        direct = list(EvtxReader().read_many(task.files, direct_report, 10**9))  # plain InputFiles
        assert _equal(frames, direct)
    assert report.records == direct_report.records == sum(_records(p) for p in evtx_files)
    assert report.warnings == direct_report.warnings == []


def test_a_live_log_that_grew_is_read_as_it_is_now(evtx_files: list[Path], tmp_path: Path) -> None:
    source = max(evtx_files, key=lambda p: (p.stat().st_size, str(p)))
    data = source.read_bytes()
    assert len(data) >= HEADER_SIZE + 2 * CHUNK_SIZE  # a file of several chunks
    total = _records(source)
    live = tmp_path / "live.evtx"
    live.write_bytes(data[: HEADER_SIZE + CHUNK_SIZE])  # header and first chunk written so far
    first_chunk = _records(live)
    assert 0 < first_chunk < total

    report = ReadReport()
    _stream([live], report)
    assert report.records == first_chunk
    assert [w.reason.split(":")[0] for w in report.warnings] == ["truncated file"]

    # the registry sniffed the file for a reader (as live mode does), then the log grows
    reader = reader_for(InputFile(live))
    assert isinstance(reader, EvtxReader)
    with live.open("ab") as out:
        out.write(data[HEADER_SIZE + CHUNK_SIZE :])

    grown = ReadReport()
    frames = _stream([live], grown)  # sniffed again: the new size, no truncation
    assert grown.records == sum(f.height for f in frames) == total and grown.warnings == []
    direct = ReadReport()
    assert sum(f.height for f in reader.read(InputFile(live), direct)) == total
    assert direct.warnings == []
