"""Suricata EVE JSON (one event per line, or a JSON array of events) into event batches.

Nested objects are flattened with dotted names (``alert.signature``, ``alert.metadata.
mitre_technique_id``, ``http.hostname``, ``dns.rrname``, ``tls.sni``, ``flow.bytes_toserver``).
Lists of scalars are joined with ``,`` (``alert.metadata.mitre_technique_id`` = ``T1071,T1573``);
lists holding objects (``dns.answers``) are kept as compact JSON text.

Normalised: ``timestamp``; ``source`` = ``suricata.<event_type>``; ``channel`` = event_type;
``provider`` = ``suricata``; ``src_ip``/``src_port``; ``dst_ip``/``dst_port`` from ``dest_ip``/
``dest_port``; ``host`` from the sensor's ``host`` field (also kept as ``raw.host``). Original
fields that share a normalised name (``timestamp``, ``src_ip``, ``src_port``, ``host``) are kept as
``raw.<name>``. ``event_ref.record`` is the line number for NDJSON and the 1-based position of the
element for JSON arrays.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import IO, Any

import orjson
import polars as pl

from chainbreaker.events import conform, original_column
from chainbreaker.readers.base import DEFAULT_BATCH_SIZE, InputFile, Reader, ReadReport
from chainbreaker.readers.registry import register
from chainbreaker.readers.textlines import (
    event_refs,
    flatten_json,
    iter_lines,
    json_objects,
    line_at,
    parse_timestamp,
    rows_frame,
)

_EVE_HEAD = re.compile(rb"^(?:\xef\xbb\xbf)?\s*[\[{]")
_EVENT_TYPE = re.compile(rb'"event_type"\s*:\s*"')
_TIMESTAMP = re.compile(rb'"timestamp"\s*:\s*"')
#: A JSON array element larger than this is reported as damaged instead of buffered further.
_MAX_ELEMENT = 64 << 20
_CHUNK = 1 << 20


def normalise(frame: pl.DataFrame, file_name: str, records: list[int]) -> pl.DataFrame:
    """Add the normalised columns to a frame of flattened EVE fields (all strings)."""
    frame = frame.rename({c: original_column(c) for c in frame.columns if original_column(c) != c})

    def original(name: str) -> pl.Expr:
        column = original_column(name)
        return pl.col(column) if column in frame.columns else pl.lit(None, dtype=pl.String)

    kind = original("event_type").fill_null("unknown")
    frame = frame.with_columns(
        (
            parse_timestamp(original_column("timestamp"))
            if "raw.timestamp" in frame.columns
            else pl.lit(None)
        ).alias("timestamp"),
        ("suricata." + kind).alias("source"),
        original("host").alias("host"),
        original("src_ip").alias("src_ip"),
        original("src_port").alias("src_port"),
        original("dest_ip").alias("dst_ip"),
        original("dest_port").alias("dst_port"),
        kind.alias("channel"),
        pl.lit("suricata").alias("provider"),
        event_refs(file_name, records),
    )
    return conform(frame)


@register
class SuricataEveReader(Reader):
    name = "suricata-eve"
    description = "Suricata EVE JSON (NDJSON or a JSON array): alert, flow, dns, http, tls, fileinfo, ..."
    priority = 30

    @classmethod
    def detect(cls, file: InputFile, head: bytes) -> bool:
        return bool(_EVE_HEAD.match(head) and _EVENT_TYPE.search(head) and _TIMESTAMP.search(head))

    def read(
        self, file: InputFile, report: ReadReport, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> Iterator[pl.DataFrame]:
        if file.head(64).removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"["):
            events = _array_events(file, report)
        else:
            events = _line_events(file, report)
        rows: list[dict[str, str | None]] = []
        numbers: list[int] = []
        for number, obj in events:
            rows.append(flatten_json(obj, {}))
            numbers.append(number)
            if len(rows) >= batch_size:
                yield self._batch(file, report, rows, numbers)
                rows, numbers = [], []
        if rows:
            yield self._batch(file, report, rows, numbers)

    @staticmethod
    def _batch(
        file: InputFile, report: ReadReport, rows: list[dict[str, str | None]], numbers: list[int]
    ) -> pl.DataFrame:
        report.count(file.name, len(rows))
        return normalise(rows_frame(rows), file.name, numbers)

    def fetch(self, file: InputFile, record: int) -> dict[str, Any] | None:
        if file.head(64).removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"["):
            for number, obj in _array_events(file, None):
                if number == record:
                    return obj
            return None
        line = line_at(file, record)
        try:
            parsed = orjson.loads(line) if line and line.strip() else None
        except orjson.JSONDecodeError:
            return None
        return parsed if isinstance(parsed, dict) else None


def _line_events(file: InputFile, report: ReadReport) -> Iterator[tuple[int, dict[str, Any]]]:
    for first, lines in iter_lines(file, 65_536):
        yield from json_objects(file, report, first, lines)


def _array_events(file: InputFile, report: ReadReport | None) -> Iterator[tuple[int, dict[str, Any]]]:
    """Stream the elements of a top-level JSON array with bounded memory.

    The stdlib decoder's ``raw_decode`` (C-accelerated) parses one element at a time from a sliding
    buffer; no maintained streaming JSON parser is among our dependencies.
    """
    decoder = json.JSONDecoder()
    with file.open() as raw:
        stream = _Utf8Chunks(raw)
        buffer = stream.read().lstrip("\ufeff \t\r\n")
        if not buffer.startswith("["):
            return
        pos, number, eof = 1, 0, False
        while True:
            pos = _skip_separators(buffer, pos)
            if pos >= len(buffer) and not eof:
                buffer, pos = buffer[pos:] + stream.read(), 0
                eof = stream.eof
                continue
            if pos >= len(buffer) or buffer[pos] == "]":
                return
            try:
                obj, end = decoder.raw_decode(buffer, pos)
            except json.JSONDecodeError as exc:
                if not eof and len(buffer) - pos < _MAX_ELEMENT:
                    buffer, pos = buffer[pos:] + stream.read(), 0
                    eof = stream.eof
                    continue
                number += 1
                if report is not None:
                    report.warn(file.name, number, f"invalid JSON array element: {exc.msg}")
                skip_to = _element_end(buffer, pos)
                if skip_to is None:  # brackets do not balance before the end: nothing more to trust
                    return
                pos = skip_to
                continue
            number += 1
            pos = end
            if isinstance(obj, dict):
                yield number, obj
            elif report is not None:
                report.warn(file.name, number, "invalid JSON array element: not an object")


def _element_end(buffer: str, start: int) -> int | None:
    """Position after the value starting at ``start``, by bracket depth (strings and escapes
    respected): how a damaged element is skipped so that reading resumes at the next one."""
    depth, in_string, escaped = 0, False, False
    for index in range(start, len(buffer)):
        char = buffer[index]
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
            if depth <= 0:
                return index + 1
    return None


def _skip_separators(buffer: str, pos: int) -> int:
    while pos < len(buffer) and buffer[pos] in " \t\r\n,":
        pos += 1
    return pos


class _Utf8Chunks:
    """Decoded text chunks of a byte stream, never splitting a multi-byte character."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self._rest = b""
        self.eof = False

    def read(self) -> str:
        data = self._raw.read(_CHUNK)
        if not data:
            self.eof = True
            text, self._rest = self._rest.decode("utf-8", errors="replace"), b""
            return text
        data = self._rest + data
        cut = len(data)
        while cut > 0 and len(data) - cut < 4 and (data[cut - 1] & 0xC0) == 0x80:
            cut -= 1
        if cut > 0 and data[cut - 1] >= 0xC0:
            cut -= 1
        self._rest = data[cut:]
        return data[:cut].decode("utf-8", errors="replace")
