"""``stix``: a STIX 2.1 bundle built with the ``stix2`` library (which validates every object).

Per incident: an ``incident`` SDO and a ``report`` (report_types ``incident``) referencing it,
one ``attack-pattern`` per ATT&CK technique (external reference to the ATT&CK id, kill-chain
phases on ATT&CK and Lockheed Martin), a ``sighting`` of each pattern with first/last time and count,
and ``indicator`` objects for the containment addresses and domains. Everything is created by one
``identity`` (chainbreaker). Ids are UUIDv5 over stable keys, so a rerun gives the same ids.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import stix2

from chainbreaker import __version__
from chainbreaker.frameworks.attack import find_technique
from chainbreaker.outputs.base import FetchEvent, Output, alerts_of, incidents_of, no_events
from chainbreaker.outputs.registry import register

#: Namespace of chainbreaker's deterministic STIX ids.
NAMESPACE = uuid.UUID("6f0c1a8e-4b1d-5c7e-9a3f-2d8b7e1c4a90")
#: Fixed creation time of the objects that describe knowledge, not this run (identity, patterns).
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
LOCKHEED = "lockheed-martin-cyber-kill-chain"


def sid(kind: str, key: str) -> str:
    return f"{kind}--{uuid.uuid5(NAMESPACE, f'{kind}|{key}')}"


def _time(value: str | None) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else EPOCH


def _attack_pattern(tid: str, identity: str, tactics: list[str], phases: list[str]) -> stix2.AttackPattern:
    known = find_technique(tid)
    chain = [{"kill_chain_name": "mitre-attack", "phase_name": t} for t in tactics]
    chain += [{"kill_chain_name": LOCKHEED, "phase_name": p} for p in phases]
    return stix2.AttackPattern(
        id=sid("attack-pattern", tid),
        created=EPOCH,
        modified=EPOCH,
        created_by_ref=identity,
        name=known.name if known else tid,
        external_references=[
            {
                "source_name": "mitre-attack",
                "external_id": tid,
                "url": f"https://attack.mitre.org/techniques/{tid.replace('.', '/')}/",
            }
        ],
        kill_chain_phases=chain or None,
    )


def _indicator_pattern(kind: str, value: str) -> str | None:
    if kind == "domains":
        return f"[domain-name:value = '{value}']" if "'" not in value and "\\" not in value else None
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        return None
    return f"[{'ipv4-addr' if ip.version == 4 else 'ipv6-addr'}:value = '{ip}']"


def build_bundle(result: Mapping[str, Any]) -> stix2.Bundle:
    identity = stix2.Identity(
        id=sid("identity", "chainbreaker"),
        created=EPOCH,
        modified=EPOCH,
        name="chainbreaker",
        identity_class="system",
        description=f"chainbreaker {__version__}: kill-chain detection and correlation",
    )
    objects: dict[str, Any] = {identity.id: identity}
    alerts = {a.get("id"): a for a in alerts_of(result)}
    for incident in incidents_of(result):
        inc_id = str(incident["id"])
        first, last = _time(incident.get("first_seen")), _time(incident.get("last_seen"))
        members = [alerts[a] for a in incident.get("alert_ids") or [] if a in alerts]
        per_technique: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
        for alert in members:
            for tid in alert.get("techniques") or []:
                per_technique[tid].append(alert)
        refs: list[str] = []
        for tid, hits in sorted(per_technique.items()):
            tactics = sorted({t for a in hits for t in a.get("tactics") or []})
            phases = sorted({p for a in hits for p in a.get("killchain_phases") or []})
            pattern = objects.get(sid("attack-pattern", tid)) or _attack_pattern(
                tid, identity.id, tactics, phases
            )
            objects[pattern.id] = pattern
            times = sorted(_time(a.get("time")) for a in hits)
            sighting = stix2.Sighting(
                id=sid("sighting", f"{inc_id}|{tid}"),
                created=last,
                modified=last,
                created_by_ref=identity.id,
                sighting_of_ref=pattern.id,
                where_sighted_refs=[identity.id],
                first_seen=times[0],
                last_seen=times[-1],
                count=sum(int(a.get("count") or 1) for a in hits),
                description="; ".join(dict.fromkeys(str(a.get("title")) for a in hits))[:1000],
            )
            objects[sighting.id] = sighting
            refs += [pattern.id, sighting.id]
        contain = incident.get("containment") or {}
        for kind in ("addresses", "domains"):
            for value in contain.get(kind) or []:
                expression = _indicator_pattern(kind, str(value))
                if expression is None:
                    continue
                indicator = stix2.Indicator(
                    id=sid("indicator", f"{inc_id}|{value}"),
                    created=last,
                    modified=last,
                    created_by_ref=identity.id,
                    name=f"{value} ({inc_id})",
                    indicator_types=["malicious-activity"],
                    pattern=expression,
                    pattern_type="stix",
                    valid_from=first,
                )
                objects[indicator.id] = indicator
                refs.append(indicator.id)
        hosts = ", ".join(incident.get("hosts") or [])
        stix_incident = stix2.v21.Incident(
            id=sid("incident", inc_id),
            created=first,
            modified=last,
            created_by_ref=identity.id,
            name=str(incident.get("title") or inc_id),
            description=f"{inc_id}: score {incident.get('score')}, hosts {hosts}",
            kill_chain_phases=[
                {"kill_chain_name": LOCKHEED, "phase_name": p} for p in incident.get("killchain_phases") or []
            ]
            or None,
            external_references=[{"source_name": "chainbreaker", "external_id": inc_id}],
        )
        objects[stix_incident.id] = stix_incident
        report = stix2.Report(
            id=sid("report", inc_id),
            created=first,
            modified=last,
            created_by_ref=identity.id,
            name=f"{inc_id}: {incident.get('title') or ''}",
            report_types=["incident"],
            published=last,
            object_refs=[stix_incident.id, *refs, identity.id],
        )
        objects[report.id] = report
    return stix2.Bundle(objects=list(objects.values()), id=sid("bundle", "|".join(sorted(objects))))


@register
class StixOutput(Output):
    name = "stix"
    description = "STIX 2.1 bundle: incidents as reports with sightings, attack patterns, indicators."
    files = ("stix.json",)

    def write(
        self, result: Mapping[str, Any], out_dir: Path, fetch_event: FetchEvent = no_events
    ) -> list[Path]:
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / self.files[0]
        # stix2's own pretty printer re-sorts every object (minutes for ~1,000 objects); indent the
        # compact form with orjson instead, which keeps stix2's property order.
        compact = build_bundle(result).serialize()
        path.write_bytes(orjson.dumps(orjson.loads(compact), option=orjson.OPT_INDENT_2) + b"\n")
        return [path]
