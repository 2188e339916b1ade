"""MISP event JSON exports -> indicator rows.

Accepts one ``{"Event": {...}}``, a list of them, or ``{"response": [...]}``; reads ``Attribute`` lists
of the event and of its ``Object`` entries. Composite types (``domain|ip``, ``filename|sha256``,
``ip-dst|port``) give one indicator per part. MISP has no confidence field: it is derived from the
event's threat level (1 high .. 4 undefined), and the phase from a ``kill-chain:`` tag or the
attribute category.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import polars as pl

from chainbreaker.errors import ConfigError

TYPES = {
    "ip-dst": "ip", "ip-src": "ip", "domain": "domain", "hostname": "domain", "url": "url", "uri": "url",
    "link": "url", "ip": "ip", "md5": "md5", "sha1": "sha1", "sha256": "sha256", "filename": "filename",
    "ja3-fingerprint-md5": "ja3", "port": None,
}  # fmt: skip

#: MISP attribute categories -> the kill-chain phase such an attribute usually evidences.
CATEGORY_PHASES = {
    "payload delivery": "delivery",
    "payload installation": "installation",
    "persistence mechanism": "installation",
    "artifacts dropped": "installation",
    "network activity": "command-and-control",
}

THREAT_LEVEL_CONFIDENCE = {"1": 90, "2": 70, "3": 40, "4": 50}


def _events(document: Any) -> Iterator[dict[str, Any]]:
    if isinstance(document, list):
        for item in document:
            yield from _events(item)
    elif isinstance(document, dict):
        if "response" in document:
            yield from _events(document["response"])
        elif isinstance(document.get("Event"), dict):
            yield document["Event"]


def _attributes(event: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from (a for a in event.get("Attribute") or [] if isinstance(a, dict))
    for obj in event.get("Object") or []:
        if isinstance(obj, dict):
            yield from (a for a in obj.get("Attribute") or [] if isinstance(a, dict))


def _phase(attribute: dict[str, Any]) -> str | None:
    for tag in attribute.get("Tag") or []:
        name = str(tag.get("name", "")) if isinstance(tag, dict) else ""
        if name.lower().startswith("kill-chain:"):
            return name.split(":", 1)[1].strip().strip('"').lower().replace(" ", "-")
    return CATEGORY_PHASES.get(str(attribute.get("category", "")).lower())


def misp_indicators(document: Any, source: str, location: str) -> pl.DataFrame:
    events = list(_events(document))
    if not events:
        raise ConfigError("neither a STIX 2.1 bundle nor a MISP event export", location)
    rows: dict[str, list[Any]] = {k: [] for k in ("kind", "value", "source", "confidence", "phase", "label")}
    for event in events:
        org = event.get("Orgc") or event.get("Org") or {}
        name = f"MISP {org.get('name')}" if isinstance(org, dict) and org.get("name") else source
        confidence = THREAT_LEVEL_CONFIDENCE.get(str(event.get("threat_level_id", "4")), 50)
        for attribute in _attributes(event):
            types = str(attribute.get("type", "")).split("|")
            values = str(attribute.get("value", "")).split("|")
            for kind_name, value in zip(types, values, strict=False):
                kind = TYPES.get(kind_name)
                if kind is None or not value:
                    continue
                rows["kind"].append(kind)
                rows["value"].append(value)
                rows["source"].append(name)
                rows["confidence"].append(confidence)
                rows["phase"].append(_phase(attribute))
                rows["label"].append(attribute.get("comment") or event.get("info"))
    return pl.DataFrame(rows, schema={k: pl.Int32 if k == "confidence" else pl.String for k in rows})
