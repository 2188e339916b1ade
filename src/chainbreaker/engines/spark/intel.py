"""Threat-intel matching on Spark: a broadcast join picks the events that carry an indicator.

The executors compute, per event, *tokens* ``kind<US>value`` for the observables the embedded
matcher reads (:data:`chainbreaker.detect.intel.observables.SPECS`: the same fields, normalised
the same way: lower case, trimmed, domain parent suffixes, URL without scheme, hashes out of
Sysmon's ``Hashes``, file base names; IPv4 addresses as ``cidr/<prefix><US><network>`` for each
prefix length of the feed's CIDRs), explode them and left-semi join them with the indicator
tokens (broadcast: feeds are small next to event data). The rows that hit, with the columns the
matcher reads, go to the driver, where :class:`IntelDetector` itself matches them again and
makes the alerts: the join is a filter, the decision and the alert text stay in one place.

The Spark tokens are written to be a superset of the embedded observables (hashes: every
``MD5=`` match, not only the first; addresses: with and without ``::ffff:``), so a row the
matcher would flag is never dropped by the join.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chainbreaker.detect.base import Detector
from chainbreaker.engines.spark.analytics import FILE_COLUMN, ROW_COLUMN, Feed, positioned
from chainbreaker.engines.spark.backend import quoted

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame
    from pyspark.sql.types import StructType

    from chainbreaker.detect.intel import IntelDetector

TOKEN_COLUMN = "__cb_token"
_SEP = "\x1f"
#: Columns of the matched events the matcher's alerts read besides the observables.
CONTEXT = ("timestamp", "host", "user", "src_ip", "dst_ip", "event_ref", "source")
_HASH_LENGTHS = {"md5": 32, "sha1": 40, "sha256": 64}


def _col(name: str) -> Column:
    from pyspark.sql import functions as F

    return F.col(quoted(name))


def _strip(column: Column) -> Column:
    """Leading and trailing white space off (Unicode, as Polars' ``strip_chars``)."""
    from pyspark.sql import functions as F

    return F.regexp_replace(column, r"(?U)^\s+|\s+$", "")


def _one(value: Column) -> Column:
    from pyspark.sql import functions as F

    return F.array(value)


def _domain_suffixes(name: str) -> Column:
    """The host name and each parent domain (``a.b.c`` -> ``a.b.c``, ``b.c``, ``c``)."""
    from pyspark.sql import functions as F

    host = F.regexp_replace(_strip(F.lower(_col(name))), r"\.+$", "")
    labels = F.split(F.regexp_replace(host, r":\d+$", ""), r"\.")
    return F.transform(
        F.sequence(F.lit(1), F.size(labels)),
        lambda i: F.array_join(F.slice(labels, i, F.size(labels) - i + 1), "."),
    )


def _hashes(name: str, algorithm: str) -> Column:
    from pyspark.sql import functions as F

    length = _HASH_LENGTHS[algorithm]
    found = F.regexp_extract_all(_col(name), F.lit(f"(?i){algorithm}=([0-9a-f]{{{length}}})"), F.lit(1))
    return F.transform(found, F.lower)


def _url(host: str, path: str) -> Column:
    from pyspark.sql import functions as F

    url = F.regexp_replace(_strip(F.concat(_col(host), _col(path))), r"^[a-zA-Z][a-zA-Z0-9+.-]*://", "")
    return _one(F.lower(F.regexp_replace(url, r"/+$", "")))


def _values(field: str, kind: str, needed: tuple[str, ...]) -> Column:
    """The observable values of one SPECS entry as an array (names follow the embedded SPECS)."""
    from pyspark.sql import functions as F

    if kind == "domain":
        return _domain_suffixes(field)
    if kind == "url":
        return _url(*needed)
    if field in ("Hashes", "Hash"):
        return _hashes(field, kind)
    if kind == "filename":
        # (?d): only \n ends a line, so ``.`` crosses \r as in Rust (Polars)
        return _one(F.regexp_replace(F.lower(_col(field)), r"(?d)^.*[\\/]", ""))
    lowered = _strip(F.lower(_col(field)))
    if kind == "ip":
        return F.array(lowered, F.regexp_replace(lowered, r"^::ffff:", ""))
    return _one(lowered)


def _ipv4(value: Column) -> Column:
    """A dotted IPv4 address as a long (null for anything else)."""
    from pyspark.sql import functions as F

    parts = F.split(value, r"\.")
    number = F.lit(0).cast("long")
    for i in range(4):
        number = number * 256 + F.element_at(parts, i + 1).cast("long")
    return F.when(value.rlike(r"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$"), number)


def _tagged(values: Column, prefix: str) -> Column:
    from pyspark.sql import functions as F

    return F.transform(values, lambda v: F.concat(F.lit(prefix), v))


def _networks(values: Column, prefix: int) -> Column:
    """``cidr/<prefix><US><address >> (32 - prefix)>`` per IPv4 address (null for others)."""
    from pyspark.sql import functions as F

    return F.transform(
        values,
        lambda v: F.concat(F.lit(f"cidr/{prefix}{_SEP}"), F.shiftright(_ipv4(v), 32 - prefix).cast("string")),
    )


def token_columns(detector: IntelDetector, schema: StructType) -> tuple[list[str], list[Column]]:
    """(columns the observables read, one array<string> of tokens per observable field)."""
    from chainbreaker.detect.intel.observables import SPECS

    present = set(schema.fieldNames())
    prefixes = sorted(detector.cidrs)
    read: list[str] = []
    arrays: list[Column] = []
    for field, kind, needed, _expr in SPECS:
        if kind not in detector.kinds or not all(c in present for c in needed):
            continue
        values = _values(field, kind, needed)
        read += [c for c in needed if c not in read]
        arrays.append(_tagged(values, kind + _SEP))
        if kind == "ip":
            arrays += [_networks(values, prefix) for prefix in prefixes]
    return read, arrays


def indicator_tokens(detector: IntelDetector) -> list[str]:
    """The feed's tokens: ``kind<US>value`` per exact indicator, ``cidr/<p><US><network>`` per IPv4 CIDR."""
    tokens = [f"{k}{_SEP}{v}" for k, v in detector.exact.select("kind", "value").iter_rows()]
    for prefix, table in detector.cidrs.items():
        shift = 32 - prefix
        tokens += [f"cidr/{prefix}{_SEP}{low >> shift}" for low in table.get_column("low").to_list()]
    return tokens


def intel_feed(detector: Detector, schema: StructType) -> Feed:
    """Events with at least one observable equal to an indicator (a broadcast left-semi join)."""
    from chainbreaker.detect.intel import IntelDetector

    assert isinstance(detector, IntelDetector)
    read, arrays = token_columns(detector, schema)
    tokens = indicator_tokens(detector)
    present = set(schema.fieldNames())
    keep = [c for c in (*CONTEXT, *read) if c in present]
    keep = list(dict.fromkeys(keep))

    def select(events: DataFrame) -> DataFrame:
        from pyspark.sql import functions as F
        from pyspark.sql.types import StringType, StructField
        from pyspark.sql.types import StructType as Schema

        spark = events.sparkSession
        located = positioned(events)
        columns = [F.col(quoted(c)) for c in keep] + [F.col(FILE_COLUMN), F.col(ROW_COLUMN)]
        if not arrays or not tokens:
            return located.select(*columns).limit(0)
        empty = F.array().cast("array<string>")
        observed = F.array_distinct(
            F.array_compact(F.flatten(F.array(*[F.coalesce(a, empty) for a in arrays])))
        )
        wanted = spark.createDataFrame(
            [(t,) for t in tokens], Schema([StructField(TOKEN_COLUMN, StringType())])
        )
        exploded = located.select(*columns, F.explode(observed).alias(TOKEN_COLUMN))
        # a row matching several indicators comes back once per match: batches() keeps one (no shuffle)
        return exploded.join(F.broadcast(wanted), on=TOKEN_COLUMN, how="left_semi").drop(TOKEN_COLUMN)

    return Feed(detector, select)
