"""Linux syslog and auth.log: RFC 3164 (``Mmm dd hh:mm:ss host prog[pid]: msg``, optional ``<PRI>``),
RFC 5424 (``<PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD] MSG``) and the RFC 3339 variant rsyslog writes
by default on current distributions (``2024-03-01T10:00:00.123456+01:00 host prog[pid]: msg``).

RFC 3164 lines carry no year and no zone. The reader takes ``year`` (default: the year of the
file's modification time; a line whose month is later than that month is taken from the year
before, as a log that runs over New Year) and ``tz`` (default UTC) for them.

Fields: ``program``, ``pid``, ``message``, ``priority``/``facility``/``severity`` (when a PRI is
present), ``msgid``/``structured_data`` (RFC 5424), plus the authentication fields of
chainbreaker.readers.authparse. Normalised: ``host`` = the syslog hostname, ``process_pid`` = pid,
``source`` = ``linux.auth`` for authentication programs (else ``linux.syslog``), ``channel`` and
``provider`` = program. Each line matching none of the three forms is a counted warning.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial
from typing import Any

import polars as pl

from chainbreaker.events import conform
from chainbreaker.readers.authparse import auth_source, parse_messages, program_base
from chainbreaker.readers.base import DEFAULT_BATCH_SIZE, InputFile, Reader, ReadReport
from chainbreaker.readers.registry import register
from chainbreaker.readers.textlines import head_matches, line_at, parse_timestamp, parsed_lines

_TAG = r"(?:(?P<program>[^:\[\s]+(?:\([^)\s]*\))?)(?:\[(?P<pid>\d+)\])?: ?)?(?P<message>.*)$"
RFC3164 = (
    r"^(?:<(?P<pri>\d{1,3})>)?(?P<month>[A-Z][a-z]{2}) {1,2}(?P<day>\d{1,2}) (?P<time>\d\d:\d\d:\d\d)"
    r" (?P<host>\S+) " + _TAG
)
RFC3339 = (
    r"^(?:<(?P<pri>\d{1,3})>)?(?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?)"
    r" (?P<host>\S+) " + _TAG
)
RFC5424 = (
    r"^<(?P<pri>\d{1,3})>1 (?P<ts>\S+) (?P<host>\S+) (?P<program>\S+) (?P<pid>\S+) (?P<msgid>\S+)"
    r" (?P<sd>-|(?:\[(?:[^\]\\]|\\.)*\])+)(?: \x{FEFF}?(?P<message>.*))?$"
)
_FORMS = tuple(re.compile(p.replace(r"\x{FEFF}", "\ufeff")) for p in (RFC5424, RFC3339, RFC3164))

FACILITIES = (
    *("kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp"),
    *("ntp", "security", "console", "solaris-cron"),
    *(f"local{n}" for n in range(8)),
)
SEVERITIES = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS = {name: number for number, name in enumerate(_MONTH_NAMES, 1)}


def _nil(column: str) -> pl.Expr:
    """RFC 5424 writes ``-`` for an absent value."""
    return pl.when(pl.col(column) != "-").then(pl.col(column))


@register
class SyslogReader(Reader):
    name = "syslog"
    description = "Linux syslog / auth.log (RFC 3164, RFC 5424, RFC 3339 timestamps); sshd, sudo, su, cron..."
    priority = 60

    def __init__(self, year: int | None = None, tz: str = "UTC") -> None:
        self.year = year
        self.tz = tz

    @classmethod
    def detect(cls, file: InputFile, head: bytes) -> bool:
        return head_matches(head, _FORMS)

    def read(
        self, file: InputFile, report: ReadReport, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> Iterator[pl.DataFrame]:
        year, month = self._reference(file)
        ok = pl.col("__form").is_not_null()
        reason = "not a syslog line: no RFC 3164/5424 header"
        parse = partial(self.parse, year=year, month=month)
        for good in parsed_lines(file, report, batch_size, parse, ok, reason):
            yield conform(good.drop("__form"))

    def parse(self, lines: list[str], year: int, month: int) -> pl.DataFrame:
        """Parse lines (vectorised); rows matching no form have a null ``__form``."""
        text = pl.col("__line")
        forms = {
            name: text.str.extract_groups(p)
            for name, p in (("5424", RFC5424), ("3339", RFC3339), ("3164", RFC3164))
        }
        frame = pl.DataFrame({"__line": pl.Series(lines, dtype=pl.String)}).with_columns(
            *(expr.alias(f"__{name}") for name, expr in forms.items())
        )

        def field(name: str, *sources: str) -> pl.Expr:
            return pl.coalesce([pl.col(f"__{s}").struct.field(name) for s in sources])

        frame = frame.with_columns(
            pl.when(field("ts", "5424").is_not_null())
            .then(pl.lit("5424"))
            .when(field("ts", "3339").is_not_null())
            .then(pl.lit("3339"))
            .when(field("month", "3164").is_not_null())
            .then(pl.lit("3164"))
            .alias("__form"),
            field("pri", "5424", "3339", "3164").alias("priority"),
            field("host", "5424", "3339", "3164").alias("host"),
            field("program", "5424", "3339", "3164").alias("program"),
            field("pid", "5424", "3339", "3164").alias("pid"),
            field("message", "5424", "3339", "3164").alias("message"),
            field("msgid", "5424").alias("msgid"),
            field("sd", "5424").alias("structured_data"),
            field("ts", "5424", "3339").alias("__iso"),
            self._bsd_time(field("month", "3164"), field("day", "3164"), field("time", "3164"), year, month),
        )
        frame = frame.with_columns(
            pl.coalesce(parse_timestamp("__iso"), pl.col("__bsd")).alias("timestamp"),
            *(_nil(c).alias(c) for c in ("program", "pid", "msgid", "structured_data")),
        )
        pri = pl.col("priority").cast(pl.Int32, strict=False)
        frame = frame.with_columns(
            (pri // 8)
            .replace_strict(list(range(len(FACILITIES))), FACILITIES, default=None)
            .alias("facility"),
            (pri % 8).replace_strict(list(range(8)), SEVERITIES, default=None).alias("severity"),
            pl.col("message").fill_null(""),
        )
        frame = parse_messages(frame)
        auth = auth_source(pl.col("program"), pl.col("message"))
        by_facility = pl.col("facility").is_in(["auth", "authpriv"]).fill_null(False)
        return frame.with_columns(
            pl.when(by_facility).then(pl.lit("linux.auth")).otherwise(auth).alias("source"),
            program_base(pl.col("program")).alias("channel"),
            program_base(pl.col("program")).alias("provider"),
            pl.col("pid").alias("process_pid"),
        ).drop("__5424", "__3339", "__3164", "__iso", "__bsd")

    def _bsd_time(self, month: pl.Expr, day: pl.Expr, clock: pl.Expr, year: int, ref_month: int) -> pl.Expr:
        number = month.replace_strict(
            list(_MONTHS), list(_MONTHS.values()), default=None, return_dtype=pl.Int32
        )
        line_year = pl.lit(year)
        if self.year is None:  # the year came from the file's mtime: months after it are last year's
            line_year = pl.when(number > ref_month).then(pl.lit(year - 1)).otherwise(pl.lit(year))
        stamp = pl.concat_str(
            line_year.cast(pl.String),
            number.cast(pl.String).str.zfill(2),
            day.str.zfill(2),
            clock,
            separator=" ",
        )
        local = stamp.str.to_datetime("%Y %m %d %H:%M:%S", strict=False, time_unit="ns")
        utc = local.dt.replace_time_zone(
            self.tz, ambiguous="earliest", non_existent="null"
        ).dt.convert_time_zone("UTC")
        return utc.alias("__bsd")

    def _reference(self, file: InputFile) -> tuple[int, int]:
        if self.year is not None:
            return self.year, 12
        try:
            stamp = datetime.fromtimestamp(file.path.stat().st_mtime, tz=UTC)
        except OSError:
            stamp = datetime.now(tz=UTC)
        return stamp.year, stamp.month

    def fetch(self, file: InputFile, record: int) -> dict[str, Any] | None:
        line = line_at(file, record)
        if line is None:
            return None
        year, month = self._reference(file)
        row = self.parse([line], year, month).row(0, named=True)
        out = {k: v for k, v in row.items() if v is not None and not k.startswith("__")}
        out["line"] = line
        return out
