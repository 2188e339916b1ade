"""A small intrusion built here and correlated by the real chainbreaker.correlate, as a result document.

Two incidents: phishing -> credential theft -> lateral movement -> encryption across WKS-05 and
FS-01, and a separate brute force on a Linux host. Attacker-controlled strings (a user name, a
command line, a rule title from a hostile rule pack) carry HTML/JS so the web tests can check that
nothing executes. One low alert on a kiosk opens no incident.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from chainbreaker.alerts import Alert, Level
from chainbreaker.correlate import build_incidents
from chainbreaker.events import EventRef
from chainbreaker.frameworks import parse_attack_tags, phases_for

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
XSS_USER = 'CORP\\<img src=x onerror="window.__xss=1;alert(1)">'
XSS_CMD = "powershell -enc <script>window.__xss=2;alert(2)</script>"
XSS_TITLE = "Encoded PowerShell <svg onload=alert(3)>"


def make_alert(rule: str, level: Level, minutes: float, tags: list[str], **kw: Any) -> Alert:
    """An alert as the detectors build one: tags parsed and phases mapped by chainbreaker.frameworks
    (the correlation tests build theirs with it too)."""
    techniques, tactics = parse_attack_tags(tags)
    killchain, ukc = phases_for(techniques, tactics)
    return Alert(
        rule_id=rule,
        title=kw.pop("title", rule),
        level=level,
        detector=kw.pop("detector", "sigma"),
        time=T0 + timedelta(minutes=minutes),
        event_refs=(EventRef(kw.pop("file", "scenario.evtx"), int(minutes * 10) + len(rule)),),
        techniques=techniques,
        tactics=tactics,
        killchain_phases=killchain,
        ukc_phases=ukc,
        **kw,
    )


def scenario_alerts() -> list[Alert]:
    # The second incident: one attacker against one Linux host, seen in auth.log by the analytics.
    ssh: dict[str, Any] = {
        "detector": "analytic",
        "host": "web-01",
        "user": "root",
        "src_ip": "198.51.100.7",
        "file": "auth.log",
    }
    return [
        make_alert(
            "phish-attachment",
            Level.medium,
            0,
            ["attack.initial-access", "attack.t1566.001"],
            host="WKS-05",
            user=XSS_USER,
            process_guid="{AAAA-1}",
        ),
        make_alert(
            "encoded-powershell",
            Level.high,
            5,
            ["attack.execution", "attack.t1059.001"],
            title=XSS_TITLE,
            host="WKS-05",
            user=XSS_USER,
            process_guid="{AAAA-2}",
            parent_process_guid="{AAAA-1}",
            matched=(("CommandLine", XSS_CMD),),
        ),
        make_alert(
            "lsass-access",
            Level.critical,
            40,
            ["attack.credential-access", "attack.t1003.001"],
            host="WKS-05",
            user=XSS_USER,
            process_guid="{AAAA-3}",
        ),
        make_alert(
            "smb-admin-share",
            Level.high,
            55,
            ["attack.lateral-movement", "attack.t1021.002"],
            host="FS-01",
            user=XSS_USER,
        ),
        make_alert(
            "ransom-encrypt",
            Level.critical,
            120,
            ["attack.impact", "attack.t1486"],
            host="FS-01",
            user=XSS_USER,
        ),
        make_alert(
            "ssh-brute-force", Level.high, 600, ["attack.credential-access", "attack.t1110.001"], **ssh
        ),
        make_alert(
            "ssh-login-after-failures", Level.critical, 610, ["attack.initial-access", "attack.t1078"], **ssh
        ),
        make_alert(
            "noisy-low", Level.low, 20, ["attack.discovery", "attack.t1082"], host="KIOSK-9", user="CORP\\bob"
        ),
    ]


def result_document(alerts: list[Alert] | None = None) -> dict[str, Any]:
    """The result document ``hunt --json`` writes (docs/OUTPUTS.md), built from the real correlator."""
    alerts = scenario_alerts() if alerts is None else alerts
    incidents = build_incidents(alerts, None, {})
    return {
        "schema_version": "1.0",
        "alerts": [a.as_dict() for a in alerts],
        "incidents": [i.as_dict() for i in incidents],
        "stats": {"records": 1000, "alerts": len(alerts), "incidents": len(incidents)},
    }
