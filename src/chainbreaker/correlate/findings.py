"""Fold repeated hits: one rule on one entity within ``finding_window`` becomes one finding."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta

from chainbreaker.alerts import Alert
from chainbreaker.correlate.grouping import AlertEntities
from chainbreaker.correlate.progression import alert_phases
from chainbreaker.events import EventRef
from chainbreaker.incidents import Finding

#: Evidence references kept per finding (the count says how many there were).
MAX_REFS_PER_FINDING = 20


def _entity(entities: AlertEntities, alert: Alert) -> str:
    """The entity a finding is about: its host, else its first address, else its account."""
    if entities.hosts:
        return f"host:{entities.hosts[0]}"
    if entities.addresses:
        return f"ip:{entities.addresses[0]}"
    if entities.users:
        return f"user:{entities.users[0]}"
    return f"rule:{alert.rule_id}"


def _union(values: Sequence[tuple[str, ...]]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for vs in values for v in vs))


def fold_findings(
    alerts: Sequence[Alert], entities: Sequence[AlertEntities], finding_window: int
) -> list[Finding]:
    """Findings of one incident's alerts (given in time order), ordered by first time then rule."""
    runs: dict[tuple[str, str], list[list[int]]] = defaultdict(list)
    gap = timedelta(seconds=finding_window)
    for i, alert in enumerate(alerts):
        key = (alert.rule_id, _entity(entities[i], alert))
        chains = runs[key]
        if chains and alert.time - alerts[chains[-1][-1]].time <= gap:
            chains[-1].append(i)
        else:
            chains.append([i])
    findings = []
    for (rule_id, entity), chains in runs.items():
        for chain in chains:
            hits = [alerts[i] for i in chain]
            first = hits[0]
            phases = [alert_phases(h) for h in hits]
            refs: list[EventRef] = []
            for hit in hits:
                refs.extend(r for r in hit.event_refs if len(refs) < MAX_REFS_PER_FINDING)
            digest = hashlib.sha1(f"{rule_id}|{entity}|{first.id}".encode()).hexdigest()[:12]
            findings.append(
                Finding(
                    id=f"F-{digest}",
                    rule_id=rule_id,
                    title=first.title,
                    level=max(h.level for h in hits),
                    detector=first.detector,
                    entity=entity,
                    first_seen=first.time,
                    last_seen=max(h.time for h in hits),
                    count=sum(max(h.count, 1) for h in hits),
                    alert_ids=tuple(h.id for h in hits),
                    techniques=_union([h.techniques for h in hits]),
                    tactics=_union([p[1] for p in phases]),
                    killchain_phases=_union([p[0] for p in phases]),
                    ukc_phases=_union([p[2] for p in phases]),
                    hosts=_union([tuple(h for h in (x.host,) if h) for x in hits]),
                    users=_union([tuple(u for u in (x.user,) if u) for x in hits]),
                    addresses=_union([entities[i].addresses for i in chain]),
                    event_refs=tuple(refs),
                    matched=first.matched,
                    description=first.description,
                )
            )
    return sorted(findings, key=lambda f: (f.first_seen, f.rule_id, f.entity))
