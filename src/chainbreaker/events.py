"""The event model: one columnar schema every later stage reads (documented in docs/EVENTS.md).

Readers emit Polars DataFrames ("batches"). Each batch carries

* the normalised columns below, always present and always of the listed type (null when a
  source has no such value), which correlation, analytics and outputs rely on; and
* the original fields of the source under their own names, as strings (``Image``,
  ``CommandLine``, ``query``, ``id.resp_h``...), which Sigma rules address.

When an original field name equals a normalised column name (Zeek http ``host``, Zeek files
``source``, Zeek ftp ``user``), the original is stored as ``raw.<name>``; see
:func:`original_column`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

TIMESTAMP_TYPE = pl.Datetime("ns", "UTC")

#: Normalised columns, in order, with their types. Names follow the issue's vocabulary; docs/EVENTS.md
#: gives the ECS / OCSF equivalent of each.
NORMALISED_SCHEMA: dict[str, pl.DataType] = {
    "timestamp": TIMESTAMP_TYPE,
    "source": pl.String(),  # e.g. windows.sysmon, windows.security, zeek.conn, suricata.alert, linux.auth
    "host": pl.String(),  # the machine the event happened on / was logged by
    "user": pl.String(),  # acting account, as the source spells it (correlate/ resolves aliases)
    "src_ip": pl.String(),
    "src_port": pl.Int32(),
    "dst_ip": pl.String(),
    "dst_port": pl.Int32(),
    "process_image": pl.String(),
    "process_command_line": pl.String(),
    "process_pid": pl.Int64(),
    "process_guid": pl.String(),
    "parent_process_image": pl.String(),
    "parent_process_command_line": pl.String(),
    "parent_process_pid": pl.Int64(),
    "parent_process_guid": pl.String(),
    "event_code": pl.Int32(),  # Windows event id; null where a source has no numeric code
    "channel": pl.String(),  # Windows channel, Zeek log path, syslog program...
    "provider": pl.String(),  # Windows provider name, "zeek", "suricata", syslog app
    "event_ref": pl.Struct({"file": pl.String(), "record": pl.Int64()}),
}

NORMALISED_COLUMNS: tuple[str, ...] = tuple(NORMALISED_SCHEMA)

#: Prefix under which an original field is kept when its name collides with a normalised column.
RAW_PREFIX = "raw."


def original_column(field: str) -> str:
    """Column name that holds the original source field ``field``."""
    return RAW_PREFIX + field if field in NORMALISED_SCHEMA else field


@dataclass(frozen=True, slots=True)
class EventRef:
    """Where an event came from: a file (``archive.zip!member`` for archive members) and a record.

    ``record`` is the EVTX EventRecordID for EVTX files and the 1-based line number (or array
    index for JSON arrays) for text formats.
    """

    file: str
    record: int

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "record": self.record}


def empty_batch() -> pl.DataFrame:
    """A zero-row batch with only the normalised columns."""
    return pl.DataFrame(schema=NORMALISED_SCHEMA)


def conform(batch: pl.DataFrame) -> pl.DataFrame:
    """Add missing normalised columns (as nulls), cast them to their types, and put them first.

    Original fields keep their place after the normalised ones and are cast to strings. A batch that
    already conforms (the readers' own batches, conformed again by the read pipeline) comes back as
    a copy of itself, without a query: the same frame the query gives, for ~1 ms less a batch.
    """
    schema = batch.schema  # built once: DataFrame.schema and .columns build new objects per call
    if _conforms(schema):
        return batch.clone()
    columns: list[pl.Expr] = []
    for name, dtype in NORMALISED_SCHEMA.items():
        if name in schema:
            columns.append(pl.col(name).cast(dtype, strict=False))
        else:
            columns.append(pl.lit(None, dtype=dtype).alias(name))
    extra = [
        pl.col(c) if schema[c] == pl.String else pl.col(c).cast(pl.String, strict=False)
        for c in schema
        if c not in NORMALISED_SCHEMA
    ]
    return batch.select(columns + extra)


_NORMALISED_TYPES = list(NORMALISED_SCHEMA.values())


def _conforms(schema: pl.Schema) -> bool:
    """The normalised columns first, in order and of their types, then only string columns."""
    names, types = schema.names(), schema.dtypes()
    count = len(NORMALISED_COLUMNS)
    return (
        tuple(names[:count]) == NORMALISED_COLUMNS
        and types[:count] == _NORMALISED_TYPES
        and all(dtype == pl.String for dtype in types[count:])
    )


def concat(batches: list[pl.DataFrame]) -> pl.DataFrame:
    """Concatenate batches whose original columns differ (missing columns become null)."""
    if not batches:
        return empty_batch()
    return pl.concat(batches, how="diagonal_relaxed")
