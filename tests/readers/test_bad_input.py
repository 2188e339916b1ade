"""Bad input never stops a run and never loses data silently: each case is a counted warning with
its file and position, and the rest of the file and the other files are still read.

Damaged EVTX files are made in the test from a corpus file copied into tmp_path."""

from __future__ import annotations

import os
import shutil
import struct
from pathlib import Path
from typing import Any

import pytest
from evtx import PyEvtxParser

from chainbreaker.readers import ReadReport, read_paths
from chainbreaker.readers.evtx import CHUNK_SIZE, HEADER_SIZE

GOOD_LINE = b'{"EventID":4688,"Channel":"Security","Hostname":"h","NewProcessName":"C:\\\\a.exe"}\n'


@pytest.fixture(scope="module")
def big_evtx(dataset: Any) -> Path:
    """The corpus EVTX file with the most chunks (several chunks are needed to damage one)."""
    files = sorted(dataset("evtx-attack-samples").rglob("*.evtx"))
    return max(files, key=lambda p: (sum(1 for _ in PyEvtxParser(str(p)).records_json()), str(p)))


def _count(path: Path) -> int:
    return sum(1 for _ in PyEvtxParser(str(path)).records_json())


def _read(paths: list[Path]) -> ReadReport:
    report = ReadReport()
    for _ in read_paths(paths, report, workers=1):
        pass
    return report


def _good_file(tmp_path: Path) -> Path:
    good = tmp_path / "good.jsonl"
    good.write_bytes(GOOD_LINE * 3)
    return good


def test_evtx_cut_in_half(big_evtx: Path, tmp_path: Path):
    data = big_evtx.read_bytes()
    total = _count(big_evtx)
    cut = tmp_path / "cut.evtx"
    cut.write_bytes(data[: len(data) // 2])
    readable = _count(cut)
    assert 0 < readable < total
    report = _read([cut, _good_file(tmp_path)])
    assert report.files[str(cut)].records == readable
    [warning] = report.warnings
    assert warning.file == str(cut) and warning.reason.startswith("truncated file")
    assert (
        warning.position
        == f"byte {HEADER_SIZE + ((len(data) // 2 - HEADER_SIZE) // CHUNK_SIZE) * CHUNK_SIZE}"
    )
    assert report.files[str(cut)].skipped == total - readable  # this file's header counts its records
    assert report.files[str(tmp_path / "good.jsonl")].records == 3


def test_evtx_with_a_corrupted_chunk(big_evtx: Path, tmp_path: Path):
    data = bytearray(big_evtx.read_bytes())
    chunk = HEADER_SIZE + CHUNK_SIZE  # the second chunk
    first, last = struct.unpack_from("<QQ", data, chunk + 24)
    data[chunk + 600 : chunk + 3000] = b"A" * 2400  # overwrite its string table / first records
    bad = tmp_path / "corrupt.evtx"
    bad.write_bytes(bytes(data))
    report = _read([bad, _good_file(tmp_path)])
    stats = report.files[str(bad)]
    assert stats.records == _count(big_evtx) - (last - first + 1)
    assert stats.skipped == last - first + 1
    [warning] = report.warnings
    assert warning.position == f"records {first}..{last}"
    assert warning.reason.startswith("damaged chunk")
    assert report.files[str(tmp_path / "good.jsonl")].records == 3


def test_garbage_and_empty_files_with_log_extensions(tmp_path: Path):
    garbage = tmp_path / "garbage.evtx"
    garbage.write_bytes(os.urandom(10_000).replace(b"\n", b" "))
    empty = tmp_path / "empty.evtx"
    empty.write_bytes(b"")
    empty_json = tmp_path / "empty.json"
    empty_json.write_bytes(b"")
    good = _good_file(tmp_path)
    report = _read([garbage, empty, empty_json, good])
    assert {(w.file, w.reason) for w in report.warnings} == {
        (str(p), "no reader recognises this file") for p in (garbage, empty, empty_json)
    }
    assert report.records == 3


def test_bad_json_lines(tmp_path: Path):
    path = tmp_path / "events.jsonl"
    huge = b'{"EventID":1,"Channel":"Security","Hostname":"h","Pad":"' + b"x" * (10 << 20) + b'"}\n'
    path.write_bytes(
        GOOD_LINE  # 1
        + b'{"EventID":4688,"Channel": broken\n'  # 2: invalid JSON
        + GOOD_LINE.replace(b"a.exe", b"\xff\xfe.exe")  # 3: not UTF-8: kept, warned
        + huge  # 4: 10 MB line
        + b"[1, 2]\n"  # 5: not an object
        + b"\n"  # 6: blank, ignored
        + GOOD_LINE  # 7
    )
    report = _read([path])
    stats = report.files[str(path)]
    assert (stats.records, stats.skipped) == (3, 3)
    found = [(w.position, w.reason.split(":")[0]) for w in report.warnings]
    assert found == [
        (2, "invalid JSON"),
        (3, "invalid UTF-8"),
        (4, "line too long"),
        (5, "not a JSON object"),
    ]
    frame = next(iter(read_paths([path], workers=1)))
    assert frame["event_ref"].struct.field("record").to_list() == [1, 3, 7]
    assert frame["process_image"][1] == "C:\\\ufffd\ufffd.exe"


def test_unreadable_files_are_warnings(tmp_path: Path):
    dangling = tmp_path / "dangling.evtx"
    os.symlink(tmp_path / "gone.evtx", dangling)
    good = _good_file(tmp_path)
    report = _read([tmp_path])
    warnings = [(w.file, w.reason.split(":")[0]) for w in report.warnings]
    assert warnings == [(str(dangling), "unreadable file")]
    assert report.files[str(good)].records == 3
    if os.geteuid() != 0:  # root reads files whatever their mode
        locked = tmp_path / "locked.jsonl"
        shutil.copy(good, locked)
        locked.chmod(0)
        report = _read([locked, good])
        assert [(w.file, w.reason.split(":")[0]) for w in report.warnings] == [
            (str(locked), "unreadable file")
        ]


def test_evtx_cut_inside_its_unused_chunk_space_loses_nothing(dataset: Any, tmp_path: Path):
    """Windows preallocates a log's chunks; a copy cut after the chunks the header counts as used
    still holds every record: no truncation warning (it once said "4 of 2 chunks complete")."""
    files = sorted(dataset("evtx-attack-samples").rglob("*.evtx"))

    def spare(path: Path) -> int:  # chunks on disk past the ones the header counts
        data = path.read_bytes()
        used = struct.unpack_from("<H", data, 42)[0]
        return (len(data) - HEADER_SIZE) // CHUNK_SIZE - used

    source = next(p for p in files if spare(p) >= 2)
    data = source.read_bytes()
    used = struct.unpack_from("<H", data, 42)[0]
    cut = tmp_path / "cut_in_spare.evtx"
    cut.write_bytes(data[: HEADER_SIZE + (used + 1) * CHUNK_SIZE + 1000])  # inside a spare chunk
    report = _read([cut])
    assert report.files[str(cut)].records == _count(source) > 0
    assert report.warnings == [] and report.files[str(cut)].skipped == 0
