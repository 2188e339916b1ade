"""Input files: heads read once for the registry and the EVTX reader."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

from chainbreaker.readers import ReadReport, read_paths
from chainbreaker.readers.base import InputFile, take_last_head
from chainbreaker.readers.evtx import HEADER_SIZE, EvtxReader
from chainbreaker.readers.registry import reader_for


def test_head_and_size_of_plain_and_compressed_files(tmp_path: Path):
    data = bytes(range(256)) * 40
    (tmp_path / "plain").write_bytes(data)
    (tmp_path / "packed").write_bytes(gzip.compress(data))
    plain, packed = InputFile(tmp_path / "plain"), InputFile(tmp_path / "packed", compression="gzip")
    assert plain.head_and_size(100) == (data[:100], len(data))
    assert packed.head_and_size(100) == (data[:100], None)  # no size without decompressing
    assert plain.head(100_000) == data
    assert InputFile(tmp_path / "absent").head_and_size() == (b"", None)
    assert InputFile(tmp_path).head() == b""  # a folder reads as nothing


def test_the_last_head_is_taken_once_and_only_for_its_file(tmp_path: Path):
    for name in ("a", "b"):
        (tmp_path / name).write_bytes(name.encode() * 5000)
    a, b = InputFile(tmp_path / "a"), InputFile(tmp_path / "b")
    a.head(4096)
    assert take_last_head(a, 8192) is None  # read shorter than asked
    a.head(8192)
    assert take_last_head(a, 10) == (b"a" * 10, 5000)
    assert take_last_head(a, 10) is None  # taken: a later read of the file reads it again
    a.head()
    assert take_last_head(b, 10) is None
    assert take_last_head(a, 10) is None  # asking for another file dropped it too


def test_evtx_reader_reads_with_the_sniffed_header(dataset: Any):
    path = next(iter(sorted(dataset("evtx-attack-samples").rglob("*.evtx"))))
    file = InputFile(path)
    reader = reader_for(file)
    assert isinstance(reader, EvtxReader)
    assert take_last_head(file, HEADER_SIZE) == (path.read_bytes()[:HEADER_SIZE], path.stat().st_size)
    reader_for(file)  # sniffed again: the reader finds the header there
    report = ReadReport()
    via_cache = list(reader.read(file, report))
    again = ReadReport()
    direct = list(reader.read(file, again))  # nothing left to take: the file is opened again
    assert report.records == again.records > 0 and report.warnings == again.warnings
    assert len(via_cache) == len(direct) and all(x.equals(y) for x, y in zip(via_cache, direct, strict=True))
    assert sum(f.height for f in read_paths([path], workers=1)) == report.records
