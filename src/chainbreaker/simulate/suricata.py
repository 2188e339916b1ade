"""Suricata EVE records: flows (written when a flow times out) and alerts with ET-style metadata."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chainbreaker.simulate.model import Label
from chainbreaker.simulate.telemetry import Telemetry
from chainbreaker.simulate.timefmt import eve_ts


def _flow_id(tel: Telemetry) -> int:
    return tel.rng.getrandbits(51)


def eve_flow(
    tel: Telemetry,
    t: float,
    host: str,
    src: str,
    sport: int,
    dst: str,
    dport: int,
    proto: str,
    duration: float,
    orig_bytes: int,
    resp_bytes: int,
    app: str | None,
    label: Label | None,
) -> None:
    end = t + duration
    record: dict[str, Any] = {
        "timestamp": eve_ts(end + 30.0),
        "flow_id": _flow_id(tel),
        "in_iface": "eth1",
        "event_type": "flow",
        "src_ip": src,
        "src_port": sport,
        "dest_ip": dst,
        "dest_port": dport,
        "proto": proto.upper(),
        "app_proto": app or "failed",
        "flow": {
            "pkts_toserver": max(1, orig_bytes // 1200 + 3),
            "pkts_toclient": max(1, resp_bytes // 1200 + 2),
            "bytes_toserver": orig_bytes + 200,
            "bytes_toclient": resp_bytes + 160,
            "start": eve_ts(t),
            "end": eve_ts(end),
            "age": int(duration),
            "state": "closed",
            "reason": "timeout",
            "alerted": False,
        },
    }
    # An EVE flow is written when the flow times out, after it ended.
    tel.emit(end + 30.0, ("eve", "suricata/eve.json"), host, record, label)


@dataclass(frozen=True, slots=True)
class Signature:
    sid: int
    msg: str
    category: str
    severity: int
    technique: str
    technique_name: str
    tactic_id: str
    tactic_name: str


def eve_alert(
    tel: Telemetry,
    t: float,
    host: str,
    sig: Signature,
    src: str,
    sport: int,
    dst: str,
    dport: int,
    label: Label | None,
    app: str | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    record: dict[str, Any] = {
        "timestamp": eve_ts(t),
        "flow_id": _flow_id(tel),
        "in_iface": "eth1",
        "event_type": "alert",
        "src_ip": src,
        "src_port": sport,
        "dest_ip": dst,
        "dest_port": dport,
        "proto": "TCP",
        "alert": {
            "action": "allowed",
            "gid": 1,
            "signature_id": sig.sid,
            "rev": 3,
            "signature": sig.msg,
            "category": sig.category,
            "severity": sig.severity,
            "metadata": {
                "attack_target": ["Client_Endpoint" if dport != 80 and dport != 443 else "Web_Server"],
                "deployment": ["Perimeter"],
                "mitre_tactic_id": [sig.tactic_id],
                "mitre_tactic_name": [sig.tactic_name],
                "mitre_technique_id": [sig.technique],
                "mitre_technique_name": [sig.technique_name],
                "signature_severity": ["Major" if sig.severity == 1 else "Minor"],
            },
        },
    }
    if app:
        record["app_proto"] = app
    if extra:
        record.update(extra)
    tel.emit(t, ("eve", "suricata/eve.json"), host, record, label)
