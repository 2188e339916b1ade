"""Windows event fields: one flattening and one normalisation shared by the EVTX and JSON readers.

Flattening (:func:`flatten_event`, :class:`Rows`) turns the ``Event`` object that the ``evtx``
package and ``evtx_dump`` write (``System`` / ``EventData`` / ``UserData``, XML attributes under
``#attributes``, element text under ``#text``) into the flat, Sigma-style names rules address:
``EventID``, ``Channel``, ``Computer``, ``Provider_Name``, ``EventRecordID``, ``TimeCreated``,
``ExecutionProcessID`` / ``ThreadID`` (the NXLog names, which also avoid a clash with Sysmon's
``ProcessId`` in case-insensitive SQL engines), ``SecurityUserID``, each ``<Data Name="X">`` as
``X``, unnamed ``<Data>`` as ``Data`` (several joined with ``, ``) and ``UserData`` leaves by leaf
name. Each record becomes two flat lists (names, values), with no per-record dict copies: that
flattening is most of the per-record Python cost, so it is kept small.

Normalisation (:func:`normalise`) is vectorised with Polars expressions on a whole batch.
"""

from __future__ import annotations

import gc
from abc import abstractmethod
from collections.abc import Collection, Iterable, Iterator
from typing import Any, Protocol

import polars as pl

from chainbreaker.events import NORMALISED_SCHEMA, TIMESTAMP_TYPE, original_column
from chainbreaker.readers.base import DEFAULT_BATCH_SIZE, InputFile, Reader, ReadReport

#: Internal columns a reader fills besides the original fields; removed by :func:`normalise`.
#: ``TIME`` is the chosen event time when it is not ``TimeCreated`` (flat and ECS exports).
TIME = "__time"
RECORD = "__record"
FILE = "__file"
#: An EventData / UserData field whose name is taken by a System field keeps its value under this
#: prefix (``EventData_Version``); the plain name holds the System value.
DATA_CLASH_PREFIX = "EventData_"

#: Windows channels with a fixed short source name; others become ``windows.<channel lowercased>``.
CHANNEL_SOURCES = {
    "microsoft-windows-sysmon/operational": "windows.sysmon",
    "security": "windows.security",
    "system": "windows.system",
    "application": "windows.application",
    "windows powershell": "windows.powershell",
    "microsoft-windows-powershell/operational": "windows.powershell",
    "powershellcore/operational": "windows.powershell",
}

#: Logon-type events: the account that logs on is Target*, the Subject is the requesting service.
TARGET_USER_EVENTS = (4624, 4625, 4634, 4647, 4768, 4769, 4771, 4776, 4778, 4779)

#: Original names that collide with a normalised column are kept as ``raw.<name>`` (events.py).
RENAMED = {name: original_column(name) for name in NORMALISED_SCHEMA}

#: System attributes renamed to the names Sigma rules and NXLog exports use; other attributes are
#: named ``<element>_<attribute>`` (``Provider_Name``), cached here as they are met.
_ATTRIBUTE_NAMES: dict[tuple[str, str], str] = {
    ("TimeCreated", "SystemTime"): "TimeCreated",
    ("Execution", "ProcessID"): "ExecutionProcessID",
    ("Execution", "ThreadID"): "ThreadID",
    ("Security", "UserID"): "SecurityUserID",
    ("Correlation", "ActivityID"): "ActivityID",
    ("Correlation", "RelatedActivityID"): "RelatedActivityID",
}


def channel_source(channel: str | None) -> str:
    """``windows.sysmon``, ``windows.security``... for a Windows channel name; ``windows`` without one
    (events converted from ETW traces have no channel)."""
    if not channel:
        return "windows"
    key = channel.lower()
    known = CHANNEL_SOURCES.get(key)
    return known if known else "windows." + key


def text(value: Any) -> str | None:
    """An original value as the string chainbreaker stores (XML spelling for booleans)."""
    kind = type(value)
    if kind is str:
        return value
    if value is None:
        return None
    if kind is bool:
        return "true" if value else "false"
    if kind is list:
        return ", ".join(t for t in map(text, value) if t is not None)
    if kind is dict:
        return text(value.get("#text"))
    return str(value)


