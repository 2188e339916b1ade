"""Windows EVTX files, parsed by the ``evtx`` package (Rust) and flattened to Sigma field names.

Damage never stops a file: the parser runs with ``skip_errors=True`` and every record or chunk it
skips (reported as a Python ``RuntimeWarning``) becomes a counted :class:`ReadWarning`. A file cut
short (fewer chunks than its header announces, or a partial last chunk) is detected from the file
header and warned about, with the lost records estimated from the header's next record id.

Records are flattened by the compiled ``_evtxflat`` extension when it is built (``setup.py``;
optional, so a machine without a compiler still installs): it parses each record's JSON in C and
emits exactly the lists the Python path (orjson + :func:`flatten_event`) builds, and hands any
record it does not take (invalid JSON, duplicate keys, odd shapes) to that Python path, errors
included. ``CHAINBREAKER_PURE_PYTHON=1`` forces the Python path (tests, comparisons).
"""

from __future__ import annotations

import io
import os
import re
import struct
import warnings
from collections.abc import Iterator
from typing import IO, Any, ClassVar

import orjson
import polars as pl
from evtx import PyEvtxParser

from chainbreaker.readers.base import InputFile, ReadReport
from chainbreaker.readers.registry import register
from chainbreaker.readers.windows_fields import (
    FILE,
    RECORD,
    Rows,
    WindowsReader,
    flatten_event,
    frame_columns,
)

try:
    from chainbreaker.readers import _evtxflat  # type: ignore[attr-defined]
except ImportError:  # not built (no compiler at install time): the Python path
    _evtxflat = None

#: The compiled flattening, unless missing or disabled by ``CHAINBREAKER_PURE_PYTHON=1``.
NATIVE: Any = (
    _evtxflat
    if _evtxflat is not None
    and os.environ.get("CHAINBREAKER_PURE_PYTHON", "") in ("", "0")
    and (_evtxflat.FILE, _evtxflat.RECORD) == (FILE, RECORD)
    else None
)

MAGIC = b"ElfFile\x00"
HEADER_SIZE = 4096
CHUNK_SIZE = 65536

_RANGE = re.compile(r"record IDs (\d+)\.\.(\d+)")
_RECORD = re.compile(r"record number (\d+)")
_CHUNK = re.compile(r"chunk number (\d+)")


@register
class EvtxReader(WindowsReader):
    name = "evtx"
    description = "Windows event log files (.evtx), via the evtx package; Sigma field names"
    priority = 10

    #: Rust worker threads per file; 0 lets the library decide. The process pool sets 1 per worker.
    threads: ClassVar[int] = 0

    @classmethod
    def detect(cls, file: InputFile, head: bytes) -> bool:
        return head.startswith(MAGIC)

    def fill(self, file: InputFile, report: ReadReport, rows: Rows, batch_size: int) -> Iterator[None]:
        name = file.name
        try:
            source, header = _source(file)
            parser = PyEvtxParser(source, number_of_threads=self.threads, skip_errors=True)
            records: Iterator[Any] = iter(parser.records_json())
        except (OSError, RuntimeError, ValueError) as exc:
            report.warn(name, None, f"unreadable EVTX: {exc}", skipped=0)
            return
        if NATIVE is not None and rows.columnar is None:
            rows.columnar = _NativeColumns()
        last_id = 0
        done = False
        while not done:
            before = rows.rows
            # Warnings are caught around the pulls only, never across a yield to the caller.
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    last_id, done = _fill(records, rows, batch_size, last_id, name)
                except (RuntimeError, OSError, ValueError) as exc:
                    report.warn(name, f"after record {last_id}", f"EVTX parse stopped: {exc}", skipped=0)
                    done = True
            for item in caught:
                _warn_skipped(report, file, str(item.message))
            report.count(name, rows.rows - before)
            if rows.rows >= batch_size:
                yield
        _check_truncation(report, name, header, last_id)

    def fetch(self, file: InputFile, record: int) -> dict[str, Any] | None:
        source, _ = _source(file)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parser = PyEvtxParser(source, number_of_threads=self.threads, skip_errors=True)
            item: Any
            for item in parser.records_json():
                event = orjson.loads(item["data"])
                system = (event.get("Event") or {}).get("System") or {}
                if system.get("EventRecordID", item["event_record_id"]) == record:
                    return event
        return None


def _fill(records: Iterator[Any], rows: Rows, batch_size: int, last_id: int, name: str) -> tuple[int, bool]:
    """Pull records into ``rows`` until it holds ``batch_size``; returns (last header record id, done)."""
    if NATIVE is not None:
        batch = rows.columnar.batch if isinstance(rows.columnar, _NativeColumns) else None
        result: tuple[int, bool] = NATIVE.fill(records, rows, batch, batch_size, last_id, name, _flatten_item)
        return result
    add = rows.add
    for item in records:
        keys, values = _flatten_item(item, name)
        last_id = item["event_record_id"]
        add(keys, values)
        if rows.rows >= batch_size:
            return last_id, False
    return last_id, True


def _flatten_item(item: Any, name: str) -> tuple[list[str], list[Any]]:
    """One record flattened in Python: the pure Python path, and every record the compiled path
    hands back."""
    event = orjson.loads(item["data"]).get("Event") or {}
    keys = [FILE, RECORD]
    values: list[Any] = [name, (event.get("System") or {}).get("EventRecordID", item["event_record_id"])]
    flatten_event(event, keys, values)
    return keys, values


