"""The indicator table: every loaded indicator as one row of a Polars frame.

Columns: ``kind`` (one of :data:`KINDS`), ``value`` (normalised: lower case; CIDRs in canonical
form; URLs without scheme and trailing slash), ``source`` (feed name or file), ``confidence``
(0-100), ``phase`` (a Lockheed Martin phase id when the feed gives one), ``label`` (name or comment).
Loaders for each feed format return frames with these columns; :func:`finalise` normalises
values and drops duplicates.
"""

from __future__ import annotations

import polars as pl

KINDS = ("ip", "cidr", "domain", "url", "md5", "sha1", "sha256", "filename", "ja3")

SCHEMA: dict[str, pl.DataType] = {
    "kind": pl.String(),
    "value": pl.String(),
    "source": pl.String(),
    "confidence": pl.Int32(),
    "phase": pl.String(),
    "label": pl.String(),
}

#: Kill-chain phase assumed when a feed names none: where such an indicator usually shows up.
DEFAULT_PHASE = {
    "ip": "command-and-control",
    "cidr": "command-and-control",
    "domain": "command-and-control",
    "url": "delivery",
    "md5": "installation",
    "sha1": "installation",
    "sha256": "installation",
    "filename": "installation",
    "ja3": "command-and-control",
}

_IPV4 = r"^\d{1,3}(\.\d{1,3}){3}$"
_IPV6 = r"^[0-9a-f:]*:[0-9a-f:.]+$"


def infer_kind(value: pl.Expr) -> pl.Expr:
    """Indicator kind from the value's shape (plain lists carry no type column)."""
    v = value.str.strip_chars().str.to_lowercase()
    return (
        pl.when(v.str.contains(r"^[a-z][a-z0-9+.-]*://"))
        .then(pl.lit("url"))
        .when(v.str.contains(r"^\d{1,3}(\.\d{1,3}){3}/\d{1,2}$|^[0-9a-f:]+:[0-9a-f:]*/\d{1,3}$"))
        .then(pl.lit("cidr"))
        .when(v.str.contains(_IPV4) | v.str.contains(_IPV6))
        .then(pl.lit("ip"))
        .when(v.str.contains(r"^[0-9a-f]{64}$"))
        .then(pl.lit("sha256"))
        .when(v.str.contains(r"^[0-9a-f]{40}$"))
        .then(pl.lit("sha1"))
        .when(v.str.contains(r"^[0-9a-f]{32}$"))
        .then(pl.lit("md5"))
        .when(
            v.str.contains(r"\.(exe|dll|scr|ps1|vbs|js|hta|bat|cmd|lnk|doc[mx]?|xls[mx]?|zip|iso|msi|jar)$")
        )
        .then(pl.lit("filename"))
        .when(v.str.contains(r"^([a-z0-9_-]+\.)+[a-z][a-z0-9-]*$"))
        .then(pl.lit("domain"))
        .otherwise(None)
    )


def normalise_url(url: pl.Expr) -> pl.Expr:
    """``HTTP://Evil.com/a/`` -> ``evil.com/a``: the scheme and a trailing slash do not matter."""
    return (
        url.str.strip_chars()
        .str.replace(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", "")
        .str.strip_chars_end("/")
        .str.to_lowercase()
    )


def empty() -> pl.DataFrame:
    return pl.DataFrame(schema=SCHEMA)


def finalise(frame: pl.DataFrame) -> pl.DataFrame:
    """Cast to SCHEMA, normalise values per kind, drop rows without kind/value and duplicates."""
    for name, dtype in SCHEMA.items():
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=dtype).alias(name))
    frame = frame.select(pl.col(n).cast(t, strict=False) for n, t in SCHEMA.items())
    value = pl.col("value").str.strip_chars()
    frame = frame.with_columns(
        pl.when(pl.col("kind") == "url")
        .then(normalise_url(value))
        .when(pl.col("kind") == "domain")
        .then(value.str.to_lowercase().str.strip_chars("."))
        .when(pl.col("kind") == "filename")
        .then(value.str.to_lowercase().str.replace(r"^.*[\\/]", ""))
        .otherwise(value.str.to_lowercase())
        .alias("value"),
        pl.col("confidence").fill_null(50).clip(0, 100),
    )
    frame = frame.filter(
        pl.col("kind").is_in(KINDS) & pl.col("value").is_not_null() & (pl.col("value") != "")
    )
    return frame.unique(subset=["kind", "value", "source"], keep="first", maintain_order=True)
