"""Input discovery (folders, archives sniffed by content) and the read pipeline's order and workers."""

from __future__ import annotations

import bz2
import gzip
import os
import zipfile
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from chainbreaker.readers import ReadReport, read_paths, stream
from chainbreaker.readers.discover import BZ2_RATIO, discover, discover_sized, sniff_compression

LINE = b'{"EventID":4624,"Channel":"Security","Hostname":"h1","TargetUserName":"u%d"}\n'


def _jsonl(n: int, start: int = 0) -> bytes:
    return b"".join(LINE.replace(b"%d", str(i).encode()) for i in range(start, start + n))


def test_archives_are_sniffed_by_content_not_extension(tmp_path: Path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "plain.txt").write_bytes(_jsonl(2))
    (tmp_path / "gz.log").write_bytes(gzip.compress(_jsonl(3)))  # gzip without a .gz name
    (tmp_path / "bz.json").write_bytes(bz2.compress(_jsonl(4)))
    with zipfile.ZipFile(tmp_path / "a.dat", "w") as archive:  # a zip without a .zip name
        archive.writestr("z/second.json", _jsonl(5))
        archive.writestr("first.json", _jsonl(6))
    (tmp_path / "fake.gz").write_bytes(_jsonl(1))  # named .gz, plain text inside
    report = ReadReport()
    found = [(f.name.removeprefix(str(tmp_path)), f.compression) for f in discover([tmp_path], report)]
    assert found == [
        ("/a.dat!first.json", "zip"),
        ("/a.dat!z/second.json", "zip"),
        ("/b/plain.txt", None),
        ("/bz.json", "bz2"),
        ("/fake.gz", None),
        ("/gz.log", "gzip"),
    ]
    assert report.warnings == []
    frame = pl.concat(list(read_paths([tmp_path], report, workers=1)))
    assert frame.height == 6 + 5 + 2 + 4 + 1 + 3
    assert report.records == frame.height and report.warnings == []
    refs = frame["event_ref"].struct.field("file").unique(maintain_order=True).to_list()
    assert [r.removeprefix(str(tmp_path)) for r in refs] == [name for name, _ in found]


def test_sizes_found_with_the_inputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    data = _jsonl(50)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "plain.json").write_bytes(data)
    (tmp_path / "gz.log").write_bytes(gzip.compress(data))
    (tmp_path / "bz.log").write_bytes(bz2.compress(data))
    with zipfile.ZipFile(tmp_path / "a.zip", "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("m.json", data)
    size = {name: (tmp_path / name).stat().st_size for name in ("gz.log", "bz.log", "a.zip")}
    member = zipfile.ZipFile(tmp_path / "a.zip").getinfo("m.json")
    monkeypatch.chdir(tmp_path)
    found = list(discover_sized(["."]))
    # paths spelled as Path spells them ("sub/plain.json", not "./sub/plain.json"), as discover gives
    assert [(path, m, c) for path, m, c, _, _ in found] == [
        (str(f.path), f.member, f.compression) for f in discover(["."])
    ]
    assert [(path, disk, decoded) for path, _, _, disk, decoded in found] == [
        ("a.zip", member.compress_size, len(data)),
        ("bz.log", size["bz.log"], size["bz.log"] * BZ2_RATIO),
        ("gz.log", size["gz.log"], len(data)),  # the gzip ISIZE field
        ("sub/plain.json", len(data), len(data)),
    ]
    report = ReadReport()
    tasks = stream.plan(["sub", "gz.log"], report)
    assert [f.name for t in tasks for f in t.files] == ["sub/plain.json", "gz.log"]
    assert [report.files[n].bytes for n in ("sub/plain.json", "gz.log")] == [len(data), size["gz.log"]]


def test_sniff_compression():
    assert sniff_compression(gzip.compress(b"x")) == "gzip"
    assert sniff_compression(bz2.compress(b"x")) == "bz2"
    assert sniff_compression(b"PK\x03\x04rest") == "zip"
    assert sniff_compression(b"BZhello") is None
    assert sniff_compression(b"ElfFile\x00") is None


def test_missing_path_and_symlink_loop_are_warnings(tmp_path: Path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "x.json").write_bytes(_jsonl(1))
    os.symlink(tmp_path / "d", tmp_path / "d" / "loop")
    report = ReadReport()
    found = list(discover([tmp_path / "d", tmp_path / "absent"], report))
    assert [f.path.name for f in found] == ["x.json"]
    assert [(w.file, w.reason) for w in report.warnings] == [
        (str(tmp_path / "absent"), "no such file or folder")
    ]


def test_output_is_deterministic_and_the_same_with_one_or_two_workers(
    tmp_path: Path, dataset: Any, monkeypatch: pytest.MonkeyPatch
):
    evtx_root = dataset("evtx-attack-samples")
    files = sorted(evtx_root.rglob("*.evtx"))[:40]
    for i in range(3):
        (tmp_path / f"f{i}.json").write_bytes(_jsonl(7, 10 * i))
    inputs: list[Any] = [*files, tmp_path]
    monkeypatch.setattr(stream, "MIN_GROUP_BYTES", 1 << 20)  # several tasks, so the pool is used
    assert len(stream.plan(inputs, ReadReport())) > 4

    def run(workers: int, batch_size: int) -> tuple[list[pl.DataFrame], dict[str, Any]]:
        report = ReadReport()
        batches = list(read_paths(inputs, report, batch_size=batch_size, workers=workers))
        return batches, report.as_dict()

    one, report_one = run(1, 100)
    two, report_two = run(2, 100)
    again, _ = run(2, 100)
    assert report_one == report_two
    assert len(one) == len(two) == len(again) > 2
    for a, b, c in zip(one, two, again, strict=True):
        assert a.equals(b) and b.equals(c)
    assert all(batch.height <= 100 for batch in one)
    total = sum(b.height for b in one)
    assert total == report_one["records"] > 0


def only_sysmon(batch: pl.DataFrame) -> pl.DataFrame:
    """A transform for read_paths: module level, so worker processes can unpickle it by name."""
    return batch.filter(pl.col("source") == "windows.sysmon").select("source", "event_code", "event_ref")


def test_transform_runs_on_each_batch_in_the_workers(dataset: Any, monkeypatch: pytest.MonkeyPatch):
    files = sorted(dataset("evtx-attack-samples").rglob("*.evtx"))[:60]
    monkeypatch.setattr(stream, "MIN_GROUP_BYTES", 1 << 20)
    expected = pl.concat([only_sysmon(b) for b in read_paths(files, workers=1)])
    assert expected.height > 0
    for workers in (1, 2):
        report = ReadReport()
        got = pl.concat(list(read_paths(files, report, workers=workers, transform=only_sysmon)))
        assert got.equals(expected)
        assert report.records > got.height  # the report still counts every record read


def test_a_transform_that_cannot_be_pickled_fails_at_once_and_stops_the_workers(
    dataset: Any, monkeypatch: pytest.MonkeyPatch
):
    """The workers get their job through a queue; pickling it happens in the caller, so an error
    surfaces there (not in a queue's feeder thread, which would leave the caller waiting) and the
    workers started for it are stopped."""
    import multiprocessing
    import pickle

    files = sorted(dataset("evtx-attack-samples").rglob("*.evtx"))[:60]
    monkeypatch.setattr(stream, "MIN_GROUP_BYTES", 1 << 20)
    local = lambda batch: batch  # noqa: E731  # a lambda cannot be pickled by name
    with pytest.raises((pickle.PicklingError, AttributeError)):
        list(read_paths(files, workers=2, transform=local))
    assert multiprocessing.active_children() == []
