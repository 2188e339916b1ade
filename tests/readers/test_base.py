"""Input files: heads read once, by the registry's sniff, for the reader chosen and the EVTX reader."""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from chainbreaker.readers import ReadReport, read_paths
from chainbreaker.readers.base import HEAD_SIZE, InputFile, SniffedFile
from chainbreaker.readers.evtx import HEADER_SIZE, EvtxReader
from chainbreaker.readers.registry import sniff


def test_head_and_size_of_plain_and_compressed_files(tmp_path: Path) -> None:
    data = bytes(range(256)) * 40
    (tmp_path / "plain").write_bytes(data)
    (tmp_path / "packed").write_bytes(gzip.compress(data))
    plain, packed = InputFile(tmp_path / "plain"), InputFile(tmp_path / "packed", compression="gzip")
    assert plain.head_and_size(100) == (data[:100], len(data))
    assert packed.head_and_size(100) == (data[:100], None)  # no size without decompressing
    assert plain.head(100_000) == data
    assert InputFile(tmp_path / "absent").head_and_size() == (b"", None)
    assert InputFile(tmp_path).head() == b""  # a folder reads as nothing


def test_a_sniffed_file_answers_from_its_sniff_and_a_plain_file_reads_again(tmp_path: Path) -> None:
    path = tmp_path / "log"
    path.write_bytes(b"a" * 5000)
    sniffed = SniffedFile.of(InputFile(path), 4096)
    assert (sniffed.path, sniffed.member, sniffed.compression) == (path, None, None)
    assert sniffed.sniffed == b"a" * 4096 and sniffed.size == 5000
    path.write_bytes(b"b" * 9000)  # the file changes after the sniff
    assert sniffed.head_and_size(10) == (b"a" * 10, 5000)  # the file as sniffed: no read
    assert sniffed.head(4096) == b"a" * 4096
    assert sniffed.head_and_size(8192) == (b"b" * 8192, 9000)  # more than the sniff read: read now
    assert InputFile(path).head_and_size(10) == (b"b" * 10, 9000)  # a plain input always reads


def test_sniffing_short_compressed_and_missing_files(tmp_path: Path) -> None:
    (tmp_path / "short").write_bytes(b"xyz")
    short = SniffedFile.of(InputFile(tmp_path / "short"))
    assert short.head_and_size(4096) == (b"xyz", 3) and short.asked == HEAD_SIZE
    (tmp_path / "packed").write_bytes(gzip.compress(b"q" * 10_000))
    packed = SniffedFile.of(InputFile(tmp_path / "packed", compression="gzip"))
    assert packed.head_and_size(100) == (b"q" * 100, None)
    assert SniffedFile.of(InputFile(tmp_path / "absent")).head_and_size() == (b"", None)


def test_sniff_hands_the_evtx_reader_the_header_it_read(dataset: Any) -> None:
    path = next(iter(sorted(dataset("evtx-attack-samples").rglob("*.evtx"))))
    plain = InputFile(path)
    file, reader = sniff(plain)
    assert isinstance(reader, EvtxReader) and isinstance(file, SniffedFile)
    assert file.head_and_size(HEADER_SIZE) == (path.read_bytes()[:HEADER_SIZE], path.stat().st_size)
    report = ReadReport()
    sniffed = list(reader.read(file, report))
    again = ReadReport()
    direct = list(reader.read(plain, again))  # no sniff: the reader reads the header itself
    assert report.records == again.records > 0 and report.warnings == again.warnings == []
    assert len(sniffed) == len(direct) and all(x.equals(y) for x, y in zip(sniffed, direct, strict=True))
    assert sum(f.height for f in read_paths([path], workers=1)) == report.records


def test_sniff_keeps_an_input_with_content_of_its_own(tmp_path: Path) -> None:
    @dataclass(frozen=True, slots=True)
    class Lines(InputFile):  # like the live tail's chunk: the content is not the file's
        data: bytes = b""

        def open(self) -> IO[bytes]:
            return io.BytesIO(self.data)

    chunk = Lines(tmp_path / "absent.log", data=b"x")
    file, _ = sniff(chunk)
    assert file is chunk
