"""Group alerts into incidents: union-find over alert -> entity links with time windows.

1. Every alert gets its entity keys: ``host:`` (its host, and the hosts its addresses resolve to
   through :class:`~chainbreaker.correlate.links.EntityLinks`), ``user:`` (linkable accounts only,
   see chainbreaker.correlate.entities), ``ip:`` (addresses no host claims, such as a C2 server),
   and ``proc:`` (its process guid, on its host). A reconnaissance alert (kill-chain phase
   reconnaissance and nothing else) links through its source only: the prober is one party, its
   destinations are the sweep's targets, and a horizontal sweep names every public address (linking
   on them would merge whatever later touches any of them). Its destinations stay in ``addresses``.
2. Only alerts at or above ``min_level`` ("openers") are unioned: per entity key, openers sorted by
   time are joined to the previous one when the gap is at most ``window``. Process links use the
   longer ``process_window``: alerts on one process, and an alert on a child process with an alert on
   its parent (parent guid = the other's process guid). Siblings (two children of one long-lived
   parent such as services.exe) do not link through the parent; the all-zero guid links nothing.
3. Alerts below ``min_level`` never open an incident and never bridge two: each joins the group
   with which it shares the most entity keys within ``window`` of that group's hits of the key, and
   is dropped when there is none.

Written by hand (not networkx) because it is thirty lines of union-find over sorted lists.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from chainbreaker.alerts import Alert
from chainbreaker.correlate.entities import is_loopback, normalise_address, normalise_host, normalise_user
from chainbreaker.correlate.links import EntityLinks
from chainbreaker.correlate.progression import alert_phases
from chainbreaker.correlate.settings import CorrelateSettings


@dataclass(frozen=True, slots=True)
class AlertEntities:
    hosts: tuple[str, ...]  # host keys: the alert's host and the hosts its addresses resolve to
    users: tuple[str, ...]  # linkable account keys
    addresses: tuple[str, ...]  # every address the alert names
    unresolved: tuple[str, ...]  # addresses no host claims
    processes: tuple[str, ...]  # "host|guid" of the alert's process
    parents: tuple[str, ...] = ()  # "host|guid" of its parent process

    def link_keys(self, settings: CorrelateSettings) -> tuple[str, ...]:
        keys = [f"host:{h}" for h in self.hosts]
        if settings.link_users:
            keys += [f"user:{u}" for u in self.users]
        if settings.link_addresses:
            keys += [f"ip:{a}" for a in self.unresolved]
        if settings.process_trees:
            keys += [f"proc:{p}" for p in self.processes]
        return tuple(keys)


def entities_of(alert: Alert, links: EntityLinks, settings: CorrelateSettings) -> AlertEntities:
    hosts: list[str] = []
    own = normalise_host(alert.host)
    if own:
        hosts.append(own)
    addresses: list[str] = []
    unresolved: list[str] = []
    candidates = [alert.src_ip, alert.dst_ip]
    if alert.host and own is None:  # a sensor put an address in the host field
        candidates.insert(0, alert.host)
    targets = {normalise_address(alert.dst_ip)} if _is_reconnaissance(alert) else set()
    for raw in candidates:
        ip = normalise_address(raw)
        if ip is None or ip in addresses or is_loopback(ip):  # loopback is "this host", never a link
            continue
        addresses.append(ip)
        if settings.is_ignored_address(ip) or ip in targets:  # shared infrastructure, scan targets: no link
            continue
        host = links.host_for(ip, alert.time)
        if host is not None:
            if host not in hosts:
                hosts.append(host)
        else:
            unresolved.append(ip)
    ignore = frozenset(settings.ignore_users)
    user = normalise_user(alert.user, own, ignore)
    processes = _process_key(own, alert.process_guid)
    parents = _process_key(own, alert.parent_process_guid)
    return AlertEntities(
        hosts=tuple(hosts),
        users=(user,) if user else (),
        addresses=tuple(addresses),
        unresolved=tuple(unresolved),
        processes=processes,
        parents=parents,
    )


def _is_reconnaissance(alert: Alert) -> bool:
    """True when the alert's only kill-chain phase is reconnaissance (a probe, not a use)."""
    return alert_phases(alert)[0] == ("reconnaissance",)


def _process_key(host: str | None, guid: str | None) -> tuple[str, ...]:
    """``("host|guid",)`` for a real process guid; () without a host or for the all-zero guid."""
    if not host or not guid:
        return ()
    text = guid.strip().strip("{}").lower()
    return (f"{host}|{text}",) if text.strip("0-") else ()


class _UnionFind:
    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def group_alerts(
    alerts: Sequence[Alert], entities: Sequence[AlertEntities], settings: CorrelateSettings
) -> list[list[int]]:
    """Indices of ``alerts`` per incident, each group sorted by (time, id); groups by first alert."""
    order = sorted(range(len(alerts)), key=lambda i: (alerts[i].time, alerts[i].id))
    keys = [entities[i].link_keys(settings) for i in range(len(alerts))]
    openers = [i for i in order if alerts[i].level >= settings.min_level]
    window = timedelta(seconds=settings.window)
    process_window = timedelta(seconds=settings.process_window)

    def reach(key: str) -> timedelta:
        return process_window if key.startswith("proc:") else window

    uf = _UnionFind(len(alerts))
    hits: dict[str, list[int]] = defaultdict(list)  # per key, its openers in time order
    for i in openers:  # in time order, so each key's previous hit is the nearest earlier one
        for key in keys[i]:
            held = hits[key]
            if held and alerts[i].time - alerts[held[-1]].time <= reach(key):
                uf.union(held[-1], i)
            held.append(i)
    if settings.process_trees:  # a child process's alert joins the nearest alert on its parent process
        for i in openers:
            for parent in entities[i].parents:
                owners = hits.get(f"proc:{parent}", [])
                at = bisect_left([alerts[j].time for j in owners], alerts[i].time)
                near = [owners[k] for k in (at - 1, at) if 0 <= k < len(owners)]
                for owner in near:
                    if abs(alerts[i].time - alerts[owner].time) <= process_window:
                        uf.union(owner, i)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in openers:
        groups[uf.find(i)].append(i)
    # Per key, the time span of each group's openers holding it, to attach the low alerts.
    spans: dict[str, dict[int, list[int]]] = defaultdict(dict)
    for root, members in groups.items():
        for i in members:
            for key in keys[i]:
                spans[key].setdefault(root, []).append(i)
    for i in order:
        if alerts[i].level >= settings.min_level:
            continue
        votes: dict[int, int] = defaultdict(int)
        parent_keys = [f"proc:{p}" for p in entities[i].parents] if settings.process_trees else []
        for key in (*keys[i], *parent_keys):
            for root, members in spans.get(key, {}).items():
                lo, hi = alerts[members[0]].time - reach(key), alerts[members[-1]].time + reach(key)
                if lo <= alerts[i].time <= hi:
                    votes[root] += 1
        if votes:
            best = min(votes, key=lambda r: (-votes[r], alerts[groups[r][0]].time, r))
            groups[best].append(i)
    result = [sorted(members, key=lambda j: (alerts[j].time, alerts[j].id)) for members in groups.values()]
    return sorted(result, key=lambda g: (alerts[g[0]].time, alerts[g[0]].id))