class Rows:
    """The rows of one batch, grouped by channel and, within a channel, by field list.

    Events of one kind (provider + event id) share the same field list, so rows are kept as value
    lists per distinct field list, transposed with ``zip`` and concatenated by Polars: no per-field
    Python call and no null padding in Python (which was most of the per-record cost of a
    column-per-field builder). :meth:`take` gives one frame per channel: a Sysmon frame carries
    Sysmon's ~60 columns rather than the union of every channel's hundreds, which keeps
    normalising, writing and rule matching cheap (Sigma rules select a channel anyway).

    Row order: channels in order of first appearance, then field lists in order of first
    appearance, then arrival order; the same input always gives the same order.
    """

    __slots__ = ("columnar", "groups", "rows")

    def __init__(self) -> None:
        self.groups: dict[Any, dict[tuple[str, ...], list[list[Any]]]] = {}
        self.rows = 0
        #: Rows a compiled reader keeps as column buffers instead (readers/evtx.py); a reader
        #: fills one or the other, so their frames never interleave.
        self.columnar: Columnar | None = None

    def add(self, keys: list[str], values: list[Any]) -> None:
        """One row: ``keys[i]`` is the column of ``values[i]``."""
        try:
            channel = values[keys.index("Channel")]
        except ValueError:
            channel = None
        kinds = self.groups.get(channel)
        if kinds is None:
            kinds = self.groups[channel] = {}
        signature = tuple(keys)
        group = kinds.get(signature)
        if group is None:
            kinds[signature] = [values]
        else:
            group.append(values)
        self.rows += 1

    def take(self) -> list[pl.DataFrame]:
        """The rows so far, one frame per channel (original fields as strings); the builder empties."""
        out = []
        for kinds in self.groups.values():
            frames = [_group_frame(signature, rows) for signature, rows in kinds.items()]
            out.append(frames[0] if len(frames) == 1 else pl.concat(frames, how="diagonal"))
        if self.columnar is not None:
            out.extend(self.columnar.take())
        self.groups = {}
        self.rows = 0
        return out


class Columnar(Protocol):
    """Rows kept by compiled code, grouped like :class:`Rows`; ``take`` gives one frame per channel."""

    def take(self) -> list[pl.DataFrame]: ...


def frame_columns(signature: tuple[str, ...]) -> list[tuple[int, str]]:
    """(position in the field list, column name) of each column of a group's frame."""
    seen: set[str] = set()
    out = []
    for position, field in enumerate(signature):
        name = RENAMED.get(field, field)  # "host" -> "raw.host", once per group rather than per row
        if name in seen:  # a data field named like a System field (EventData "Version")
            name = DATA_CLASH_PREFIX + name
            if name in seen:
                continue
        seen.add(name)
        out.append((position, name))
    return out


def _group_frame(signature: tuple[str, ...], rows: list[list[Any]]) -> pl.DataFrame:
    columns = list(zip(*rows, strict=True))
    return pl.DataFrame(
        [
            pl.Series(name, columns[position], dtype=pl.Int64 if name == RECORD else pl.String)
            for position, name in frame_columns(signature)
        ]
    )