class _NativeColumns:
    """The rows of a batch as the compiled path keeps them: per channel, one Arrow string view
    column per field (no Python str per value, and the groups' buffers are not copied), handed to
    Polars through the Arrow PyCapsule interface; the frames have the column names, order and types
    of :meth:`Rows.take` (the channel's field lists stacked, as ``pl.concat(how="diagonal")``)."""

    __slots__ = ("batch",)

    def __init__(self) -> None:
        self.batch = NATIVE.Batch()

    def take(self) -> list[pl.DataFrame]:
        out = []
        for _channel, records, columns in self.batch.take(frame_columns):
            frame = pl.DataFrame(columns)
            # RECORD is column 1 of every field list (evtx._fill), never renamed by frame_columns
            frame.insert_column(1, pl.Series(RECORD, records, dtype=pl.Int64))
            out.append(frame)
        return out


def _source(file: InputFile) -> tuple[str | IO[bytes], bytes]:
    """What PyEvtxParser opens (a path, or the decompressed bytes of an archived file) and the header.

    A plain file's header and size come from :meth:`InputFile.head_and_size`: a
    :class:`~chainbreaker.readers.base.SniffedFile` (the stream's inputs) answers from its sniff
    without opening the file; any other input reads them with one ``pread`` and ``fstat``."""
    if file.is_plain_file:
        header, size = file.head_and_size(HEADER_SIZE)
        if size is not None:
            return str(file.path), header + _size_marker(size)
        with open(file.path, "rb") as stream:  # unreadable: raises the error the caller reports
            header = stream.read(HEADER_SIZE)
        return str(file.path), header + _size_marker(file.path.stat().st_size)
    with file.open() as stream:
        data = stream.read()
    return io.BytesIO(data), data[:HEADER_SIZE] + _size_marker(len(data))


def _size_marker(size: int) -> bytes:
    """The file size, appended after the header bytes so the truncation check needs one value."""
    return struct.pack("<Q", size)


def _header_fields(header: bytes) -> tuple[int, int, int] | None:
    """(announced chunk count, next record id, file size) from a complete header, else None."""
    if len(header) < HEADER_SIZE + 8:
        return None
    next_record = struct.unpack_from("<Q", header, 24)[0]
    chunks = struct.unpack_from("<H", header, 42)[0]
    size = struct.unpack_from("<Q", header, HEADER_SIZE)[0]
    return chunks, next_record, size


def _warn_skipped(report: ReadReport, file: InputFile, message: str) -> None:
    """Turn one evtx skip warning into a counted ReadWarning (how many records it cost, where)."""
    name = file.name
    reason = message.removeprefix("Skipping EVTX data: ").removeprefix("RuntimeError: ")
    found = _RANGE.search(message)
    if found:
        first, last = int(found.group(1)), int(found.group(2))
        report.warn(name, f"records {first}..{last}", f"damaged chunk: {reason}", skipped=last - first + 1)
        return
    found = _RECORD.search(message)
    if found:
        report.warn(name, f"record {found.group(1)}", f"damaged record: {reason}")
        return
    found = _CHUNK.search(message)
    if found:
        ids = _chunk_ids(file, int(found.group(1)))
        lost = ids[1] - ids[0] + 1 if ids else 0
        where = f"chunk {found.group(1)}" + (
            f" (records {ids[0]}..{ids[1]})" if ids else " (record count unknown)"
        )
        report.warn(name, where, f"damaged chunk: {reason}", skipped=lost)
        return
    report.warn(name, None, f"damaged data: {reason}", skipped=0)


def _chunk_ids(file: InputFile, chunk: int) -> tuple[int, int] | None:
    """First and last record ids a damaged chunk's header announces, when they look sane."""
    offset = HEADER_SIZE + chunk * CHUNK_SIZE
    try:
        with file.open() as stream:
            stream.seek(offset) if file.is_plain_file else stream.read(offset)
            head = stream.read(40)
    except OSError:
        return None
    if len(head) < 40:
        return None
    first, last = struct.unpack_from("<QQ", head, 24)
    return (first, last) if 0 < first <= last < first + CHUNK_SIZE // 16 else None


def _check_truncation(report: ReadReport, name: str, header: bytes, last_id: int) -> None:
    """Warn when the file holds fewer chunks than announced, or ends inside a chunk past them while
    records the header counts are missing (a file cut inside its unused, preallocated chunk space
    lost nothing: no warning)."""
    fields = _header_fields(header)
    if fields is None:
        return
    chunks, next_record, size = fields
    present, partial = divmod(max(size - HEADER_SIZE, 0), CHUNK_SIZE)
    lost = max(next_record - 1 - last_id, 0) if last_id else 0
    if present >= chunks and not (partial and lost):
        return
    where = f"{present} of {chunks} chunks complete" if present < chunks else f"ends in chunk {present + 1}"
    report.warn(
        name,
        f"byte {HEADER_SIZE + present * CHUNK_SIZE}",
        f"truncated file: {where}; about {lost} records after record {last_id} lost",
        skipped=lost,
    )
