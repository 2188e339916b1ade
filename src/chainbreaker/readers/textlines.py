"""Shared plumbing for line-oriented readers (Zeek, Suricata, syslog, journald).

* :func:`iter_lines` streams a file as batches of decoded lines with their 1-based line numbers,
  so a reader holds at most ``batch_size`` lines at a time.
* :func:`line_at` re-reads one line for ``Reader.fetch``.
* :func:`flatten_json` / :func:`rows_frame` turn parsed JSON objects into all-string columns with
  dotted names (``alert.signature``), the shape chainbreaker.events asks for.

Bytes that are not UTF-8 are decoded with U+FFFD replacement characters and the line is kept
(no warning): a log line with one bad byte is still evidence.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import orjson
import polars as pl

from chainbreaker.readers.base import InputFile, ReadReport

#: Bytes read per system call; lines are cut out of these blocks.
_BLOCK = 1 << 22


def iter_lines(file: InputFile, batch_size: int) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(first_line_number, lines)`` with at most ``batch_size`` lines per batch.

    Lines lose their end-of-line (``\\n`` or ``\\r\\n``). The last line is yielded even without
    a final newline (a log still being written, or a truncated copy).
    """
    number = 1
    pending: list[str] = []
    rest = b""
    with file.open() as stream:
        while True:
            block = stream.read(_BLOCK)
            if not block:
                break
            if number == 1 and not pending and not rest:
                block = block.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte order mark is not data
            block = rest + block
            cut = block.rfind(b"\n")
            if cut < 0:
                rest = block
                continue
            rest = block[cut + 1 :]
            for line in block[:cut].decode("utf-8", errors="replace").split("\n"):
                pending.append(line[:-1] if line.endswith("\r") else line)
                if len(pending) >= batch_size:
                    yield number, pending
                    number += len(pending)
                    pending = []
    if rest:
        text = rest.decode("utf-8", errors="replace")
        pending.append(text[:-1] if text.endswith("\r") else text)
    if pending:
        yield number, pending


