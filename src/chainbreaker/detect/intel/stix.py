"""STIX 2.1 bundles -> indicator rows.

Patterns are read with the stix2-patterns grammar (``Pattern.inspect()``, the parser the stix2
library itself depends on); every equality comparison on a supported object path becomes one
indicator (``AND`` patterns are loosened to their parts: a documented simplification). The plain
one-comparison form ``[type:path = 'value']``, which feeds use for nearly every indicator, is read
with a regular expression first, because the full grammar costs ~0.2 ms per pattern.
"""

from __future__ import annotations

import re
from typing import Any

import polars as pl

from chainbreaker.errors import ConfigError

#: (object type, property path) -> our kind.
PATHS = {
    ("ipv4-addr", "value"): "ip",
    ("ipv6-addr", "value"): "ip",
    ("domain-name", "value"): "domain",
    ("url", "value"): "url",
    ("file", "hashes.md5"): "md5",
    ("file", "hashes.sha-1"): "sha1",
    ("file", "hashes.sha1"): "sha1",
    ("file", "hashes.sha-256"): "sha256",
    ("file", "hashes.sha256"): "sha256",
    ("file", "name"): "filename",
    ("network-traffic", "extensions.x-ja3.hash"): "ja3",
    ("x-ja3", "value"): "ja3",
}

_SIMPLE = re.compile(r"^\[\s*([a-z0-9-]+):([a-zA-Z0-9_.'-]+)\s*=\s*'((?:[^'\\]|\\.)*)'\s*\]$")


def _path(parts: list[Any]) -> str:
    return ".".join(str(p).strip("'").lower() for p in parts)


def _comparisons(pattern: str) -> list[tuple[str, str, str]]:
    """(object type, path, value) of each equality comparison in a STIX pattern."""
    simple = _SIMPLE.match(pattern.strip())
    if simple:
        kind, path, value = simple.groups()
        return [(kind, _path(path.split(".")), value.replace("\\'", "'"))]
    from stix2patterns.v21.pattern import Pattern

    found = []
    for object_type, comparisons in Pattern(pattern).inspect().comparisons.items():
        for parts, operator, value in comparisons:
            if operator == "=" and isinstance(value, str):
                found.append((object_type, _path(parts), value.strip("'").replace("\\'", "'")))
    return found


def stix_indicators(bundle: dict[str, Any], source: str, location: str) -> pl.DataFrame:
    rows: dict[str, list[Any]] = {k: [] for k in ("kind", "value", "source", "confidence", "phase", "label")}
    for obj in bundle.get("objects") or []:
        if not isinstance(obj, dict) or obj.get("type") != "indicator":
            continue
        if obj.get("pattern_type", "stix") != "stix" or not isinstance(obj.get("pattern"), str):
            continue
        try:
            comparisons = _comparisons(obj["pattern"])
        except Exception as exc:  # the pattern grammar raises its own error types
            raise ConfigError(f"indicator {obj.get('id')}: bad STIX pattern ({exc})", location) from None
        phases = [
            p.get("phase_name")
            for p in obj.get("kill_chain_phases") or []
            if isinstance(p, dict) and "lockheed" in str(p.get("kill_chain_name", "")).lower()
        ]
        phase = phases[0] if phases else None
        for object_type, path, value in comparisons:
            kind = PATHS.get((object_type, path))
            if kind is None:
                continue
            if kind == "ip" and "/" in value:
                kind = "cidr"
            rows["kind"].append(kind)
            rows["value"].append(value)
            rows["source"].append(obj.get("created_by_ref") or source)
            rows["confidence"].append(obj.get("confidence"))
            rows["phase"].append(phase)
            rows["label"].append(obj.get("name") or obj.get("description"))
    return pl.DataFrame(rows, schema={k: pl.Int32 if k == "confidence" else pl.String for k in rows})
