"""``build_incidents``: alerts + learnt entity links + config -> ranked incidents.

Incident ids are deterministic: ``INC-`` and a hash of the first alert (time, then id) that opened
the incident, so the same input gives the same ids on every run, and an incident keeps its id when
later alerts join it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from chainbreaker.alerts import Alert
from chainbreaker.correlate.findings import fold_findings
from chainbreaker.correlate.grouping import AlertEntities, entities_of, group_alerts
from chainbreaker.correlate.links import EntityLinks
from chainbreaker.correlate.progression import progression
from chainbreaker.correlate.score import score
from chainbreaker.correlate.settings import CorrelateSettings
from chainbreaker.frameworks import KILLCHAIN_PHASES
from chainbreaker.incidents import Incident
from chainbreaker.respond.containment import containment
from chainbreaker.respond.countermeasures import break_at, guidance


def incident_id(opener: Alert) -> str:
    return "INC-" + hashlib.sha1(f"incident|{opener.id}".encode()).hexdigest()[:12]


def _display_hosts(alerts: Sequence[Alert], ents: Sequence[AlertEntities], links: EntityLinks) -> list[str]:
    """Host names as the sources spell them (short form), keyed case-insensitively, in order seen."""
    shown: dict[str, str] = {}
    for alert, ent in zip(alerts, ents, strict=True):
        for key in ent.hosts:
            if key in shown:
                continue
            own = alert.host.strip().split(".", 1)[0] if alert.host else ""
            shown[key] = own if own.lower() == key else links.display(key)
    return list(shown.values())


def _display_users(alerts: Sequence[Alert], ents: Sequence[AlertEntities]) -> list[str]:
    shown: dict[str, str] = {}
    for alert, ent in zip(alerts, ents, strict=True):
        for key in ent.users:
            raw = (alert.user or key).strip()
            if "\\" in key and not any(sep in raw for sep in "\\@") and alert.host:
                raw = f"{alert.host.strip().split('.', 1)[0]}\\{raw}"  # a local account: name its host
            shown.setdefault(key, raw)
    return list(shown.values())


def _title(alerts: Sequence[Alert], hosts: Sequence[str], furthest: str | None) -> str:
    top = max(alerts, key=lambda a: (a.level, -a.time.timestamp()))
    names = {p.id: p.name for p in KILLCHAIN_PHASES}
    where = ", ".join(hosts[:3]) + (f" +{len(hosts) - 3}" if len(hosts) > 3 else "") if hosts else "no host"
    phase = names.get(furthest or "", "no kill-chain phase")
    return f"{phase} on {where}: {top.title}"


def build_incidents(
    alerts: Sequence[Alert], links: EntityLinks | None = None, config: Mapping[str, Any] | None = None
) -> list[Incident]:
    """Group alerts into incidents, ranked by score (highest first), then first time, then id.

    ``config`` is ``{"correlate": {...}, "assets": {...}}`` (or the bare ``[correlate]`` section);
    see chainbreaker.correlate.settings for the keys. Raises ConfigError on bad settings.
    """
    settings = CorrelateSettings.from_mapping(config)
    links = links if links is not None else EntityLinks()
    for address, host in settings.asset_addresses:
        links.declare(address, host)  # declared assets win over anything learnt
    unique = list({a.id: a for a in alerts}.values())
    ents = [entities_of(a, links, settings) for a in unique]
    incidents = []
    for group in group_alerts(unique, ents, settings):
        members = [unique[i] for i in group]
        member_ents = [ents[i] for i in group]
        opener = next(a for a in members if a.level >= settings.min_level)
        prog = progression(members)
        hosts = _display_hosts(members, member_ents, links)
        users = _display_users(members, member_ents)
        addresses = list(dict.fromkeys(a for e in member_ents for a in e.addresses))
        unresolved_internal = [
            a for e in member_ents for a in e.unresolved if settings.is_internal(a) and not e.hosts
        ]
        total, explanation = score(members, prog, hosts, users, settings)
        contain = containment(members, hosts, users, addresses, settings, unresolved_internal)
        incidents.append(
            Incident(
                id=incident_id(opener),
                title=_title(members, hosts, prog.killchain.furthest),
                level=max(a.level for a in members),
                score=total,
                first_seen=members[0].time,
                last_seen=max(a.time for a in members),
                alert_ids=tuple(a.id for a in members),
                findings=tuple(fold_findings(members, member_ents, settings.finding_window)),
                progression=prog,
                score_explanation=explanation,
                hosts=tuple(hosts),
                users=tuple(users),
                addresses=tuple(addresses),
                domains=contain.domains,
                techniques=tuple(dict.fromkeys(t for a in members for t in a.techniques)),
                break_at=break_at(prog.killchain),
                countermeasures=guidance(prog.killchain),
                containment=contain,
            )
        )
    return sorted(incidents, key=lambda i: (-i.score, i.first_seen, i.id))
