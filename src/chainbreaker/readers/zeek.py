"""Zeek logs, TSV (``#fields`` headers) and JSON (NDJSON), into chainbreaker event batches.

Normalised columns: ``timestamp`` from ``ts`` (epoch seconds or ISO 8601), ``source`` =
``zeek.<path>``, ``channel`` = path, ``provider`` = ``zeek``, ``src_ip``/``src_port``/``dst_ip``/
``dst_port`` from ``id.orig_h``/``id.orig_p``/``id.resp_h``/``id.resp_p``, ``user`` where the log
names an account (zeek_kinds.USER_FIELDS), ``host`` null (correlation learns IP -> host).
The path comes from ``#path`` (TSV), ``_path`` or ``@stream`` (JSON), else from the field set.
Every original field is kept as a string under its Zeek name (``id_orig_h`` is stored as
``id.orig_h``, the name Sigma rules use); names that collide with normalised columns (http
``host``, files ``source``, ftp ``user``) become ``raw.<name>``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePath
from typing import Any

import orjson
import polars as pl

from chainbreaker.events import conform, original_column
from chainbreaker.readers.base import DEFAULT_BATCH_SIZE, InputFile, Reader, ReadReport
from chainbreaker.readers.registry import register
from chainbreaker.readers.textlines import (
    event_refs,
    flatten_json,
    head_lines,
    iter_lines,
    json_objects,
    line_at,
    ndjson_frame,
    parse_timestamp,
    rows_frame,
)
from chainbreaker.readers.zeek_kinds import UNDERSCORE_IDS, USER_FIELDS, guess_path, looks_like_zeek_record
from chainbreaker.readers.zeek_tsv import Layout, headerless_layout, is_header, split_lines


def path_from_name(file: InputFile) -> str | None:
    """Fallback log path from a file name: ``conn.16:00:00-17:00:00.log.gz`` -> ``conn``."""
    stem = PurePath(file.member or file.path).name.split(".", 1)[0].lower()
    stem = stem.removeprefix("open_")  # Zeek's name for logs of still-open connections
    return stem if stem.replace("_", "").isalnum() and stem.isascii() else None


def normalise(frame: pl.DataFrame, path: pl.Expr, file_name: str, records: pl.Series) -> pl.DataFrame:
    """Add the normalised columns to a frame of original Zeek fields (all strings)."""
    frame = frame.rename(
        {
            c: UNDERSCORE_IDS[c]
            for c in frame.columns
            if c in UNDERSCORE_IDS and UNDERSCORE_IDS[c] not in frame.columns
        }
    )
    frame = frame.rename({c: original_column(c) for c in frame.columns if original_column(c) != c})
    frame = frame.with_columns(path.alias("__path"))
    user: pl.Expr = pl.lit(None, dtype=pl.String)
    for log, name in USER_FIELDS.items():
        column = original_column(name)
        if column in frame.columns:
            user = pl.when(pl.col("__path") == log).then(pl.col(column)).otherwise(user)

    def original(name: str) -> pl.Expr:
        return pl.col(name) if name in frame.columns else pl.lit(None, dtype=pl.String)

    frame = frame.with_columns(
        (parse_timestamp("ts") if "ts" in frame.columns else pl.lit(None)).alias("timestamp"),
        ("zeek." + pl.col("__path")).alias("source"),
        user.alias("user"),
        original("id.orig_h").alias("src_ip"),
        original("id.orig_p").alias("src_port"),
        original("id.resp_h").alias("dst_ip"),
        original("id.resp_p").alias("dst_port"),
        pl.col("__path").alias("channel"),
        pl.lit("zeek").alias("provider"),
        event_refs(file_name, records),
    )
    return conform(frame.drop("__path"))


@register
class ZeekTsvReader(Reader):
    name = "zeek-tsv"
    description = "Zeek ASCII logs with #separator/#fields headers (any log kind, several header blocks)"
    priority = 20

    @classmethod
    def detect(cls, file: InputFile, head: bytes) -> bool:
        lines = head_lines(head, 12)
        if lines and all(headerless_layout(line) for line in lines[:5]):
            return True
        if not lines or not lines[0].lstrip(" \t").startswith("#separator"):
            return False
        return any(line.startswith("#fields") for line in lines) or len(head) >= 8192

    def read(
        self, file: InputFile, report: ReadReport, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> Iterator[pl.DataFrame]:
        layout = Layout()
        fallback = path_from_name(file) or "unknown"
        for first, lines in iter_lines(file, batch_size):
            start = 0
            if first == 1 and lines and not is_header(lines[0]):
                assumed = headerless_layout(lines[0])
                if assumed is not None:
                    layout = assumed
                    reason = (
                        "no Zeek header: field names assumed from the first line (Zeek's default conn layout)"
                    )
                    report.warn(file.name, 1, reason, skipped=0)
            for index, line in enumerate(lines):
                if is_header(line):
                    yield from self._segment(
                        file, report, layout, fallback, first + start, lines[start:index]
                    )
                    layout = layout.with_header(line)
                    start = index + 1
            yield from self._segment(file, report, layout, fallback, first + start, lines[start:])

    def _segment(
        self, file: InputFile, report: ReadReport, layout: Layout, fallback: str, first: int, lines: list[str]
    ) -> Iterator[pl.DataFrame]:
        if not any(line.strip() for line in lines):
            return
        if not layout.fields:
            for i, line in enumerate(lines):
                if line.strip():
                    report.warn(file.name, first + i, "no #fields header: data line before any Zeek header")
            return
        frame, bad = split_lines(layout, lines)
        for i in bad:
            if lines[i].strip():
                found = lines[i].count(layout.separator) + 1
                report.warn(
                    file.name, first + i, f"bad field count: expected {len(layout.fields)}, found {found}"
                )
        if frame.height == 0:
            return
        records = (frame.get_column("at").cast(pl.Int64) + first).alias("record")
        path = layout.path or guess_path(layout.fields) or fallback
        report.count(file.name, frame.height)
        yield normalise(frame.drop("at"), pl.lit(path), file.name, records)

    def fetch(self, file: InputFile, record: int) -> dict[str, Any] | None:
        layout = Layout()
        for first, lines in iter_lines(file, 65_536):
            if first == 1 and lines and not is_header(lines[0]):
                layout = headerless_layout(lines[0]) or layout
            for index, line in enumerate(lines):
                if first + index == record:
                    if is_header(line) or not layout.fields:
                        return None
                    values = line.split(layout.separator)
                    out: dict[str, Any] = dict(zip(layout.fields, values, strict=False))
                    if layout.path:
                        out["_path"] = layout.path
                    return out
                if is_header(line):
                    layout = layout.with_header(line)
        return None


@register
class ZeekJsonReader(Reader):
    name = "zeek-json"
    description = "Zeek JSON logs (NDJSON; _path/@stream or kind guessed from the fields; ts epoch or ISO)"
    priority = 30

    @classmethod
    def detect(cls, file: InputFile, head: bytes) -> bool:
        for line in head_lines(head, 3):
            if not line.lstrip().startswith("{"):
                return False
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError:
                return False
            if not isinstance(obj, dict):
                return False
            return looks_like_zeek_record(obj) or _is_loaded_scripts(obj)
        return False

    def read(
        self, file: InputFile, report: ReadReport, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> Iterator[pl.DataFrame]:
        guessed: str | None = None
        for first, lines in iter_lines(file, batch_size):
            numbers = [first + i for i, line in enumerate(lines) if line.strip()]
            if not numbers:
                continue
            fast = ndjson_frame(lines if len(numbers) == len(lines) else [lines[n - first] for n in numbers])
            if fast is not None:
                frame = fast
            else:
                frame, numbers = self._line_by_line(file, report, first, lines)
                if not numbers:
                    continue
            if guessed is None:
                guessed = guess_path(frame.columns) or path_from_name(file) or "unknown"
            tags = [pl.col(c) for c in ("_path", "@stream") if c in frame.columns]
            path = pl.coalesce([*tags, pl.lit(guessed)])
            report.count(file.name, frame.height)
            yield normalise(frame, path, file.name, pl.Series("record", numbers, dtype=pl.Int64))

    @staticmethod
    def _line_by_line(
        file: InputFile, report: ReadReport, first: int, lines: list[str]
    ) -> tuple[pl.DataFrame, list[int]]:
        """The slow path for a batch with damaged lines: each bad line is a counted warning."""
        rows: list[dict[str, str | None]] = []
        numbers: list[int] = []
        for number, obj in json_objects(file, report, first, lines):
            rows.append(flatten_json(obj, {}))
            numbers.append(number)
        return rows_frame(rows), numbers

    def fetch(self, file: InputFile, record: int) -> dict[str, Any] | None:
        line = line_at(file, record)
        if not line or not line.strip():
            return None
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            return None
        return obj if isinstance(obj, dict) else None


def _is_loaded_scripts(obj: dict[str, Any]) -> bool:
    """Zeek's loaded_scripts.log in JSON has only a script path: ``{"name": ".../init-bare.zeek"}``."""
    name = obj.get("name")
    return set(obj) == {"name"} and isinstance(name, str) and name.strip().endswith((".zeek", ".bro"))
