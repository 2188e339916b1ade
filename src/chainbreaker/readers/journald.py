"""systemd journal exports (``journalctl -o json``: one JSON object per line) into event batches.

Every journal field is kept as a string under its own name (``_HOSTNAME``, ``SYSLOG_IDENTIFIER``,
``_PID``, ``_UID``, ``_SYSTEMD_UNIT``...). ``MESSAGE`` (and any field) that journalctl wrote as an
array of byte values is decoded as UTF-8 (with replacement characters). The syslog fields are added
so both readers give the same columns: ``program`` (SYSLOG_IDENTIFIER, else _COMM), ``pid``
(SYSLOG_PID, else _PID), ``message``, ``facility``/``severity`` names, and the authentication
fields of chainbreaker.readers.authparse. Normalised: ``timestamp`` from ``__REALTIME_TIMESTAMP``
(microseconds since the epoch), ``host`` = ``_HOSTNAME``, ``process_pid`` = pid, ``source``
linux.auth / linux.syslog as for syslog, ``channel`` and ``provider`` = program.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import orjson
import polars as pl

from chainbreaker.events import conform
from chainbreaker.readers.authparse import auth_source, parse_messages, program_base
from chainbreaker.readers.base import DEFAULT_BATCH_SIZE, InputFile, Reader, ReadReport
from chainbreaker.readers.registry import register
from chainbreaker.readers.syslog import FACILITIES, SEVERITIES
from chainbreaker.readers.textlines import event_refs, iter_lines, json_objects, line_at, to_text

_JOURNAL_KEYS = re.compile(rb'"(?:__REALTIME_TIMESTAMP|__CURSOR|__MONOTONIC_TIMESTAMP)"\s*:')


def _value(value: Any) -> str | None:
    """A journal field value; byte arrays (non-UTF-8 or binary fields) are decoded."""
    if isinstance(value, list) and value and all(isinstance(b, int) and 0 <= b < 256 for b in value):
        return bytes(value).decode("utf-8", errors="replace")
    return to_text(value)


@register
class JournaldJsonReader(Reader):
    name = "journald-json"
    description = "systemd journal JSON export (journalctl -o json); MESSAGE parsed like syslog"
    priority = 25

    @classmethod
    def detect(cls, file: InputFile, head: bytes) -> bool:
        return head.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"{") and bool(
            _JOURNAL_KEYS.search(head[:4096])
        )

    def read(
        self, file: InputFile, report: ReadReport, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> Iterator[pl.DataFrame]:
        for first, lines in iter_lines(file, batch_size):
            rows: list[dict[str, str | None]] = []
            numbers: list[int] = []
            for number, obj in json_objects(file, report, first, lines):
                rows.append({key: _value(value) for key, value in obj.items()})
                numbers.append(number)
            if rows:
                report.count(file.name, len(rows))
                yield self._normalise(rows, file.name, numbers)

    @staticmethod
    def _normalise(rows: list[dict[str, str | None]], file_name: str, numbers: list[int]) -> pl.DataFrame:
        names: dict[str, None] = {}
        for row in rows:
            names.update(dict.fromkeys(row))
        frame = pl.from_dicts(rows, schema=dict.fromkeys(names, pl.String()))

        def original(*candidates: str) -> pl.Expr:
            present = [pl.col(c) for c in candidates if c in frame.columns]
            return pl.coalesce(present) if present else pl.lit(None, dtype=pl.String)

        micros = original("__REALTIME_TIMESTAMP", "_SOURCE_REALTIME_TIMESTAMP").cast(pl.Int64, strict=False)
        facility = original("SYSLOG_FACILITY").cast(pl.Int32, strict=False)
        severity = original("PRIORITY").cast(pl.Int32, strict=False)
        frame = frame.with_columns(
            (micros * 1000).cast(pl.Datetime("ns", "UTC")).alias("timestamp"),
            original("_HOSTNAME").alias("host"),
            original("SYSLOG_IDENTIFIER", "_COMM").alias("program"),
            original("SYSLOG_PID", "_PID").alias("pid"),
            original("MESSAGE").fill_null("").alias("message"),
            facility.replace_strict(list(range(len(FACILITIES))), FACILITIES, default=None).alias("facility"),
            severity.replace_strict(list(range(8)), SEVERITIES, default=None).alias("severity"),
            event_refs(file_name, numbers),
        )
        frame = parse_messages(frame)
        by_facility = pl.col("facility").is_in(["auth", "authpriv"]).fill_null(False)
        frame = frame.with_columns(
            pl.when(by_facility)
            .then(pl.lit("linux.auth"))
            .otherwise(auth_source(pl.col("program"), pl.col("message")))
            .alias("source"),
            program_base(pl.col("program")).alias("channel"),
            program_base(pl.col("program")).alias("provider"),
            pl.col("pid").alias("process_pid"),
        )
        return conform(frame)

    def fetch(self, file: InputFile, record: int) -> dict[str, Any] | None:
        line = line_at(file, record)
        try:
            obj = orjson.loads(line) if line and line.strip() else None
        except orjson.JSONDecodeError:
            return None
        if not isinstance(obj, dict):
            return None
        return {key: _value(value) for key, value in obj.items()}
