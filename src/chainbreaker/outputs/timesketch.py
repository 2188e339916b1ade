"""``timesketch``: the alerts and incidents as a Timesketch timeline, CSV and JSONL.

Timesketch's importer needs three fields on every row: ``message`` (a readable line),
``datetime`` (ISO 8601) and ``timestamp_desc`` (what the time means); ``timestamp`` (microseconds
since the epoch) is optional and given. Every other column becomes a searchable attribute. One row
per alert (``kind`` alert), with its incident id when it belongs to one, so a sketch can be filtered
by incident, plus one row where each incident starts (``kind`` incident).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from chainbreaker.outputs.base import FetchEvent, Output, alerts_of, incidents_of, no_events
from chainbreaker.outputs.registry import register

COLUMNS = (
    "message",
    "datetime",
    "timestamp",
    "timestamp_desc",
    "kind",
    "rule_id",
    "rule_title",
    "level",
    "detector",
    "host",
    "user",
    "src_ip",
    "dst_ip",
    "techniques",
    "tactics",
    "killchain_phases",
    "incident_id",
    "event_file",
    "event_record",
    "alert_id",
)


def _micros(iso: str) -> int:
    when = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return int(when.timestamp()) * 1_000_000 + when.microsecond


def timeline_rows(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    incident_of = {aid: inc["id"] for inc in incidents_of(result) for aid in inc.get("alert_ids") or []}
    rows = []
    for alert in sorted(alerts_of(result), key=lambda a: (a.get("time") or "", a.get("id") or "")):
        if not alert.get("time"):
            continue
        ref = alert.get("event_ref") or {}
        where = alert.get("host") or alert.get("src_ip") or ""
        techniques = ",".join(alert.get("techniques") or [])
        message = f"[{alert.get('level')}] {alert.get('title')}" + (f" on {where}" if where else "")
        rows.append(
            {
                "message": message + (f" ({techniques})" if techniques else ""),
                "datetime": alert["time"].replace("Z", "+00:00"),
                "timestamp": _micros(alert["time"]),
                "timestamp_desc": "Alert time",
                "kind": "alert",
                "rule_id": alert.get("rule_id"),
                "rule_title": alert.get("title"),
                "level": alert.get("level"),
                "detector": alert.get("detector"),
                "host": alert.get("host") or "",
                "user": alert.get("user") or "",
                "src_ip": alert.get("src_ip") or "",
                "dst_ip": alert.get("dst_ip") or "",
                "techniques": techniques,
                "tactics": ",".join(alert.get("tactics") or []),
                "killchain_phases": ",".join(alert.get("killchain_phases") or []),
                "incident_id": incident_of.get(alert.get("id"), ""),
                "event_file": ref.get("file") or "",
                "event_record": ref.get("record") if ref.get("record") is not None else "",
                "alert_id": alert.get("id"),
            }
        )
    rows.extend(_incident_row(incident) for incident in incidents_of(result) if incident.get("first_seen"))
    return sorted(rows, key=lambda r: (r["timestamp"], r["kind"] != "incident", r["alert_id"]))


def _incident_row(incident: Mapping[str, Any]) -> dict[str, Any]:
    """One row where an incident starts, so a sketch shows it among its alerts."""
    phases = ",".join(incident.get("killchain_phases") or [])
    return {
        **dict.fromkeys(COLUMNS, ""),
        "message": f"Incident {incident['id']} (score {incident.get('score')}): {incident.get('title', '')}",
        "datetime": str(incident["first_seen"]).replace("Z", "+00:00"),
        "timestamp": _micros(str(incident["first_seen"])),
        "timestamp_desc": "Incident first seen",
        "kind": "incident",
        "level": incident.get("level") or "",
        "host": ",".join(incident.get("hosts") or []),
        "user": ",".join(incident.get("users") or []),
        "techniques": ",".join(incident.get("techniques") or []),
        "tactics": ",".join(incident.get("tactics") or []),
        "killchain_phases": phases,
        "incident_id": incident["id"],
    }


@register
class TimesketchOutput(Output):
    name = "timesketch"
    description = "Alerts and incident starts as a Timesketch timeline (CSV and JSONL)."
    files = ("timeline.csv", "timeline.jsonl")

    def write(
        self, result: Mapping[str, Any], out_dir: Path, fetch_event: FetchEvent = no_events
    ) -> list[Path]:
        out_dir.mkdir(parents=True, exist_ok=True)
        rows = timeline_rows(result)
        csv_path, jsonl_path = out_dir / self.files[0], out_dir / self.files[1]
        with csv_path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=COLUMNS, quoting=csv.QUOTE_MINIMAL)
            writer.writeheader()
            writer.writerows(rows)
        with jsonl_path.open("wb") as fh:
            for row in rows:
                fh.write(orjson.dumps(row) + b"\n")
        return [csv_path, jsonl_path]
