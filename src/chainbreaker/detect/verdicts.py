"""Sensor verdicts: every Suricata EVE ``alert`` and every Zeek ``notice.log`` entry becomes an Alert.

Suricata: ATT&CK from the rule's metadata where present (Emerging Threats rules carry
``mitre_technique_id`` / ``mitre_tactic_id``), otherwise from the signature family prefix
(``ET SCAN``, ``ET EXPLOIT``...; reputation families by direction) and then the classification
category; level from ``alert.severity`` (1 high, 2 medium, 3 low, 4 informational).
Zeek: the ``note`` type through :data:`ZEEK_NOTES`, then its module prefix (``Scan::``, ``SSH::``...).
Kill-chain and UKC phases come from chainbreaker.frameworks.phases_for; the table's phase is the
fallback.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import polars as pl

from chainbreaker.alerts import Alert, Level
from chainbreaker.detect.analytics.base import map_phases
from chainbreaker.detect.base import Detector
from chainbreaker.detect.interest import Interest
from chainbreaker.events import EventRef

#: (techniques, tactics, kill-chain phase) for a verdict.
Mapping = tuple[tuple[str, ...], tuple[str, ...], str | None]
_NONE: Mapping = ((), (), None)

#: Suricata classification categories (classification.config descriptions), lower case.
SURICATA_CATEGORIES: dict[str, Mapping] = {
    "attempted information leak": (("T1595",), ("reconnaissance",), "reconnaissance"),
    "information leak": (("T1595",), ("reconnaissance",), "reconnaissance"),
    "detection of a network scan": (("T1046",), ("reconnaissance", "discovery"), "reconnaissance"),
    "large scale information leak": (("T1041",), ("exfiltration",), "actions-on-objectives"),
    "a network trojan was detected": (("T1071",), ("command-and-control",), "command-and-control"),
    "malware command and control activity detected": (
        ("T1071",),
        ("command-and-control",),
        "command-and-control",
    ),
    "domain observed used for c2 detected": (("T1071",), ("command-and-control",), "command-and-control"),
    "targeted malicious activity was detected": ((), ("command-and-control",), "command-and-control"),
    "attempted administrator privilege gain": (("T1190",), ("initial-access",), "exploitation"),
    "successful administrator privilege gain": (("T1190",), ("initial-access",), "exploitation"),
    "attempted user privilege gain": (("T1190",), ("initial-access",), "exploitation"),
    "successful user privilege gain": (("T1190",), ("initial-access",), "exploitation"),
    "unsuccessful user privilege gain": (("T1190",), ("initial-access",), "exploitation"),
    "web application attack": (("T1190",), ("initial-access",), "exploitation"),
    "executable code was detected": (("T1203",), ("execution",), "exploitation"),
    "exploit kit activity detected": (("T1189",), ("initial-access",), "delivery"),
    "possible social engineering attempted": (("T1566",), ("initial-access",), "delivery"),
    "possibly unwanted program detected": (("T1204",), ("execution",), "installation"),
    "device retrieving external ip address detected": (("T1016",), ("discovery",), "command-and-control"),
    "crypto currency mining activity detected": (("T1496",), ("impact",), "actions-on-objectives"),
    "attempted denial of service": (("T1499",), ("impact",), "actions-on-objectives"),
    "denial of service": (("T1499",), ("impact",), "actions-on-objectives"),
    "detection of a denial of service attack": (("T1498",), ("impact",), "actions-on-objectives"),
    "attempted login with suspicious username": (("T1110",), ("credential-access",), "exploitation"),
    "suspicious login": (("T1110",), ("credential-access",), "exploitation"),
}

#: Emerging Threats signature families ("ET SCAN ..."), checked before the category.
SURICATA_FAMILIES: dict[str, Mapping] = {
    "SCAN": (("T1046",), ("reconnaissance", "discovery"), "reconnaissance"),
    "EXPLOIT": (("T1190",), ("initial-access",), "exploitation"),
    "WEB_SERVER": (("T1190",), ("initial-access",), "exploitation"),
    "WEB_SPECIFIC_APPS": (("T1190",), ("initial-access",), "exploitation"),
    "EXPLOIT_KIT": (("T1189",), ("initial-access",), "delivery"),
    "PHISHING": (("T1566",), ("initial-access",), "delivery"),
    "TROJAN": (("T1071",), ("command-and-control",), "command-and-control"),
    "MALWARE": (("T1071",), ("command-and-control",), "command-and-control"),
    "CNC": (("T1071",), ("command-and-control",), "command-and-control"),
    "MOBILE_MALWARE": (("T1071",), ("command-and-control",), "command-and-control"),
    "COINMINER": (("T1496",), ("impact",), "actions-on-objectives"),
    "DOS": (("T1499",), ("impact",), "actions-on-objectives"),
}

#: Reputation families (listed bad addresses): traffic from one into our network is probing
#: (reconnaissance); traffic from our network out to one is treated as command and control.
REPUTATION_FAMILIES = ("CINS", "COMPROMISED", "DROP", "DSHIELD", "TOR", "3CORESEC", "CIARMY", "BOTCC")
_INBOUND: Mapping = (("T1595",), ("reconnaissance",), "reconnaissance")
_OUTBOUND: Mapping = (("T1071",), ("command-and-control",), "command-and-control")


def _internal(address: Any) -> bool:
    try:
        return ipaddress.ip_address(str(address)).is_private
    except ValueError:
        return False


#: Zeek notice types (base scripts and common packages).
ZEEK_NOTES: dict[str, Mapping] = {
    "Scan::Port_Scan": (("T1046",), ("reconnaissance", "discovery"), "reconnaissance"),
    "Scan::Address_Scan": (("T1046",), ("reconnaissance", "discovery"), "reconnaissance"),
    "Scan::Random_Scan": (("T1046",), ("reconnaissance", "discovery"), "reconnaissance"),
    "Traceroute::Detected": (("T1016",), ("discovery",), "reconnaissance"),
    "SSH::Password_Guessing": (("T1110",), ("credential-access",), "exploitation"),
    "SSH::Login_By_Password_Guesser": (
        ("T1110", "T1078"),
        ("credential-access", "initial-access"),
        "exploitation",
    ),
    "FTP::Bruteforcing": (("T1110",), ("credential-access",), "exploitation"),
    "HTTP::SQL_Injection_Attacker": (("T1190",), ("initial-access",), "exploitation"),
    "HTTP::SQL_Injection_Victim": (("T1190",), ("initial-access",), "exploitation"),
    "Heartbleed::SSL_Heartbeat_Attack": (("T1190",), ("initial-access",), "exploitation"),
    "Heartbleed::SSL_Heartbeat_Attack_Success": (("T1190",), ("initial-access",), "exploitation"),
    "TeamCymruMalwareHashRegistry::Match": (("T1204.002",), ("execution",), "installation"),
    "Intel::Notice": ((), ("command-and-control",), "command-and-control"),
    "FTP::Site_Exec_Success": (("T1059",), ("execution",), "exploitation"),
    "SMTP::Blocklist_Error_Message": ((), (), None),
}

#: Fallback by notice module ("Scan::anything", "ICMP::...").
ZEEK_MODULES: dict[str, Mapping] = {
    "Scan": (("T1046",), ("reconnaissance", "discovery"), "reconnaissance"),
    "ICMP": (("T1018",), ("discovery", "reconnaissance"), "reconnaissance"),
    "SSH": (("T1110",), ("credential-access",), "exploitation"),
}

#: Notices about the sensor or benign protocol oddities: informational, no phase.
ZEEK_INFORMATIONAL = ("CaptureLoss::", "PacketFilter::", "Weird::", "SSL::", "ProtocolDetector::", "Conn::",
                      "Software::", "DNS::", "Signatures::Count_Signature", "Notice::")  # fmt: skip

SEVERITY_LEVELS = {1: Level.high, 2: Level.medium, 3: Level.low, 4: Level.informational}


def _split(value: Any) -> tuple[str, ...]:
    return tuple(v.strip() for v in str(value).split(",") if v.strip()) if value else ()


def _tactics(values: tuple[str, ...]) -> tuple[str, ...]:
    try:
        from chainbreaker.frameworks import canonical_tactic
    except ImportError:
        return values
    found = (canonical_tactic(v) for v in values)
    return tuple(dict.fromkeys(t for t in found if t))


def suricata_mapping(row: dict[str, Any]) -> Mapping:
    """ATT&CK and phase of one alert: rule metadata, else signature family, else category."""
    techniques = tuple(t.upper() for t in _split(row.get("alert.metadata.mitre_technique_id")))
    tactics = _tactics(
        _split(row.get("alert.metadata.mitre_tactic_id"))
        + _split(row.get("alert.metadata.mitre_tactic_name"))
    )
    signature = str(row.get("alert.signature") or "")
    words = signature.split()
    family = (
        SURICATA_FAMILIES.get(words[1].upper(), _NONE)
        if len(words) > 1 and words[0] in ("ET", "ETPRO")
        else _NONE
    )
    if family is _NONE and len(words) > 1 and words[1].upper() in REPUTATION_FAMILIES:
        family = _OUTBOUND if _internal(row.get("src_ip")) else _INBOUND
    category = SURICATA_CATEGORIES.get(str(row.get("alert.category") or "").strip().lower(), _NONE)
    fallback = family if family[2] else category
    if techniques or tactics:
        return techniques, tactics, fallback[2]
    return fallback


def zeek_mapping(note: str) -> Mapping:
    if note in ZEEK_NOTES:
        return ZEEK_NOTES[note]
    return ZEEK_MODULES.get(note.split("::", 1)[0], _NONE)


ENTITY_COLUMNS = ("timestamp", "event_ref", "host", "src_ip", "src_port", "dst_ip", "dst_port")
SURICATA_COLUMNS = (*ENTITY_COLUMNS, "alert.gid", "alert.signature_id", "alert.signature", "alert.category",
                    "alert.severity", "alert.metadata.mitre_technique_id", "alert.metadata.mitre_tactic_id",
                    "alert.metadata.mitre_tactic_name")  # fmt: skip
ZEEK_COLUMNS = (*ENTITY_COLUMNS, "note", "msg", "sub", "src", "dst")


def _rows(frame: pl.DataFrame, columns: tuple[str, ...]) -> list[dict[str, Any]]:
    """The rows as dicts, only the columns the verdicts read (batches can be hundreds of columns wide)."""
    if frame.is_empty():
        return []
    return frame.select([c for c in columns if c in frame.columns]).to_dicts()


def _refs(row: dict[str, Any]) -> tuple[EventRef, ...]:
    ref = row.get("event_ref")
    return (EventRef(ref["file"], ref["record"]),) if ref and ref.get("file") else ()


class VerdictDetector(Detector):
    """Suricata EVE alerts (detector="suricata") and Zeek notices (detector="zeek-notice")."""

    name = "verdicts"
    description = "Suricata EVE alerts and Zeek notice.log entries as alerts, mapped to ATT&CK and phases"

    def interest(self) -> Interest:
        """The Suricata alert and Zeek notice rows, the columns their alerts read."""
        columns = frozenset(("source", *SURICATA_COLUMNS, *ZEEK_COLUMNS))
        return Interest(columns=columns, sources=frozenset(("suricata.alert", "zeek.notice")))

    def observe(self, batch: pl.DataFrame) -> list[Alert]:
        if batch.is_empty() or "source" not in batch.columns:
            return []
        suricata = _rows(batch.filter(pl.col("source") == "suricata.alert"), SURICATA_COLUMNS)
        notices = _rows(batch.filter(pl.col("source") == "zeek.notice"), ZEEK_COLUMNS)
        return [self._suricata(r) for r in suricata] + [self._zeek(r) for r in notices]

    def _suricata(self, row: dict[str, Any]) -> Alert:
        techniques, tactics, phase = suricata_mapping(row)
        killchain, ukc = map_phases(techniques, tactics, (phase,) if phase else ())
        severity = str(row.get("alert.severity") or "").strip()
        signature = str(row.get("alert.signature") or "Suricata alert")
        category = row.get("alert.category")
        return Alert(
            rule_id=f"suricata:{row.get('alert.gid') or 1}:{row.get('alert.signature_id') or 0}",
            title=signature,
            level=SEVERITY_LEVELS.get(int(severity) if severity.isdigit() else 2, Level.informational),
            detector="suricata",
            time=row["timestamp"],
            event_refs=_refs(row),
            techniques=techniques,
            tactics=tactics,
            killchain_phases=killchain,
            ukc_phases=ukc,
            host=row.get("host"),
            src_ip=row.get("src_ip"),
            dst_ip=row.get("dst_ip"),
            matched=tuple((k, str(row[k])) for k in ("alert.signature_id", "alert.category") if row.get(k)),
            description=f"{signature} ({category or 'no category'}, severity {severity or '?'}, "
            f"{row.get('src_ip')}:{row.get('src_port')} -> {row.get('dst_ip')}:{row.get('dst_port')})",
        )

    def _zeek(self, row: dict[str, Any]) -> Alert:
        note = str(row.get("note") or "Notice::Unknown")
        techniques, tactics, phase = zeek_mapping(note)
        killchain, ukc = map_phases(techniques, tactics, (phase,) if phase else ())
        informational = note.startswith(ZEEK_INFORMATIONAL) and not techniques
        src = row.get("src_ip") or row.get("src")
        dst = row.get("dst_ip") or row.get("dst")
        return Alert(
            rule_id=f"zeek-notice:{note}",
            title=note,
            level=Level.informational if informational else Level.medium,
            detector="zeek-notice",
            time=row["timestamp"],
            event_refs=_refs(row),
            techniques=techniques,
            tactics=tactics,
            killchain_phases=killchain,
            ukc_phases=ukc,
            host=row.get("host"),
            src_ip=src,
            dst_ip=dst,
            matched=(("note", note),),
            description=" ".join(str(row[k]) for k in ("msg", "sub") if row.get(k) and row[k] != "-") or note,
        )
