"""Derived views over a run: the ATT&CK matrix heat map, kill-chain coverage, an incident's graph.

Computed from stored alerts on request; nothing here writes.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from chainbreaker.frameworks import KILLCHAIN_PHASES, UKC_PHASES, attack
from chainbreaker.store.backend import Row


def matrix(alerts: Iterable[Mapping[str, Any]], only_hit: bool = False) -> Row:
    """ATT&CK Enterprise tactics in matrix order, parent techniques under each, heat = alerts.

    A sub-technique's alerts count for its parent cell and are listed under it.
    """
    data = attack()
    hits: Counter[str] = Counter()
    subs: dict[str, Counter[str]] = defaultdict(Counter)
    for alert in alerts:
        for tid in set(alert.get("techniques") or []):
            parent = str(tid).split(".", 1)[0]
            hits[parent] += 1
            if "." in str(tid):
                subs[parent][str(tid)] += 1
    columns = []
    for tac in data.tactics:
        cells: list[dict[str, Any]] = []
        for tech in data.techniques.values():
            if tech.is_subtechnique or not tech.current or tac.short_name not in tech.tactics:
                continue
            if only_hit and not hits[tech.id]:
                continue
            cells.append(
                {
                    "id": tech.id,
                    "name": tech.name,
                    "alerts": hits[tech.id],
                    "subtechniques": [
                        {"id": s, "name": _name(s), "alerts": n} for s, n in sorted(subs[tech.id].items())
                    ],
                }
            )
        cells.sort(key=lambda c: (-c["alerts"], c["name"]))
        columns.append({"id": tac.id, "short_name": tac.short_name, "name": tac.name, "techniques": cells})
    return {"attack_version": data.version, "max": max(hits.values(), default=0), "tactics": columns}


def _name(tid: str) -> str:
    tech = attack().techniques.get(tid)
    return tech.name if tech else tid


def coverage(alerts: Iterable[Mapping[str, Any]]) -> Row:
    """Which kill-chain phases, UKC phases and tactics a run's alerts reached, and the gaps."""
    models: dict[str, dict[str, dict[str, Any]]] = {"killchain": {}, "ukc": {}, "attack": {}}
    keys = {"killchain": "killchain_phases", "ukc": "ukc_phases", "attack": "tactics"}
    for alert in alerts:
        for model, key in keys.items():
            for phase in alert.get(key) or []:
                slot = models[model].setdefault(phase, {"alerts": 0, "rules": set(), "techniques": set()})
                slot["alerts"] += 1
                slot["rules"].add(str(alert.get("title") or alert.get("rule_id")))
                slot["techniques"].update(alert.get("techniques") or [])
    order = {
        "killchain": [(p.id, p.name) for p in KILLCHAIN_PHASES],
        "ukc": [(p.id, p.name) for p in UKC_PHASES],
        "attack": [(t.short_name, t.name) for t in attack().tactics],
    }
    out: Row = {}
    for model, phases in order.items():
        rows = []
        for pid, name in phases:
            slot = models[model].get(pid, {"alerts": 0, "rules": set(), "techniques": set()})
            rows.append(
                {
                    "id": pid,
                    "name": name,
                    "alerts": slot["alerts"],
                    "rules": sorted(slot["rules"]),
                    "techniques": sorted(slot["techniques"]),
                }
            )
        out[model] = {"phases": rows, "gaps": [r["id"] for r in rows if not r["alerts"]]}
    return out


def entity_graph(incident: Mapping[str, Any], alerts: Iterable[Mapping[str, Any]]) -> Row:
    """Nodes (hosts, users, addresses, processes, domains) and their links, drawn from the alerts."""
    nodes: dict[str, Row] = {}
    links: Counter[tuple[str, str, str]] = Counter()

    def node(kind: str, value: Any) -> str | None:
        if value in (None, ""):
            return None
        key = f"{kind}:{value}"
        nodes.setdefault(key, {"id": key, "kind": kind, "label": str(value)})
        return key

    def link(a: str | None, b: str | None, kind: str) -> None:
        if a and b and a != b:
            links[(a, b, kind)] += 1

    for host in incident.get("hosts") or []:
        node("host", host)
    for user in incident.get("users") or []:
        node("user", user)
    for addr in incident.get("addresses") or []:
        node("ip", addr)
    for domain in incident.get("domains") or []:
        node("domain", domain)
    for alert in alerts:
        host = node("host", alert.get("host"))
        user = node("user", alert.get("user"))
        src = node("ip", alert.get("src_ip"))
        dst = node("ip", alert.get("dst_ip"))
        proc = node("process", alert.get("process_guid"))
        parent = node("process", alert.get("parent_process_guid"))
        link(user, host, "logged-on")
        link(proc, host, "runs-on")
        link(user, proc, "started")
        link(parent, proc, "parent-of")
        link(src, dst, "connects-to")
        link(src, host, "address-of")
        link(host, dst if not src else None, "connects-to")
    return {
        "nodes": sorted(nodes.values(), key=lambda n: n["id"]),
        "links": [
            {"source": a, "target": b, "kind": k, "count": n} for (a, b, k), n in sorted(links.items())
        ],
    }
