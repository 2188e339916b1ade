"""Telling another system about incidents: a JSON POST for each new or escalated incident.

An incident is *escalated* when its score, its level or its furthest Lockheed kill-chain phase
rose since it was last sent. Delivery is best effort with a short timeout: a failed POST is
reported through ``notify`` and retried on the next change, never stops the watcher.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence

import orjson

from chainbreaker.frameworks.killchain import find_killchain_phase
from chainbreaker.incidents import Incident

TIMEOUT_S = 5.0
Rank = tuple[int, int, int]


def rank(incident: Incident) -> Rank:
    """(score, level, furthest kill-chain phase index): any rise is an escalation."""
    furthest = incident.progression.killchain.furthest
    phase = find_killchain_phase(furthest) if furthest else None
    return incident.score, int(incident.level), phase.ocsf_id if phase else 0


def escalations(incidents: Sequence[Incident], sent: Mapping[str, Rank]) -> list[Incident]:
    """Incidents never sent, or ranked higher on some axis than when last sent."""
    out = []
    for incident in incidents:
        before = sent.get(incident.id)
        now = rank(incident)
        if before is None or any(n > b for n, b in zip(now, before, strict=True)):
            out.append(incident)
    return out


def post_json(url: str, payload: object, notify: Callable[[str], None]) -> bool:
    """POST ``payload`` as JSON; True on a 2xx answer."""
    body = orjson.dumps(payload, option=orjson.OPT_NON_STR_KEYS)
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            ok = 200 <= response.status < 300
    except (urllib.error.URLError, OSError, ValueError) as exc:
        notify(f"webhook {url}: {exc}")
        return False
    if not ok:
        notify(f"webhook {url}: HTTP {response.status}")
    return ok
