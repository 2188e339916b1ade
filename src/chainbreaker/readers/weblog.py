"""Web server access logs: W3C extended (IIS) and Apache/Nginx common/combined, into event batches.

* ``web-w3c`` (source ``web.iis``): ``#Software``/``#Version``/``#Date``/``#Fields`` directives; a
  new ``#Fields`` line changes the layout for the lines after it; ``-`` is null; ``+`` in the user
  agent is a space (IIS writes spaces as ``+``). ``date``+``time`` are UTC (a log with only
  ``time`` takes its date from ``#Date``). ``cs(User-Agent)`` is stored as ``cs-user-agent``,
  ``cs(Referer)`` as ``cs-referer``, any ``cs(X)``/``sc(X)``/``s(X)`` as ``cs-x``/``sc-x``/``s-x``.
* ``web-access`` (source ``web.access``): ``host ident user [time] "request" status bytes``, the
  combined form's ``"referer" "agent"``, and up to three trailing extra fields (``extra``).
  The request is split into ``cs-method``, ``c-uri``, ``cs-version``, ``cs-uri-stem`` (before
  ``?``) and ``cs-uri-query`` (after it). A request with unescaped quotes (an attack payload) is
  still read when the line has no referer/agent after it.

Original fields use the names of Sigma's webserver taxonomy (``c-ip``, ``cs-username``,
``cs-method``, ``cs-uri-stem``, ``cs-uri-query``, ``sc-status``, ``cs-user-agent``,
``cs-referer``...), plus ``c-uri`` = stem + ``?`` + query for both formats. Normalised: ``src_ip``
= ``c-ip``, ``dst_ip``/``dst_port`` = ``s-ip``/``s-port``, ``user`` = ``cs-username``, ``host`` =
``s-computername`` (W3C) when logged. Written by hand: these formats are a regular expression or a
space split, and no maintained Python library reads both into columns.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import polars as pl

from chainbreaker.events import conform
from chainbreaker.readers.base import DEFAULT_BATCH_SIZE, InputFile, Reader, ReadReport
from chainbreaker.readers.registry import register
from chainbreaker.readers.textlines import (
    event_refs,
    head_lines,
    head_matches,
    iter_lines,
    line_at,
    parsed_lines,
)

_DIRECTIVES = ("#Software:", "#Version:", "#Date:", "#Fields:", "#Start-Date:", "#End-Date:", "#Remark:")

#: Normalised column -> the original field that fills it.
_NORMALISED = {
    "src_ip": "c-ip",
    "dst_ip": "s-ip",
    "dst_port": "s-port",
    "user": "cs-username",
    "host": "s-computername",
}

_QUOTED = r'"((?:[^"\\]|\\.)*)"'
#: Common and combined log formats (Apache %h %l %u %t "%r" %>s %b ["%{Referer}i" "%{User-agent}i"]).
ACCESS = (
    r"^(\S+) (\S+) (\S+) \[([^\]]+)\] " + _QUOTED + r" (\d{3}|-) (\d+|-)"
    r"(?: " + _QUOTED + " " + _QUOTED + r")?((?: \S+){0,3})\s*$"
)
#: The common form whose request holds unescaped quotes (``"GET /?q="><script> HTTP/1.1"``).
ACCESS_LOOSE = r"^(\S+) (\S+) (\S+) \[([^\]]+)\] \"(.*)\" (\d{3}|-) (\d+|-)\s*$"
_ACCESS_NAMES = ("c-ip", "ident", "cs-username", "time-local", "request", "sc-status", "sc-bytes")
_ACCESS_RE = re.compile(ACCESS)
_REQUEST = r"^([A-Za-z][A-Za-z_-]*) (\S+)(?: (\S+))?$"


def w3c_name(field: str) -> str:
    """``cs(User-Agent)`` -> ``cs-user-agent``; plain W3C names are lower-cased."""
    match = re.fullmatch(r"([a-z]+)\((.+)\)", field, flags=re.IGNORECASE)
    if match:
        return f"{match.group(1)}-{match.group(2)}".lower()
    return field.lower()


def _uri_columns() -> list[pl.Expr]:
    """``c-uri`` from stem and query (W3C), or stem and query from ``c-uri`` (access logs)."""
    stem, query = pl.col("cs-uri-stem"), pl.col("cs-uri-query")
    return [
        pl.when(query.is_not_null() & (query != ""))
        .then(pl.concat_str(stem.fill_null(""), pl.lit("?"), query))
        .otherwise(stem)
        .alias("c-uri")
    ]


def _normalise(frame: pl.DataFrame, source: str, channel: str, provider: str | None) -> pl.DataFrame:
    def original(name: str) -> pl.Expr:
        return pl.col(name) if name in frame.columns else pl.lit(None, dtype=pl.String)

    return conform(
        frame.with_columns(
            *(original(field).alias(column) for column, field in _NORMALISED.items()),
            pl.lit(source).alias("source"),
            pl.lit(channel).alias("channel"),
            pl.lit(provider, dtype=pl.String).alias("provider"),
        )
    )


@dataclass
class _Layout:
    fields: tuple[str, ...] = ()
    date: str | None = None  # from #Date, for logs without a date field
    software: str | None = None

    def directive(self, line: str) -> None:
        key, _, value = line.partition(":")
        value = value.strip()
        if key == "#Fields":
            self.fields = tuple(w3c_name(f) for f in value.split())
        elif key == "#Date":
            self.date = value.split()[0] if value else None
        elif key == "#Software":
            self.software = value or None


@register
class W3cReader(Reader):
    name = "web-w3c"
    description = "W3C extended web server logs (IIS W3SVC, #Fields headers, layout changes mid-file)"
    priority = 40

    @classmethod
    def detect(cls, file: InputFile, head: bytes) -> bool:
        lines = head_lines(head, 12)
        if not lines or not lines[0].startswith(_DIRECTIVES):
            return False
        return any(line.startswith("#Fields:") for line in lines)

    def read(
        self, file: InputFile, report: ReadReport, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> Iterator[pl.DataFrame]:
        layout = _Layout()
        for first, lines in iter_lines(file, batch_size):
            rows: list[str] = []
            numbers: list[int] = []
            for index, line in enumerate(lines):
                number = first + index
                if line.startswith("#"):
                    if line.startswith(_DIRECTIVES):
                        if rows:  # the lines so far belong to the previous header block
                            yield self._frame(file, report, layout, rows, numbers)
                            rows, numbers = [], []
                        layout.directive(line)
                    continue
                if not line.strip():
                    continue
                if not layout.fields:
                    report.warn(file.name, number, "no #Fields header: data line before any W3C header")
                    continue
                found = line.count(" ") + 1
                if found != len(layout.fields):
                    reason = f"bad field count: expected {len(layout.fields)}, found {found}"
                    report.warn(file.name, number, reason)
                    continue
                rows.append(line)
                numbers.append(number)
            if rows:
                yield self._frame(file, report, layout, rows, numbers)

    @staticmethod
    def _frame(
        file: InputFile,
        report: ReadReport,
        layout: _Layout,
        rows: list[str],
        numbers: list[int],
    ) -> pl.DataFrame:
        report.count(file.name, len(rows))
        frame = W3cReader.parse(layout.fields, rows, layout.date)
        return _normalise(frame, "web.iis", "w3c", layout.software).with_columns(
            event_refs(file.name, numbers)
        )

    @staticmethod
    def parse(fields: tuple[str, ...], rows: list[str], date: str | None) -> pl.DataFrame:
        """W3C data lines (``len(fields)`` space-separated values each) -> original columns."""
        names = list(dict.fromkeys(fields))  # a field logged twice keeps its first column
        index = {name: fields.index(name) for name in names}
        values = pl.Series("values", rows, dtype=pl.String).str.split(" ")
        frame = pl.DataFrame([values.list.get(index[name]).alias(name) for name in names])
        frame = frame.with_columns(pl.when(pl.col(n) != "-").then(pl.col(n)).alias(n) for n in names)
        if "cs-user-agent" in names:
            frame = frame.with_columns(pl.col("cs-user-agent").str.replace_all("+", " ", literal=True))
        for name in ("cs-uri-stem", "cs-uri-query"):
            if name not in names:
                frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(name))
        day = pl.col("date") if "date" in names else pl.lit(date, dtype=pl.String)
        clock = pl.col("time") if "time" in names else pl.lit(None, dtype=pl.String)
        stamp = pl.concat_str(day, pl.lit(" "), clock).str.to_datetime(
            "%Y-%m-%d %H:%M:%S%.f", strict=False, time_unit="ns", time_zone="UTC"
        )
        return frame.with_columns(*_uri_columns(), stamp.alias("timestamp"))

    def fetch(self, file: InputFile, record: int) -> dict[str, Any] | None:
        layout = _Layout()
        for first, lines in iter_lines(file, 65_536):
            for index, line in enumerate(lines):
                if line.startswith(_DIRECTIVES):
                    layout.directive(line)
                elif first + index == record:
                    values = line.split(" ")
                    if line.startswith("#") or len(values) != len(layout.fields):
                        return None
                    return dict(zip(layout.fields, values, strict=True))
        return None


@register
class AccessLogReader(Reader):
    name = "web-access"
    description = "Apache/Nginx access logs (common, combined, with trailing extra fields)"
    priority = 55

    @classmethod
    def detect(cls, file: InputFile, head: bytes) -> bool:
        return head_matches(head, [_ACCESS_RE])

    def read(
        self, file: InputFile, report: ReadReport, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> Iterator[pl.DataFrame]:
        reason = "not an access log line: no common/combined layout"
        for good in parsed_lines(file, report, batch_size, self.parse, pl.col("__ok"), reason):
            yield _normalise(good.drop("__ok"), "web.access", "access", None)

    @staticmethod
    def parse(lines: list[str]) -> pl.DataFrame:
        """Parse lines (vectorised); ``__ok`` is false for lines of neither form."""
        frame = pl.DataFrame({"__line": pl.Series(lines, dtype=pl.String)}).with_columns(
            pl.col("__line").str.extract_groups(ACCESS).alias("__strict"),
            pl.col("__line").str.extract_groups(ACCESS_LOOSE).alias("__loose"),
        )

        def group(index: int) -> pl.Expr:
            strict = pl.col("__strict").struct[index]
            if index >= len(_ACCESS_NAMES):
                return strict
            return pl.coalesce(strict, pl.col("__loose").struct[index])

        def nil(expr: pl.Expr) -> pl.Expr:
            return pl.when(expr != "-").then(expr)

        frame = frame.with_columns(
            *(nil(group(i)).alias(name) for i, name in enumerate(_ACCESS_NAMES) if name != "request"),
            group(4).alias("request"),
            nil(group(7)).alias("cs-referer"),
            nil(group(8)).alias("cs-user-agent"),
            pl.when(group(9) != "").then(group(9).str.strip_chars()).alias("extra"),
            pl.coalesce(pl.col("__strict").struct[0], pl.col("__loose").struct[0])
            .is_not_null()
            .alias("__ok"),
        )
        request = pl.col("request").str.extract_groups(_REQUEST)
        frame = frame.with_columns(
            request.struct[0].alias("cs-method"),
            request.struct[1].alias("c-uri"),
            request.struct[2].alias("cs-version"),
        )
        uri = pl.col("c-uri").str.splitn("?", 2)
        return frame.with_columns(
            uri.struct[0].alias("cs-uri-stem"),
            uri.struct[1].alias("cs-uri-query"),
            pl.col("time-local")
            .str.to_datetime("%d/%b/%Y:%H:%M:%S %z", strict=False, time_unit="ns")
            .dt.convert_time_zone("UTC")
            .alias("timestamp"),
        ).drop("__strict", "__loose")

    def fetch(self, file: InputFile, record: int) -> dict[str, Any] | None:
        line = line_at(file, record)
        if line is None:
            return None
        row = self.parse([line]).row(0, named=True)
        if not row["__ok"]:
            return None
        out = {k: v for k, v in row.items() if v is not None and not k.startswith("__")}
        out["line"] = line
        return out
