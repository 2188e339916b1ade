"""Zeek log kinds: guessing a log's path from its field set, and which field names its user.

A Zeek JSON log written without ``_path`` (the default for ``LogAscii::use_json``) only tells its
kind through its fields. Each signature below is a set of fields that, all present, identify one
log; the first signature that matches wins, so more specific logs come before looser ones (smtp
and sip carry http's ``trans_depth``; smb_files carries files' ``fuid``).
"""

from __future__ import annotations

from collections.abc import Collection

#: (path, fields that must all be present), tried in order.
SIGNATURES: tuple[tuple[str, frozenset[str]], ...] = tuple(
    (path, frozenset(fields))
    for path, fields in (
        ("conn", {"conn_state"}),
        ("conn", {"orig_ip_bytes", "resp_ip_bytes"}),
        ("dns", {"query", "qtype"}),
        ("dns", {"query", "trans_id"}),
        ("dns", {"query", "rcode"}),
        ("smtp", {"mailfrom"}),
        ("smtp", {"helo"}),
        ("sip", {"call_id"}),
        ("http", {"trans_depth", "method"}),
        ("http", {"trans_depth", "status_code"}),
        ("http", {"trans_depth", "uri"}),
        ("x509", {"certificate.version"}),
        ("x509", {"certificate.subject"}),
        ("ssl", {"established"}),
        ("ssl", {"server_name", "cipher"}),
        ("ssh", {"auth_success"}),
        ("ssh", {"auth_attempts"}),
        ("ssh", {"hassh"}),
        ("smb_files", {"times.modified"}),
        ("smb_files", {"action", "fuid", "path"}),
        ("smb_files", {"action", "name", "size"}),
        ("smb_mapping", {"share_type"}),
        ("smb_mapping", {"native_file_system"}),
        ("files", {"fuid", "seen_bytes"}),
        ("files", {"fuid", "analyzers"}),
        ("dce_rpc", {"endpoint", "operation"}),
        ("dce_rpc", {"named_pipe"}),
        ("kerberos", {"request_type"}),
        ("ntlm", {"domainname"}),
        ("ntlm", {"server_nb_computer_name"}),
        ("rdp", {"security_protocol"}),
        ("rdp", {"keyboard_layout"}),
        ("rdp", {"cookie"}),
        ("notice", {"note"}),
        ("weird", {"addl"}),
        ("weird", {"notice", "peer", "name"}),
        ("dhcp", {"msg_types"}),
        ("arp", {"orig_hw"}),
        ("software", {"software_type"}),
        ("pe", {"is_exe"}),
        ("pe", {"machine", "compile_ts"}),
        ("tunnel", {"tunnel_type"}),
        ("packet_filter", {"filter", "init"}),
        ("capture_loss", {"percent_lost"}),
        ("reporter", {"level", "location", "message"}),
        ("ftp", {"reply_code"}),
        ("ftp", {"command", "arg"}),
        ("stats", {"pkts_proc"}),
        ("ntp", {"stratum"}),
        ("snmp", {"get_requests"}),
        ("snmp", {"community"}),
        ("ocsp", {"issuerNameHash"}),
        ("modbus", {"func", "pdu_type"}),
        ("rfb", {"client_major_version"}),
        ("ldap_search", {"base_object"}),
        ("analyzer", {"analyzer_kind"}),
        ("dpd", {"analyzer", "failure_reason"}),
        ("known_services", {"port_proto"}),
        ("known_certs", {"issuer_subject"}),
        ("syslog", {"facility", "severity", "message"}),
    )
)

#: Fields that only Zeek writes; with ``ts`` they mark a JSON object as a Zeek record.
ZEEK_MARKERS = frozenset({"uid", "uids", "fuid", "id.orig_h", "id_orig_h", "id.resp_h", "id_resp_h"})

#: Underscore spellings (OTRF, some shippers) of the dotted connection id fields.
UNDERSCORE_IDS = {
    "id_orig_h": "id.orig_h",
    "id_orig_p": "id.orig_p",
    "id_resp_h": "id.resp_h",
    "id_resp_p": "id.resp_p",
}

#: Original field that names the acting account, per log path (before the raw.<name> rename).
USER_FIELDS: dict[str, str] = {
    "kerberos": "client",
    "ntlm": "username",
    "http": "username",
    "ftp": "user",
    "rdp": "cookie",
    "socks": "user",
    "radius": "username",
    "mysql": "user",
}


def guess_path(fields: Collection[str]) -> str | None:
    """The log path whose signature the field set matches, or None."""
    names = set(fields)
    names.update(UNDERSCORE_IDS.get(name, name) for name in list(names))
    if names - {"_path", "_write_ts", "@stream"} == {"name"}:
        return "loaded_scripts"
    for path, required in SIGNATURES:
        if required <= names:
            return path
    return None


def looks_like_zeek_record(fields: Collection[str]) -> bool:
    """Whether a JSON object with these keys is a Zeek log record (and not, say, Suricata EVE)."""
    names = set(fields)
    if "event_type" in names:
        return False
    if "_path" in names or "@stream" in names:
        return True
    if "ts" not in names:
        return False
    return bool(names & ZEEK_MARKERS) or guess_path(names) is not None
