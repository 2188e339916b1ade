"""The two paths of readers/_evtxflat.c that only huge inputs reach, reached with lowered limits.

1. A string view column's data buffers are split where an offset would pass 2 GiB of strings;
   ``_set_limits(split_bytes=...)`` lowers that to a few bytes.
2. Views buffers are mapped (mmap) from 64 KiB, at most 4,096 at once, heap memory past that;
   ``_set_limits(max_mapped=..., map_bytes=...)`` maps small buffers and lowers the cap, and
   ``_mapped_live()`` counts the mappings alive.

Each test reads real EVTX files with the lowered limits and with the defaults and compares what
Polars gets, so a wrong split or a wrong heap fallback shows as a different frame; the mapping
count shows which path each buffer took and that dropping the frames releases every one of them.
"""

from __future__ import annotations

import gc
import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from chainbreaker.readers import ReadReport, read_paths
from chainbreaker.readers import evtx as evtx_module
from chainbreaker.readers.windows_fields import Rows

native = pytest.importorskip("chainbreaker.readers._evtxflat", reason="C extension not built")
pa = pytest.importorskip("pyarrow")

DEFAULTS = (2**31 - 1, 4096, 65536)  # split_bytes, max_mapped, map_bytes
VIEW_INLINE = 12  # a view holds values up to 12 bytes itself; longer ones point into a data buffer

SetLimits = Callable[..., None]


@pytest.fixture(scope="module")
def evtx_files(dataset: Any) -> list[Path]:
    files = sorted(dataset("evtx-attack-samples").rglob("*.evtx"))
    # a spread of sizes and channels (Sysmon, Security, PowerShell, System...), and the largest
    return [*files[::10], max(files, key=lambda p: p.stat().st_size)]


@pytest.fixture
def limits(monkeypatch: pytest.MonkeyPatch) -> Iterator[SetLimits]:
    """Sets limits for one test; the defaults are back afterwards, whatever the test did."""
    monkeypatch.setattr(evtx_module, "NATIVE", native)  # also under CHAINBREAKER_PURE_PYTHON=1
    previous = native._set_limits()
    assert previous == DEFAULTS  # no other test left its limits behind

    def set_limits(**values: int) -> None:
        native._set_limits(**values)

    try:
        yield set_limits
    finally:
        native._set_limits(*previous)


def _read(paths: list[Path], batch_size: int) -> list[pl.DataFrame]:
    return list(read_paths(paths, ReadReport(), batch_size=batch_size, workers=1))


def _assert_same_frames(got: list[pl.DataFrame], want: list[pl.DataFrame]) -> None:
    assert len(got) == len(want)
    for a, b in zip(got, want, strict=True):
        assert_frame_equal(a, b)  # names, order, dtypes, values and nulls
        assert a.equals(b)


def _data_buffers(frames: list[pl.DataFrame]) -> int:
    """The variadic data buffers of every string column, as Polars holds them."""
    total = 0
    for frame in frames:
        for name, dtype in frame.schema.items():
            if dtype == pl.String:
                array = frame[name].to_arrow(compat_level=pl.CompatLevel.newest())
                assert array.type == pa.string_view()
                total += len(array.buffers()) - 2  # validity and views come first
    return total


def _columns(path: Path) -> dict[tuple[str, str], Any]:
    """Every column the extension builds for one file in one batch, imported as pyarrow arrays."""
    from evtx import PyEvtxParser

    batch, rows = native.Batch(), Rows()
    records = iter(PyEvtxParser(str(path)).records_json())
    native.fill(records, rows, batch, 10**9, 0, path.name, evtx_module._flatten_item)
    out = {}
    for channel, _records, columns in batch.take(evtx_module.frame_columns):
        array = pa.Array._import_from_c_capsule(*columns.__arrow_c_array__())
        for i, field in enumerate(array.type):
            out[(channel, field.name)] = array.field(i)
    return out


def _views(column: Any) -> list[tuple[int, int, int]]:
    """(length, data buffer index, offset) of each non-null value longer than a view holds."""
    valid = column.is_valid().to_pylist()
    views = struct.iter_unpack("<iiii", column.buffers()[1])
    return [
        (length, index, offset)
        for ok, (length, _prefix, index, offset) in zip(valid, views, strict=False)
        if ok and length > VIEW_INLINE
    ]


