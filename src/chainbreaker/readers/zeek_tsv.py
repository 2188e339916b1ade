"""Zeek's ASCII (TSV) log format: header blocks and the vectorised split of data lines.

A file may hold several header blocks (a log rotated into the same file, ``cat``-ed logs); each
``#fields`` line starts a new layout. Written by hand because no maintained Python package parses
Zeek TSV into columns (zat and parsezeeklogs build a Python object per record).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import polars as pl

_HEX_ESCAPE = re.compile(r"\\x([0-9a-fA-F]{2})")


def unescape(text: str) -> str:
    r"""Decode Zeek's ``\xNN`` escapes (``#separator \x09``); some writers use ``\t`` instead."""
    return _HEX_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text).replace("\\t", "\t")


@dataclass(frozen=True)
class Layout:
    """The header state in force for the data lines that follow it."""

    separator: str = "\t"
    set_separator: str = ","
    empty_field: str = "(empty)"
    unset_field: str = "-"
    path: str | None = None
    fields: tuple[str, ...] = ()
    types: tuple[str, ...] = field(default=())

    def with_header(self, line: str) -> Layout:
        """The layout after one ``#...`` header line."""
        text = line.lstrip(" \t")
        if text.startswith("#separator"):
            value = text[len("#separator") :].strip()
            return replace(self, separator=unescape(value) or "\t")
        key, _, value = text[1:].partition(self.separator)
        if key == "fields":
            return replace(self, fields=tuple(value.split(self.separator)), types=())
        if key == "types":
            return replace(self, types=tuple(value.split(self.separator)))
        if key == "path":
            return replace(self, path=value)
        if key == "set_separator":
            return replace(self, set_separator=unescape(value))
        if key == "empty_field":
            return replace(self, empty_field=value)
        if key == "unset_field":
            return replace(self, unset_field=value)
        return self  # #open, #close and unknown comments change nothing


#: A data line of a uid-keyed Zeek log: epoch ``ts``, a connection uid (``C`` + base62), the id fields.
_UID_LINE = re.compile(r"^\d{9,10}\.\d{1,9}\tC[0-9A-Za-z]{8,20}\t[0-9A-Fa-f:.]+\t\d+\t[0-9A-Fa-f:.]+\t\d+\t")

#: Zeek's default conn.log columns (Zeek 2.x-7.x), for logs whose header was cut off.
CONN_FIELDS = (
    *("ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service", "duration"),
    *("orig_bytes", "resp_bytes", "conn_state", "local_orig", "local_resp", "missed_bytes", "history"),
    *("orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes"),
)
_DEFAULT_LAYOUTS = {
    len(CONN_FIELDS): CONN_FIELDS,
    len(CONN_FIELDS) + 1: [*CONN_FIELDS, "tunnel_parents"],
    len(CONN_FIELDS) + 2: [*CONN_FIELDS, "tunnel_parents", "ip_proto"],
}


def headerless_layout(line: str) -> Layout | None:
    """A layout for a TSV Zeek log whose header block is missing (a file cut at the top).

    Only uid-keyed lines are recognised. With the column count of a default conn.log every field is
    named; otherwise the six leading fields are (``ts``, ``uid``, ``id.*``) and the rest are
    ``field_<n>``.
    """
    if not _UID_LINE.match(line):
        return None
    width = len(line.split("\t"))
    if width in _DEFAULT_LAYOUTS:
        return Layout(path="conn", fields=tuple(_DEFAULT_LAYOUTS[width]))
    rest = tuple(f"field_{n}" for n in range(7, width + 1))
    return Layout(fields=(*CONN_FIELDS[:6], *rest))


def is_header(line: str) -> bool:
    return line.lstrip(" \t").startswith("#")


def split_lines(layout: Layout, lines: list[str]) -> tuple[pl.DataFrame, list[int]]:
    """Split data lines into one string column per field.

    Returns the frame of well-formed lines and the positions (within ``lines``) of lines whose field
    count differs from the layout's (a truncated last line, a damaged line). The unset marker becomes
    null and the empty marker an empty string; set and vector values keep Zeek's set separator;
    ``bool`` fields (per ``#types``) are written ``true``/``false``.
    """
    width = len(layout.fields)
    text = pl.Series("line", lines, dtype=pl.String)
    parts = text.str.split(layout.separator)
    frame = pl.DataFrame({"parts": parts}).with_row_index("at")
    counts = parts.list.len()
    # Some exporters end every line with one extra separator; that empty last field is not data.
    ok = (counts == width) | ((counts == width + 1) & text.str.ends_with(layout.separator))
    bad = frame.filter(~ok).get_column("at").to_list()
    good = frame.filter(ok)
    types = layout.types if len(layout.types) == width else ("",) * width
    columns = []
    for index, name in enumerate(layout.fields):
        value = pl.col("parts").list.get(index)
        if types[index] == "bool":  # T/F as JSON logs spell them, so both formats give one string
            value = (
                pl.when(value == "T")
                .then(pl.lit("true"))
                .when(value == "F")
                .then(pl.lit("false"))
                .otherwise(value)
            )
        columns.append(
            pl.when(value == layout.unset_field)
            .then(None)
            .when(value == layout.empty_field)
            .then(pl.lit(""))
            .otherwise(value)
            .alias(name)
        )
    return good.select(pl.col("at"), *columns), bad