class WindowsReader(Reader):
    """A reader of Windows events. Rows of several files share one batch (:meth:`read_many`), so a
    folder of small logs costs one normalisation per batch rather than one per file. A batch is
    yielded as one frame per channel (see :class:`Rows`)."""

    @abstractmethod
    def fill(self, file: InputFile, report: ReadReport, rows: Rows, batch_size: int) -> Iterator[None]:
        """Add the file's records to ``rows`` (with ``FILE`` and ``RECORD``) and count them in ``report``;
        yield whenever ``rows.rows >= batch_size`` (the caller empties ``rows``)."""

    def read(
        self, file: InputFile, report: ReadReport, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> Iterator[pl.DataFrame]:
        return self.read_many([file], report, batch_size)

    def read_many(
        self, files: Iterable[InputFile], report: ReadReport, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> Iterator[pl.DataFrame]:
        """The files' records in shared batches. Each file is taken from ``files`` just before it is
        read, and handed to :meth:`fill` as given: a ``SniffedFile`` from the stream brings the head
        its sniff read (the EVTX reader's header and size)."""
        rows = Rows()
        collector = _Collector()
        collector.pause()
        try:
            for file in files:
                report.file(file.name, self.name)
                for _ in self.fill(file, report, rows, batch_size):
                    batch = normalise_frames(rows.take())
                    collector.resume()  # never paused while the caller holds control
                    yield from batch
                    collector.pause()
            batch = normalise_frames(rows.take())
        finally:
            collector.resume()
        yield from batch


class _Collector:
    """Pauses Python's cyclic garbage collector while a batch is built.

    Building a batch allocates millions of lists, dicts and strings, none of them in a reference
    cycle (reference counting frees them); each collection those allocations trigger walks the
    growing batch again. Pausing the collector until the batch is taken cut the time spent in
    collections from 3.7 s to 0.1 s on 404,495 EVTX records (docs/BENCHMARKS.md, "Ingest").
    Nothing is kept longer: only the search for cycles waits, and it never waits while the caller
    holds control; a collector the caller had disabled stays disabled.
    """

    __slots__ = ("paused",)

    def __init__(self) -> None:
        self.paused = False

    def pause(self) -> None:
        if gc.isenabled():
            gc.disable()
            self.paused = True

    def resume(self) -> None:
        if self.paused:
            gc.enable()
            self.paused = False


def flatten_event(event: dict[str, Any], keys: list[str], values: list[Any]) -> None:
    """Append one ``Event`` object's fields; System first, so on a name clash its value wins."""
    key_add, value_add = keys.append, values.append
    system = event.get("System")
    if system:
        for key, value in system.items():
            kind = type(value)
            if kind is str:
                key_add(key)
                value_add(value)
            elif kind is int:
                key_add(key)
                value_add(str(value))
            elif kind is dict:
                if "#text" in value:
                    key_add(key)
                    value_add(text(value["#text"]))
                attrs = value.get("#attributes")
                if attrs:
                    for attr, attr_value in attrs.items():
                        name = _ATTRIBUTE_NAMES.get((key, attr))
                        if name is None:
                            name = _ATTRIBUTE_NAMES[(key, attr)] = f"{key}_{attr}"
                        key_add(name)
                        value_add(attr_value if type(attr_value) is str else text(attr_value))
            elif value is not None:
                key_add(key)
                value_add(text(value))
    for section, body in event.items():
        if section == "System" or section == "#attributes" or body is None:
            continue
        if type(body) is dict:
            _flatten_data(body, keys, values)
        else:
            key_add(section)
            value_add(text(body))


def _flatten_data(body: dict[str, Any], keys: list[str], values: list[Any]) -> None:
    """EventData / UserData: named fields by name, unnamed ``Data`` joined, nested leaves by leaf name."""
    for key, value in body.items():
        kind = type(value)
        if kind is str:
            keys.append(key)
            values.append(value)
        elif kind is dict:
            if "#text" in value:
                keys.append(key)
                values.append(text(value["#text"]))
            elif key != "#attributes":
                _flatten_data(value, keys, values)
        elif kind is int:
            keys.append(key)
            values.append(str(value))
        elif value is not None:
            keys.append(key)
            values.append(text(value))


# --- normalisation -------------------------------------------------------------------------


def _col(columns: Collection[str], *names: str) -> pl.Expr:
    """The first present original column among ``names``, coalesced; "-" and "" count as null.

    ``columns`` is the batch's column names as a set (``DataFrame.columns`` builds a new list on
    every call, and normalising asks about some forty names).
    """
    # normalise_frames stacks only these columns: a name read here and missing there would read null
    assert NORMALISE_INPUTS.issuperset(names), f"add {names} to NORMALISE_INPUTS"
    present = [_clean(pl.col(n)) for n in names if n in columns]
    if not present:
        return pl.lit(None, dtype=pl.String)
    return present[0] if len(present) == 1 else pl.coalesce(present)


def _clean(expr: pl.Expr) -> pl.Expr:
    # two equality tests rather than is_in(["-", ""]): same result, half the time (a hash probe
    # per value; normalising cleans some forty columns, docs/BENCHMARKS.md "Ingest")
    return pl.when((expr == "-") | (expr == "")).then(None).otherwise(expr)


def _integer(expr: pl.Expr) -> pl.Expr:
    """Decimal or ``0x`` hexadecimal text -> Int64 (4688 writes hexadecimal process ids)."""
    hexa = expr.str.starts_with("0x")
    return (
        pl.when(hexa)
        .then(expr.str.slice(2).str.to_integer(base=16, strict=False))
        .otherwise(expr.cast(pl.Int64, strict=False))
    )


def _ip(expr: pl.Expr) -> pl.Expr:
    """IPv4-mapped IPv6 (``::ffff:10.0.0.5``, Kerberos events) -> the IPv4 address."""
    return expr.str.strip_prefix("::ffff:")


#: Windows time spellings, most common first: the ``evtx`` package writes the first.
TIME_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%.fZ",
    "%Y-%m-%dT%H:%M:%S%.f%#z",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
)


def parse_time(expr: pl.Expr) -> pl.Expr:
    """Windows time text -> UTC ns: ISO 8601 with Z or offset, or ``YYYY-MM-DD hh:mm:ss[.f]`` (as UTC)."""
    return pl.coalesce([_parse_as(expr, f) for f in TIME_FORMATS]).cast(TIMESTAMP_TYPE)


def _parse_as(expr: pl.Expr, time_format: str) -> pl.Expr:
    return expr.str.to_datetime(time_format, strict=False, time_unit="ns", time_zone="UTC")


def _timestamp(df: pl.DataFrame, columns: Collection[str]) -> pl.Expr:
    """:func:`parse_time` of the batch's time column, without trying every format on every row.

    Polars evaluates each branch of a coalesce on the whole column, and parsing is the dearest
    part of normalising; when the first spelling parses every present value (EVTX batches
    always), the batch is done in one pass and the result is the same.
    """
    column = _col(columns, TIME, "TimeCreated")
    if TIME not in columns and "TimeCreated" not in columns:
        return parse_time(column)
    first = df.select(column.alias("text"), _parse_as(column, TIME_FORMATS[0]).alias("time"))
    if first["time"].null_count() != first["text"].null_count():
        return parse_time(column)
    return pl.lit(first["time"]).cast(TIMESTAMP_TYPE)


def _user(columns: Collection[str]) -> pl.Expr:
    """``User`` (Sysmon: ``DOMAIN\\name``), else Target* for logon events, else Subject*, else Target*."""

    def qualified(name: str, domain: str) -> pl.Expr:
        user, dom = _col(columns, name), _col(columns, domain)
        return pl.when(dom.is_not_null() & user.is_not_null()).then(dom + "\\" + user).otherwise(user)

    subject = qualified("SubjectUserName", "SubjectDomainName")
    target = qualified("TargetUserName", "TargetDomainName")
    code = pl.col("EventID").cast(pl.Int32, strict=False) if "EventID" in columns else pl.lit(None)
    logon = code.is_in(TARGET_USER_EVENTS)
    acting = pl.when(logon & target.is_not_null()).then(target).otherwise(pl.coalesce(subject, target))
    return pl.coalesce(_col(columns, "User", "user.name"), acting)


#: Every original column :func:`normalise` reads (it reads no other, and keeps the rest as they are).
NORMALISE_INPUTS = frozenset(
    {TIME, RECORD, FILE, "Channel", "TimeCreated", "Computer", "Hostname", "host.name", "User", "user.name"}
    | {"SubjectUserName", "SubjectDomainName", "TargetUserName", "TargetDomainName", "EventID"}
    | {"SourceIp", "IpAddress", "SourceAddress", "ClientAddress", "source.ip", "SourcePort", "IpPort"}
    | {"source.port", "DestinationIp", "DestAddress", "destination.ip", "DestinationPort", "DestPort"}
    | {"destination.port", "Image", "NewProcessName", "SourceImage", "ProcessName", "process.executable"}
    | {"CommandLine", "process.command_line", "NewProcessId", "ProcessId", "ProcessGuid"}
    | {"SourceProcessGUID", "SourceProcessGuid", "ParentImage", "ParentProcessName", "ParentCommandLine"}
    | {"ParentProcessId", "ParentProcessGuid", "Provider_Name", "SourceName"}
)


def normalise(df: pl.DataFrame) -> pl.DataFrame:
    """Add the normalised columns (chainbreaker.events) to a batch of flattened Windows events."""
    return normalise_frames([df])[0]


def normalise_frames(frames: list[pl.DataFrame]) -> list[pl.DataFrame]:
    """:func:`normalise` of each frame of a batch (one per channel), computed in one Polars query.

    A normalising query costs ~4 ms whatever its size (planning some twenty expressions), and a
    batch of a folder of small logs is a dozen channel frames, some of a few rows: so the columns
    normalising reads (:data:`NORMALISE_INPUTS`) of all the frames are stacked (a column a frame
    lacks is null there, which every expression below treats as absent), normalised once, and the
    result is cut back into the frames' row ranges next to each frame's own original columns.
    Row by row the result is that of one query per frame (docs/BENCHMARKS.md, "Ingest").
    """
    if len(frames) <= 1:
        return [_normalise_one(df) for df in frames]
    inputs = []
    for df in frames:
        names = [c for c in df.columns if c in NORMALISE_INPUTS]
        # ``df[names]`` takes the columns as they are (``df.select`` ran one query per frame); a
        # frame without any of them still needs its rows in the stack (a null column holds them)
        inputs.append(
            df[names]
            if names
            else pl.DataFrame({FILE: pl.repeat(None, df.height, dtype=pl.String, eager=True)})
        )
    try:
        # The readers' frames agree on types (strings; RECORD Int64), and a strict stack is
        # cheaper: the relaxed one cost ~1 ms more per batch of ~10,000 rows in 15 channel frames,
        # and so did each of the two queries over it (_timestamp's parse, the normalising one).
        stacked = pl.concat(inputs, how="diagonal", rechunk=False)
    except pl.exceptions.PolarsError:  # types differ (SchemaError): cast to a common type, or raise
        stacked = pl.concat(inputs, how="diagonal_relaxed", rechunk=False)
    normal = stacked.select(_normalised_exprs(stacked))
    out = []
    offset = 0
    for df in frames:
        out.append(normal.slice(offset, df.height).hstack(_originals(df)))
        offset += df.height
    return out


def _normalise_one(df: pl.DataFrame) -> pl.DataFrame:
    return df.select(_normalised_exprs(df)).hstack(_originals(df))


def _originals(df: pl.DataFrame) -> list[pl.Series]:
    """The original columns a normalised frame keeps, in order (internal columns dropped)."""
    return [s for s in df.get_columns() if s.name not in _INTERNAL and s.name not in NORMALISED_SCHEMA]


_INTERNAL = (TIME, RECORD, FILE)


def _normalised_exprs(df: pl.DataFrame) -> list[pl.Expr]:
    """The normalised columns of ``df``, in schema order, as expressions over its original columns."""
    columns = set(df.columns)
    channel = _col(columns, "Channel")
    channels = df.get_column("Channel").unique().to_list() if "Channel" in columns else []
    sources = {c: channel_source(c) for c in channels if c}
    new_pid = _integer(_col(columns, "NewProcessId"))
    creator_pid = _integer(_col(columns, "ProcessId"))
    is_4688 = _col(columns, "NewProcessId").is_not_null()
    exprs: dict[str, pl.Expr] = {
        "timestamp": _timestamp(df, columns),
        "source": channel.replace_strict(sources, default="windows", return_dtype=pl.String).fill_null(
            "windows"
        ),
        "host": _col(columns, "Computer", "Hostname", "host.name"),
        "user": _user(columns),
        "src_ip": _ip(_col(columns, "SourceIp", "IpAddress", "SourceAddress", "ClientAddress", "source.ip")),
        "src_port": _col(columns, "SourcePort", "IpPort", "source.port").cast(pl.Int32, strict=False),
        "dst_ip": _ip(_col(columns, "DestinationIp", "DestAddress", "destination.ip")),
        "dst_port": _col(columns, "DestinationPort", "DestPort", "destination.port").cast(
            pl.Int32, strict=False
        ),
        "process_image": _col(
            columns, "Image", "NewProcessName", "SourceImage", "ProcessName", "process.executable"
        ),
        "process_command_line": _col(columns, "CommandLine", "process.command_line"),
        "process_pid": pl.when(is_4688).then(new_pid).otherwise(creator_pid),
        "process_guid": _col(columns, "ProcessGuid", "SourceProcessGUID", "SourceProcessGuid"),
        "parent_process_image": _col(columns, "ParentImage", "ParentProcessName"),
        "parent_process_command_line": _col(columns, "ParentCommandLine"),
        "parent_process_pid": pl.coalesce(
            _integer(_col(columns, "ParentProcessId")), pl.when(is_4688).then(creator_pid)
        ),
        "parent_process_guid": _col(columns, "ParentProcessGuid"),
        "event_code": _col(columns, "EventID").cast(pl.Int32, strict=False),
        "channel": channel,
        "provider": _col(columns, "Provider_Name", "SourceName"),
        "event_ref": pl.struct(
            (pl.col(FILE) if FILE in columns else pl.lit(None, pl.String)).alias("file"),
            (pl.col(RECORD) if RECORD in columns else pl.lit(None, pl.Int64)).alias("record"),
        ),
    }
    return [exprs[name].cast(dtype).alias(name) for name, dtype in NORMALISED_SCHEMA.items()]