def json_objects(
    file: InputFile, report: ReadReport, first: int, lines: list[str]
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each JSON-object line; blank lines are passed over, every other line
    that is not a JSON object is a counted warning (the rest of the batch is still read)."""
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            report.warn(file.name, first + index, f"invalid JSON: {exc.msg}")
            continue
        if isinstance(obj, dict):
            yield first + index, obj
        else:
            report.warn(file.name, first + index, "invalid JSON: not an object")


def line_at(file: InputFile, number: int) -> str | None:
    """The text of line ``number`` (1-based), or None past the end of the file."""
    if number < 1:
        return None
    for first, lines in iter_lines(file, 65_536):
        if number < first + len(lines):
            return lines[number - first]
    return None


def head_lines(head: bytes, limit: int = 20) -> list[str]:
    """Complete lines of a sniffed head (the last, possibly cut, line is dropped when the head is full)."""
    text = head.removeprefix(b"\xef\xbb\xbf").decode("utf-8", errors="replace")
    lines = text.split("\n")
    if len(lines) > 1:
        lines = lines[:-1]
    return [line.rstrip("\r") for line in lines if line.strip()][:limit]


def head_matches(head: bytes, forms: Sequence[re.Pattern[str]], lines: int = 10, share: float = 0.6) -> bool:
    """Whether a sniffed head is a line format: its first line matches one of ``forms`` and so do
    ``share`` of its first ``lines`` lines (a stray line or two, such as a continuation, is allowed)."""
    found = head_lines(head, lines)
    if not found or not any(form.match(found[0]) for form in forms):
        return False
    return sum(1 for line in found if any(form.match(line) for form in forms)) >= share * len(found)


def parsed_lines(
    file: InputFile,
    report: ReadReport,
    batch_size: int,
    parse: Callable[[list[str]], pl.DataFrame],
    ok: pl.Expr,
    reason: str,
    quiet: Callable[[str], bool] = lambda line: not line.strip(),
) -> Iterator[pl.DataFrame]:
    """Batches of a line format parsed by ``parse`` (vectorised, the text in ``__line``): the rows
    where ``ok`` holds, with their ``event_ref`` (file, line number) and without ``__line``; every
    other line is a counted warning with ``reason``, unless ``quiet`` (blank lines by default)."""
    for first, lines in iter_lines(file, batch_size):
        frame = parse(lines).with_columns(
            pl.int_range(first, first + len(lines), eager=True, dtype=pl.Int64).alias("__record")
        )
        bad = frame.filter(ok.not_())
        for number, line in zip(bad.get_column("__record"), bad.get_column("__line"), strict=True):
            if not quiet(line):
                report.warn(file.name, number, reason)
        good = frame.filter(ok)
        if good.height == 0:
            continue
        report.count(file.name, good.height)
        yield good.drop("__line", "__record").with_columns(event_refs(file.name, good.get_column("__record")))


def to_text(value: Any) -> str | None:
    """A JSON scalar or list as the string chainbreaker stores for original fields.

    Lists of scalars are joined with ``,`` (Zeek's set separator, so TSV and JSON logs give the same
    text); lists holding objects or lists are kept as compact JSON text.
    """
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        if any(isinstance(item, dict | list) for item in value):
            return orjson.dumps(value).decode()
        return ",".join(text for text in map(to_text, value) if text is not None)
    return orjson.dumps(value).decode()


def flatten_json(obj: dict[str, Any], out: dict[str, str | None], prefix: str = "") -> dict[str, str | None]:
    """Nested objects become dotted names (``{"alert": {"severity": 2}}`` -> ``alert.severity``).

    The common types are tested first with ``type(...) is``: this loop is the per-record cost of
    the JSON readers.
    """
    for key, value in obj.items():
        kind = type(value)
        if kind is str:
            out[prefix + key] = value
        elif kind is dict:
            if value:
                flatten_json(value, out, prefix + key + ".")
            else:
                out[prefix + key] = None
        elif kind is int or kind is float:
            out[prefix + key] = str(value)
        else:
            out[prefix + key] = to_text(value)
    return out


def rows_frame(rows: list[dict[str, str | None]]) -> pl.DataFrame:
    """All-string frame from flat rows; every key seen in any row becomes a column (null elsewhere)."""
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
    return pl.from_dicts(rows, schema=dict.fromkeys(names, pl.String()))


def ndjson_frame(lines: list[str]) -> pl.DataFrame | None:
    """Vectorised parse of JSON-object lines into all-string columns (Polars' NDJSON reader).

    Returns None when the batch cannot take this path (a damaged line, a field whose type changes
    between records, lists of objects); the caller then parses line by line and warns per line.
    Numbers are written as Polars formats them, which differs from :func:`to_text` only in rare
    cases (``1e-05`` -> ``0.00001``; an integer in a float field -> ``1.0``).
    """
    try:
        frame = pl.read_ndjson(io.BytesIO("\n".join(lines).encode()), infer_schema_length=None)
    except (pl.exceptions.PolarsError, ValueError):
        return None
    if frame.height != len(lines):
        return None
    return _stringify(frame, "")


def _stringify(frame: pl.DataFrame, prefix: str) -> pl.DataFrame | None:
    parts: list[pl.DataFrame] = []
    columns: list[pl.Expr] = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.Struct):
            if not dtype.fields:
                return None
            inner = _stringify(frame.get_column(name).struct.unnest(), f"{prefix}{name}.")
            if inner is None:
                return None
            parts.append(inner)
        elif isinstance(dtype, pl.List | pl.Array):
            if dtype.inner is None or dtype.inner.is_nested():
                return None
            columns.append(
                pl.col(name).list.eval(pl.element().cast(pl.String)).list.join(",").alias(prefix + name)
            )
        elif dtype == pl.String:
            columns.append(pl.col(name).alias(prefix + name))
        else:
            columns.append(pl.col(name).cast(pl.String).alias(prefix + name))
    plain = frame.select(columns)
    return pl.concat([plain, *parts], how="horizontal") if parts else plain


def event_refs(file_name: str, records: Iterable[int] | pl.Series) -> pl.Series:
    """The ``event_ref`` column: ``{file, record}`` per row."""
    if isinstance(records, pl.Series):
        numbers = records.cast(pl.Int64).alias("record")
    else:
        numbers = pl.Series("record", list(records), dtype=pl.Int64)
    return pl.DataFrame(
        {"file": pl.repeat(file_name, len(numbers), dtype=pl.String, eager=True), "record": numbers}
    ).to_struct("event_ref")


def parse_timestamp(column: str) -> pl.Expr:
    """ISO 8601 text (``Z``, ``+0200``, ``+02:00`` or no zone = UTC) or epoch seconds -> UTC ns."""
    text = pl.col(column).cast(pl.String)
    iso = [
        text.str.to_datetime(fmt, strict=False, time_unit="ns", time_zone="UTC")
        for fmt in ("%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f")
    ]
    return pl.coalesce([*iso, epoch_seconds(text)])


def epoch_seconds(text: pl.Expr) -> pl.Expr:
    """Epoch seconds as decimal text (``1601998366.785668``) -> UTC ns, exactly (no float rounding)."""
    parts = text.str.strip_chars().str.split_exact(".", 1)
    seconds = parts.struct.field("field_0").cast(pl.Int64, strict=False)
    fraction = (
        parts.struct.field("field_1")
        .fill_null("")
        .str.pad_end(9, "0")
        .str.slice(0, 9)
        .cast(pl.Int64, strict=False)
    )
    valid = text.str.contains(r"^\s*\d+(\.\d*)?\s*$")
    nanos = pl.when(valid).then(seconds * 1_000_000_000 + fraction.fill_null(0))
    return nanos.cast(pl.Datetime("ns", "UTC"))
