"""Indicator loaders: STIX 2.1 bundles, MISP event JSON, CSV (type,value,confidence,source) and text lists.

Everything is read into Polars frames column-wise; no Python object per indicator except where a
format forces it (JSON documents), so a million-line list loads in seconds.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import polars as pl

from chainbreaker.detect.intel.indicators import empty, finalise, infer_kind
from chainbreaker.detect.intel.misp import misp_indicators
from chainbreaker.detect.intel.stix import stix_indicators
from chainbreaker.errors import ConfigError

#: Common spellings of the kind column in CSV feeds -> our kinds.
KIND_ALIASES = {
    "ipv4": "ip", "ipv6": "ip", "ip-dst": "ip", "ip-src": "ip", "ipv4-addr": "ip", "ipv6-addr": "ip",
    "address": "ip", "network": "cidr", "domain-name": "domain", "hostname": "domain", "fqdn": "domain",
    "uri": "url", "link": "url", "sha-256": "sha256", "sha-1": "sha1", "md-5": "md5", "file": "filename",
    "ja3-fingerprint-md5": "ja3", "ja3_hash": "ja3",
}  # fmt: skip


def load_indicators(paths: list[Path] | list[str]) -> pl.DataFrame:
    """Load and merge indicator files (format detected from the content)."""
    frames = [load_file(Path(p)) for p in paths]
    if len(frames) == 1:
        return frames[0]  # already finalised by its loader
    return finalise(pl.concat(frames, how="diagonal_relaxed")) if frames else empty()


def load_file(path: Path) -> pl.DataFrame:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read indicator file: {exc.strerror}", str(path)) from None
    head = data[:4096].lstrip()
    if head[:1] in (b"{", b"["):
        try:
            document = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise ConfigError(f"invalid JSON: {exc}", str(path)) from None
        if isinstance(document, dict) and document.get("type") == "bundle":
            return finalise(stix_indicators(document, source=path.name, location=str(path)))
        return finalise(misp_indicators(document, source=path.name, location=str(path)))
    first = head.split(b"\n", 1)[0].decode("utf-8", "replace").strip().lower()
    if "," in first and ("value" in first.split(",") or "indicator" in first.split(",")):
        return load_csv(data, path)
    return load_text(data, path)


def load_text(data: bytes, path: Path) -> pl.DataFrame:
    """One indicator per line; ``#`` comments and blank lines skipped; kind inferred from the shape."""
    lines = pl.Series("value", data.decode("utf-8", "replace").splitlines(), dtype=pl.String)
    frame = lines.to_frame().with_columns(pl.col("value").str.replace(r"\s+#.*$", "").str.strip_chars())
    frame = frame.filter((pl.col("value") != "") & ~pl.col("value").str.starts_with("#"))
    frame = frame.with_columns(infer_kind(pl.col("value")).alias("kind"), pl.lit(path.name).alias("source"))
    return finalise(frame)


def load_csv(data: bytes, path: Path) -> pl.DataFrame:
    """CSV with a header: ``value`` (or ``indicator``) required; ``type``, ``confidence``, ``source``,
    ``phase`` and ``label``/``description`` optional. A missing or unknown type is inferred."""
    try:
        frame = pl.read_csv(data, infer_schema=False, truncate_ragged_lines=True, comment_prefix="#")
    except pl.exceptions.PolarsError as exc:
        raise ConfigError(f"invalid CSV: {exc}", str(path)) from None
    frame = frame.rename({c: c.strip().lower() for c in frame.columns})
    if "value" not in frame.columns:
        frame = frame.rename({"indicator": "value"})
    given = (
        pl.col("type").str.strip_chars().str.to_lowercase()
        if "type" in frame.columns
        else pl.lit(None, dtype=pl.String)
    )
    given = given.replace(KIND_ALIASES)
    kind = pl.when(given.is_in(["ip", "cidr", "domain", "url", "md5", "sha1", "sha256", "filename", "ja3"]))
    columns = [
        pl.col("value"),
        kind.then(given).otherwise(infer_kind(pl.col("value"))).alias("kind"),
        (pl.col("source") if "source" in frame.columns else pl.lit(path.name)).alias("source"),
        (pl.col("confidence") if "confidence" in frame.columns else pl.lit(None, dtype=pl.String)).alias(
            "confidence"
        ),
        (pl.col("phase") if "phase" in frame.columns else pl.lit(None, dtype=pl.String)).alias("phase"),
    ]
    label = next((c for c in ("label", "description", "comment") if c in frame.columns), None)
    columns.append((pl.col(label) if label else pl.lit(None, dtype=pl.String)).alias("label"))
    return finalise(frame.select(columns))
