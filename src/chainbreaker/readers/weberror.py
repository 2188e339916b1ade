"""Apache and Nginx error logs (source ``web.error``), for Sigma ``service: apache`` / ``nginx`` rules.

* Apache 2.4 ``[Wed Oct 11 14:32:52.123456 2000] [core:error] [pid 1234:tid 5678] [client
  192.0.2.1:5678] AH00126: message`` and 2.2 ``[Sun Dec 04 04:47:44 2005] [error] [client
  192.0.2.1] message`` (module, pid, tid and client optional): ``channel`` = ``apache``.
* Nginx ``2024/05/01 09:00:00 [error] 1234#0: *7 message, client: 192.0.2.1, server: ...``:
  ``channel`` = ``nginx``.

Fields: ``level``, ``module`` (Apache 2.4), ``pid``, ``tid``, ``connection`` (Nginx ``*N``),
``client``, ``message``. Normalised: ``src_ip`` = the client address, ``process_pid`` = pid,
``provider`` = ``channel``. Error logs carry local time without a zone: read in ``tz`` (default
UTC). Lines of neither form are counted warnings, except the continuation lines some modules write
(indented), which are skipped silently. Written by hand: two regular expressions, no library needed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import polars as pl

from chainbreaker.events import conform
from chainbreaker.readers.base import DEFAULT_BATCH_SIZE, InputFile, Reader, ReadReport
from chainbreaker.readers.registry import register
from chainbreaker.readers.textlines import head_matches, line_at, parsed_lines

APACHE = (
    r"^\[(?P<ts>[A-Z][a-z]{2} [A-Z][a-z]{2} {1,2}\d{1,2} \d\d:\d\d:\d\d(?:\.\d+)? \d{4})\]"
    r" \[(?:(?P<module>[^:\]\s]+):)?(?P<level>[a-z]+\d?)\]"
    r"(?: \[pid (?P<pid>\d+)(?::tid (?P<tid>\d+))?\])?(?: \[client (?P<client>[^\]]+)\])? ?(?P<message>.*)$"
)
NGINX = (
    r"^(?P<ts>\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) \[(?P<level>[a-z]+)\] (?P<pid>\d+)#(?P<tid>\d+):"
    r"(?: \*(?P<connection>\d+))? (?P<message>.*)$"
)
_FORMS = (re.compile(APACHE), re.compile(NGINX))
_NGINX_CLIENT = r", client: ([^,\s]+)"


def _continuation_or_blank(line: str) -> bool:
    """Indented lines continue the previous message (a stack trace): skipped without a warning."""
    return not line.strip() or line[:1].isspace()


@register
class WebErrorLogReader(Reader):
    name = "web-error"
    description = "Apache (2.2/2.4) and Nginx error logs"
    priority = 56

    def __init__(self, tz: str = "UTC") -> None:
        self.tz = tz

    @classmethod
    def detect(cls, file: InputFile, head: bytes) -> bool:
        return head_matches(head, _FORMS)

    def read(
        self, file: InputFile, report: ReadReport, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> Iterator[pl.DataFrame]:
        reason = "not a web server error log line: no Apache/Nginx header"
        ok = pl.col("channel").is_not_null()
        for good in parsed_lines(file, report, batch_size, self.parse, ok, reason, _continuation_or_blank):
            yield conform(good)

    def parse(self, lines: list[str]) -> pl.DataFrame:
        """Parse lines (vectorised); rows of neither form have a null ``channel``."""
        text = pl.col("__line")
        frame = pl.DataFrame({"__line": pl.Series(lines, dtype=pl.String)}).with_columns(
            text.str.extract_groups(APACHE).alias("__a"), text.str.extract_groups(NGINX).alias("__n")
        )

        def group(name: str, *forms: str) -> pl.Expr:
            return pl.coalesce([pl.col(f"__{f}").struct.field(name) for f in forms])

        apache_ts = group("ts", "a")
        local = pl.coalesce(
            apache_ts.str.to_datetime("%a %b %d %H:%M:%S%.f %Y", strict=False, time_unit="ns"),
            apache_ts.str.to_datetime("%a %b %d %H:%M:%S %Y", strict=False, time_unit="ns"),
            group("ts", "n").str.to_datetime("%Y/%m/%d %H:%M:%S", strict=False, time_unit="ns"),
        )
        channel = (
            pl.when(group("level", "a").is_not_null())
            .then(pl.lit("apache"))
            .when(group("level", "n").is_not_null())
            .then(pl.lit("nginx"))
        )
        message = group("message", "a", "n")
        frame = frame.with_columns(
            channel.alias("channel"),
            channel.alias("provider"),
            pl.lit("web.error").alias("source"),
            local.dt.replace_time_zone(self.tz, ambiguous="earliest", non_existent="null")
            .dt.convert_time_zone("UTC")
            .alias("timestamp"),
            group("level", "a", "n").alias("level"),
            group("module", "a").alias("module"),
            group("pid", "a", "n").alias("pid"),
            group("tid", "a", "n").alias("tid"),
            group("connection", "n").alias("connection"),
            pl.coalesce(group("client", "a"), message.str.extract(_NGINX_CLIENT)).alias("client"),
            message.alias("message"),
        )
        client = pl.col("client")
        address = (
            pl.when(client.str.contains(r"^\[")).then(client.str.extract(r"^\[([^\]]+)\]"))
            .when(client.str.count_matches(":") == 1).then(client.str.extract(r"^([^:]+):"))
            .otherwise(client)
        )  # fmt: skip
        return frame.with_columns(address.alias("src_ip"), pl.col("pid").alias("process_pid")).drop(
            "__a", "__n"
        )

    def fetch(self, file: InputFile, record: int) -> dict[str, Any] | None:
        line = line_at(file, record)
        if line is None:
            return None
        row = self.parse([line]).row(0, named=True)
        if row["channel"] is None:
            return None
        out = {k: v for k, v in row.items() if v is not None and not k.startswith("__")}
        out["line"] = line
        return out
