"""A small result document built here: two hosts, one incident, one loose alert, hostile log content.

The command line of the credential-theft event carries markup (``<script>``, ``<img onerror>``)
as an attacker would plant it; reports must show it as text.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from chainbreaker.alerts import Alert, Level
from chainbreaker.correlate import EntityLearner, build_incidents
from chainbreaker.events import EventRef, conform
from chainbreaker.frameworks import parse_attack_tags, phases_for

T0 = datetime(2026, 5, 4, 22, 15, tzinfo=UTC)
HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__img = 1">'


def _alert(rule: str, level: Level, minutes: int, tags: list[str], record: int, **kw: Any) -> Alert:
    techniques, tactics = parse_attack_tags(tags)
    killchain, ukc = phases_for(techniques, tactics)
    return Alert(
        rule_id=rule,
        title=kw.pop("title", rule.replace("-", " ")),
        level=level,
        detector=kw.pop("detector", "sigma"),
        time=T0 + timedelta(minutes=minutes),
        event_refs=(EventRef(kw.pop("file", "Security.evtx"), record),),
        techniques=techniques,
        tactics=tactics,
        killchain_phases=killchain,
        ukc_phases=ukc,
        **kw,
    )


def build_alerts() -> list[Alert]:
    return [
        _alert("macro-office-child", Level.high, 0, ["attack.execution", "attack.t1204.002"], 11,
               host="HR-LAPTOP-3", user="ACME\\dana", title="Office spawned a shell"),
        _alert("dns-tunnel", Level.high, 5, ["attack.command-and-control", "attack.t1071.004"], 7,
               detector="analytic", src_ip="192.168.7.30", dst_ip="198.51.100.9", file="dns.log",
               matched=(("query", "x1.tunnel-c2.example"),)),
        _alert("lsass-dump", Level.critical, 20, ["attack.credential-access", "attack.t1003.001"], 12,
               host="HR-LAPTOP-3", user="ACME\\dana", title="LSASS memory dump",
               matched=(("CommandLine", HOSTILE),)),
        _alert("remote-service", Level.high, 35, ["attack.lateral-movement", "attack.t1021.002"], 13,
               host="DC01", user="ACME\\dana", title="Service installed remotely"),
        _alert("loose-low", Level.low, 90, ["attack.discovery", "attack.t1082"], 99,
               host="PRINT-1", user="ACME\\eve", title="System info"),
    ]  # fmt: skip


def build_result() -> dict[str, Any]:
    logons = conform(
        pl.DataFrame(
            {
                "timestamp": [T0 + timedelta(minutes=34)],
                "source": ["windows.security"],
                "host": ["DC01"],
                "event_code": [4624],
                "IpAddress": ["192.168.7.30"],
                "WorkstationName": ["HR-LAPTOP-3"],
            }
        )
    )
    learner = EntityLearner()
    learner.observe(logons)
    alerts = build_alerts()
    incidents = build_incidents(alerts, learner.links, {"assets": {"crown_jewels": ["dc*"]}})
    return {
        "schema_version": "1.0",
        "alerts": [a.as_dict() for a in alerts],
        "incidents": [i.as_dict() for i in incidents],
        "stats": {"records": 1234, "alerts": len(alerts)},
    }


def fetch_event(ref: Mapping[str, Any]) -> dict[str, Any] | None:
    """Raw events behind the refs, as a reader's fetch would return them."""
    if ref.get("record") == 12:
        return {"EventID": 1, "Image": "C:\\Windows\\System32\\rundll32.exe", "CommandLine": HOSTILE}
    if ref.get("record") == 11:
        return {
            "Event": {
                "System": {"EventID": 1},
                "EventData": {"Image": "cmd.exe", "ParentImage": "WINWORD.EXE"},
            }
        }
    return None