# --- 1. data buffers split at split_bytes ----------------------------------------------------


def test_set_limits_returns_the_previous_values_and_checks_them(limits: SetLimits) -> None:
    assert native._set_limits(split_bytes=100) == DEFAULTS
    assert native._set_limits(max_mapped=0, map_bytes=0) == (100, 4096, 65536)
    assert native._set_limits() == (100, 0, 0)  # None keeps a value
    for bad in ({"split_bytes": 0}, {"split_bytes": 2**31}, {"max_mapped": -1}, {"map_bytes": -1}):
        with pytest.raises(ValueError, match="split_bytes must be"):
            native._set_limits(**bad)
    assert native._set_limits(*DEFAULTS) == (100, 0, 0)  # a refused call changed nothing


@pytest.mark.parametrize("split_bytes", [1, 13, 300])
def test_frames_with_split_data_buffers_equal_the_defaults(
    evtx_files: list[Path], limits: SetLimits, split_bytes: int
) -> None:
    want = _read(evtx_files, 997)
    limits(split_bytes=split_bytes)
    got = _read(evtx_files, 997)
    _assert_same_frames(got, want)
    # the split happened: Polars holds more data buffers than with one buffer per group column
    assert _data_buffers(got) > 2 * _data_buffers(want)


@pytest.mark.parametrize("split_bytes", [1, 64, 300])
def test_split_buffers_hold_at_most_split_bytes_or_one_value(
    evtx_files: list[Path], limits: SetLimits, split_bytes: int
) -> None:
    path = max(evtx_files, key=lambda p: p.stat().st_size)
    want = _columns(path)
    limits(split_bytes=split_bytes)
    got = _columns(path)
    assert got.keys() == want.keys()
    splits = 0
    for key, column in got.items():
        assert column.to_pylist() == want[key].to_pylist(), key
        data = column.buffers()[2:]
        held: dict[int, list[tuple[int, int]]] = {}
        for length, index, offset in _views(column):
            assert 0 <= index < len(data) and offset >= 0 and offset + length <= data[index].size
            held.setdefault(index, []).append((offset, length))
        assert sorted(held) == list(range(len(data)))  # every buffer is used
        for index, values in held.items():
            end = max(offset + length for offset, length in values)
            # a buffer starts with its first value and ends with its last one
            assert min(offset for offset, _ in values) == 0 and end == data[index].size
            assert end <= split_bytes or len(values) == 1, (key, index, values)
        if split_bytes < VIEW_INLINE + 1:  # every long value starts a buffer of its own
            assert len(data) == len(_views(column))
        splits += len(data) - len(want[key].buffers()[2:])
    assert splits > 0


# --- 2. views buffers from the heap past max_mapped ------------------------------------------


@pytest.mark.parametrize("extra", [0, 1, 5])
def test_views_past_the_mapping_cap_come_from_the_heap(
    evtx_files: list[Path], limits: SetLimits, extra: int
) -> None:
    want = _read(evtx_files, 50)
    gc.collect()
    start = native._mapped_live()  # other tests' frames may still hold mappings
    limits(map_bytes=0, max_mapped=start + extra)  # every views buffer would be mapped, but for the cap
    got = []
    for frame in read_paths(evtx_files, ReadReport(), batch_size=50, workers=1):
        got.append(frame)
        assert native._mapped_live() <= start + extra
    columns = sum(frame.width for frame in got)
    assert len(got) > 20 and columns > 10 * (extra + 1)  # many batches alive, most columns on the heap
    assert native._mapped_live() == start + extra  # the first ones were mapped, up to the cap
    _assert_same_frames(got, want)
    del got
    gc.collect()
    assert native._mapped_live() == start  # each buffer was released the way it was allocated


def test_mapped_views_are_unmapped_when_the_frames_go(evtx_files: list[Path], limits: SetLimits) -> None:
    want = _read(evtx_files, 50)
    gc.collect()
    start = native._mapped_live()
    limits(map_bytes=0, max_mapped=10**6)  # every views buffer mapped
    got = _read(evtx_files, 50)
    mapped = native._mapped_live() - start
    assert mapped > 100
    _assert_same_frames(got, want)
    half = len(got) // 2
    del got[:half]
    gc.collect()
    assert start < native._mapped_live() < start + mapped  # the dropped frames' buffers only
    del got
    gc.collect()
    assert native._mapped_live() == start
