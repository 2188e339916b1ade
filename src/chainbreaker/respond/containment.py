"""Containment items drawn from an incident's evidence: hosts, accounts, addresses, domains.

* hosts to isolate: every host of the incident (and internal addresses no host claims);
* accounts to disable or reset: linkable accounts (machine and service accounts never);
* addresses to block: external addresses the alerts name (internal ranges are hosts, not blocks);
* domains to block: domain names in the fields that matched (DNS queries, TLS SNI, HTTP hosts) or
  that an intel alert carries, except internal suffixes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from chainbreaker.alerts import Alert
from chainbreaker.incidents import Containment

if TYPE_CHECKING:  # respond/ must not import correlate/ at run time (correlate imports respond)
    from chainbreaker.correlate.settings import CorrelateSettings

#: Matched fields whose value is a domain name (Sysmon 22, Zeek dns/ssl/http, Suricata dns/tls/http).
DOMAIN_FIELDS = frozenset(
    {
        "queryname",
        "query",
        "dns.query",
        "dns.rrname",
        "rrname",
        "server_name",
        "tls.sni",
        "sni",
        "http.hostname",
        "raw.host",
        "destinationhostname",
        "domain",
        "url.domain",
    }
)
#: Suffixes that name the organisation's own machines, never a block-list entry.
INTERNAL_SUFFIXES = (".local", ".lan", ".internal", ".localdomain", ".arpa", ".home", ".corp")
_DOMAIN = re.compile(r"^(?=.{4,253}$)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$")


def _domain(value: Any) -> str | None:
    text = str(value).strip().rstrip(".").lower()
    if not _DOMAIN.match(text) or text.endswith(INTERNAL_SUFFIXES):
        return None
    return text


def domains_of(alerts: Iterable[Alert]) -> tuple[str, ...]:
    found: dict[str, None] = {}
    for alert in alerts:
        values: list[Any] = [v for k, v in alert.matched if k.lower() in DOMAIN_FIELDS]
        for key in ("domain", "domains"):
            extra = alert.extra.get(key)
            values.extend(extra if isinstance(extra, list | tuple) else [extra] if extra else [])
        if "domain" in str(alert.extra.get("indicator_type", "")).lower():
            values.append(alert.extra.get("indicator"))
        for value in values:
            domain = _domain(value) if value else None
            if domain:
                found.setdefault(domain, None)
    return tuple(sorted(found))


def containment(
    alerts: Sequence[Alert],
    hosts: Sequence[str],
    accounts: Sequence[str],
    addresses: Sequence[str],
    settings: CorrelateSettings,
    unresolved_internal: Sequence[str] = (),
) -> Containment:
    """Containment lists for one incident; every list sorted for stable output."""
    external = sorted({a for a in addresses if not settings.is_internal(a)})
    return Containment(
        hosts=tuple(sorted(set(hosts) | set(unresolved_internal), key=str.lower)),
        accounts=tuple(sorted(set(accounts), key=str.lower)),
        addresses=tuple(external),
        domains=domains_of(alerts),
    )
