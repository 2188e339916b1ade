"""Observables of an event batch, as (row, field, kind, value) rows ready to join against indicators.

Which original fields carry which kind of observable (Zeek, Suricata, Sysmon names) is data here;
values are normalised exactly like indicator values (see indicators.finalise).
"""

from __future__ import annotations

import polars as pl

from chainbreaker.detect.intel.indicators import normalise_url


def _host(name: str) -> pl.Expr:
    return (
        pl.col(name).str.to_lowercase().str.strip_chars().str.strip_chars_end(".").str.replace(r":\d+$", "")
    )


def _base(name: str) -> pl.Expr:
    return pl.col(name).str.to_lowercase().str.replace(r"^.*[\\/]", "")


def _hash_in(name: str, algorithm: str, length: int) -> pl.Expr:
    """One hash out of Sysmon's ``Hashes`` field (``SHA256=...,MD5=...``)."""
    return pl.col(name).str.extract(rf"(?i){algorithm}=([0-9a-f]{{{length}}})", 1).str.to_lowercase()


def _url(host: str, path: str) -> pl.Expr:
    return normalise_url(pl.concat_str(pl.col(host), pl.col(path)))


def _lower(name: str) -> pl.Expr:
    return pl.col(name).str.to_lowercase().str.strip_chars()


#: (field, kind, columns needed, expression producing the normalised observable)
SPECS: list[tuple[str, str, tuple[str, ...], pl.Expr]] = [
    ("src_ip", "ip", ("src_ip",), _lower("src_ip")),
    ("dst_ip", "ip", ("dst_ip",), _lower("dst_ip")),
    ("IpAddress", "ip", ("IpAddress",), _lower("IpAddress").str.replace(r"^::ffff:", "")),
    ("query", "domain", ("query",), _host("query")),
    ("raw.host", "domain", ("raw.host",), _host("raw.host")),
    ("server_name", "domain", ("server_name",), _host("server_name")),
    ("QueryName", "domain", ("QueryName",), _host("QueryName")),
    ("DestinationHostname", "domain", ("DestinationHostname",), _host("DestinationHostname")),
    ("dns.rrname", "domain", ("dns.rrname",), _host("dns.rrname")),
    ("tls.sni", "domain", ("tls.sni",), _host("tls.sni")),
    ("http.hostname", "domain", ("http.hostname",), _host("http.hostname")),
    ("url", "url", ("raw.host", "uri"), _url("raw.host", "uri")),
    ("url", "url", ("http.hostname", "http.url"), _url("http.hostname", "http.url")),
    ("Hashes", "md5", ("Hashes",), _hash_in("Hashes", "MD5", 32)),
    ("Hashes", "sha1", ("Hashes",), _hash_in("Hashes", "SHA1", 40)),
    ("Hashes", "sha256", ("Hashes",), _hash_in("Hashes", "SHA256", 64)),
    ("Hash", "sha256", ("Hash",), _hash_in("Hash", "SHA256", 64)),  # Sysmon 15 (FileCreateStreamHash)
    ("Hash", "md5", ("Hash",), _hash_in("Hash", "MD5", 32)),
    ("md5", "md5", ("md5",), _lower("md5")),
    ("sha1", "sha1", ("sha1",), _lower("sha1")),
    ("sha256", "sha256", ("sha256",), _lower("sha256")),
    ("fileinfo.md5", "md5", ("fileinfo.md5",), _lower("fileinfo.md5")),
    ("fileinfo.sha256", "sha256", ("fileinfo.sha256",), _lower("fileinfo.sha256")),
    ("process_image", "filename", ("process_image",), _base("process_image")),
    ("TargetFilename", "filename", ("TargetFilename",), _base("TargetFilename")),
    ("ImageLoaded", "filename", ("ImageLoaded",), _base("ImageLoaded")),
    ("filename", "filename", ("filename",), _base("filename")),
    ("ja3", "ja3", ("ja3",), _lower("ja3")),
    ("tls.ja3.hash", "ja3", ("tls.ja3.hash",), _lower("tls.ja3.hash")),
]  # fmt: skip

SCHEMA = {"_row": pl.UInt32, "field": pl.String, "observed": pl.String, "kind": pl.String, "value": pl.String}


def observables(batch: pl.DataFrame, kinds: set[str]) -> pl.DataFrame:
    """Rows (``_row`` index into ``batch``, field, observed, kind, value) for the wanted kinds.

    Domains are expanded to every parent suffix (``a.b.evil.com`` -> ``b.evil.com``, ``evil.com``,
    ``com``) so that one join finds indicators on any parent domain.
    """
    frames = []
    for field, kind, needed, expr in SPECS:
        if kind not in kinds or not all(c in batch.columns for c in needed):
            continue
        part = batch.select(pl.col("_row"), expr.alias("observed")).filter(
            pl.col("observed").is_not_null() & (pl.col("observed") != "") & (pl.col("observed") != "-")
        )
        frames.append(part.with_columns(pl.lit(field).alias("field"), pl.lit(kind).alias("kind")))
    if not frames:
        return pl.DataFrame(schema=SCHEMA)
    found = pl.concat(frames).with_columns(pl.col("observed").alias("value"))
    domains = found.filter(pl.col("kind") == "domain")
    if domains.height:
        labels = pl.col("observed").str.split(".")
        domains = (
            domains.with_columns(pl.int_ranges(0, labels.list.len()).alias("_i"))
            .explode("_i")
            .with_columns(labels.list.slice(pl.col("_i")).list.join(".").alias("value"))
            .drop("_i")
        )
        found = pl.concat([found.filter(pl.col("kind") != "domain"), domains.select(found.columns)])
    return found.select(SCHEMA.keys())
