"""Network telemetry: Zeek TSV rows (conn, dns, http, ssl), Suricata EVE flows and alerts.

One connection emits consistent records everywhere it is seen: the Sysmon 3 of the process that
opened it, the Zeek conn row (same addresses and ports), the protocol row that shares the Zeek
uid, and an EVE flow for traffic that crosses the perimeter.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from chainbreaker.simulate import windows
from chainbreaker.simulate.model import Host, Label
from chainbreaker.simulate.suricata import Signature, eve_alert, eve_flow
from chainbreaker.simulate.telemetry import Process, Telemetry
from chainbreaker.simulate.timefmt import zeek_ts

__all__ = [
    "ZEEK_SCHEMAS",
    "Http",
    "Signature",
    "connect",
    "eve_alert",
    "eve_flow",
    "https",
    "is_internal",
    "resolve",
]


def _schema(fields: str, types: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    f, t = tuple(fields.split()), tuple(types.split())
    assert len(f) == len(t), (f, t)
    return f, t


#: Zeek log -> (fields, types), as Zeek 6 writes them.
ZEEK_SCHEMAS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "conn": _schema(
        "ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto service duration orig_bytes "
        "resp_bytes conn_state local_orig local_resp missed_bytes history orig_pkts orig_ip_bytes "
        "resp_pkts resp_ip_bytes tunnel_parents",
        "time string addr port addr port enum string interval count count string bool bool count "
        "string count count count count set[string]",
    ),
    "dns": _schema(
        "ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto trans_id rtt query qclass qclass_name "
        "qtype qtype_name rcode rcode_name AA TC RD RA Z answers TTLs rejected",
        "time string addr port addr port enum count interval string count string count string count "
        "string bool bool bool bool count vector[string] vector[interval] bool",
    ),
    "http": _schema(
        "ts uid id.orig_h id.orig_p id.resp_h id.resp_p trans_depth method host uri referrer "
        "version user_agent origin request_body_len response_body_len status_code status_msg "
        "info_code info_msg tags username password proxied orig_fuids orig_filenames "
        "orig_mime_types resp_fuids resp_filenames resp_mime_types",
        "time string addr port addr port count string string string string string string string "
        "count count count string count string set[enum] string string set[string] vector[string] "
        "vector[string] vector[string] vector[string] vector[string] vector[string]",
    ),
    "ssl": _schema(
        "ts uid id.orig_h id.orig_p id.resp_h id.resp_p version cipher curve server_name resumed "
        "last_alert next_protocol established ssl_history cert_chain_fps client_cert_chain_fps "
        "sni_matches_cert",
        "time string addr port addr port string string string string bool string string bool string "
        "vector[string] vector[string] bool",
    ),
}

_STATUS = {
    200: "OK",
    204: "No Content",
    301: "Moved Permanently",
    302: "Found",
    404: "Not Found",
    500: "Internal Server Error",
}


@lru_cache(maxsize=4096)
def is_internal(ip: str) -> bool:
    return ipaddress.ip_address(ip).is_private and not ip.startswith(
        ("192.0.2.", "198.51.100.", "203.0.113.")
    )


@dataclass(frozen=True, slots=True)
class Http:
    method: str
    host: str
    uri: str
    user_agent: str
    status: int = 200
    request_len: int = 0
    response_len: int = 0
    mime: str = "text/html"
    referrer: str = "-"


def _b(v: bool) -> str:
    return "T" if v else "F"


def _conn_id(t: float, uid: str, orig_h: str, orig_p: int, resp_h: str, resp_p: int) -> list[str]:
    """The fields every Zeek log of one connection opens with (``ts uid id.orig_h/p id.resp_h/p``)."""
    return [zeek_ts(t), uid, orig_h, str(orig_p), resp_h, str(resp_p)]


def _sysmon(
    tel: Telemetry, host: Host, eid: int, t: float, data: dict[str, Any], label: Label | None
) -> None:
    """Queue a Sysmon record the network layer writes (3, 22), as the Sysmon service of ``host`` logs it."""
    record = windows.event(
        host,
        "Sysmon",
        eid,
        t,
        data,
        exec_pid=_sysmon_pid(tel, host),
        exec_tid=tel.rng.randrange(1000, 9000),
        user_sid="S-1-5-18",
    )
    tel.emit(t, ("winjson", windows.stream_path(host, "Sysmon")), host.name, record, label)


def zeek(tel: Telemetry, log: str, t: float, host: str, row: list[str], label: Label | None) -> None:
    """Queue one Zeek TSV row (already formatted) for ``logs/zeek/<log>.log``."""
    tel.emit(t, ("zeek", f"zeek/{log}.log"), host, row, label)


def connect(
    tel: Telemetry,
    t: float,
    host: Host,
    dst_ip: str,
    dst_port: int,
    *,
    proc: Process | None = None,
    src_ip: str | None = None,
    src_port: int | None = None,
    proto: str = "tcp",
    service: str | None = None,
    duration: float = 0.2,
    orig_bytes: int = 500,
    resp_bytes: int = 4000,
    state: str = "SF",
    dst_name: str = "-",
    sni: str | None = None,
    http: Http | None = None,
    label: Label | None = None,
    sysmon: bool = True,
    flow: bool | None = None,
    truth_host: str | None = None,
) -> str:
    """One connection from ``src_ip`` (default: the host's address) with every record it leaves.

    ``truth_host`` overrides the host the records are attributed to in the ground truth ("" for
    traffic that involves no host of ours, e.g. a sweep of the public address range).
    """
    src = src_ip or host.ip
    who = host.name if truth_host is None else truth_host
    sport = src_port or tel.port(host)
    uid = tel.uid()
    if proc is not None and sysmon and host.is_windows and src == host.ip:
        data = windows.sysmon_network(t, proc, (src, host.fqdn, sport), (dst_ip, dst_name, dst_port), proto)
        _sysmon(tel, host, 3, t, data, label)
    if state == "SF":
        history = "Dd" if proto == "udp" else "ShADadFf"
    else:
        history = {"S0": "S", "REJ": "Sr", "RSTO": "ShADR", "OTH": "-"}.get(state, "S")
    opk = max(1, orig_bytes // 1200 + (3 if proto == "tcp" else 1)) if state == "SF" else 1
    rpk = (
        max(1, resp_bytes // 1200 + (2 if proto == "tcp" else 1))
        if state == "SF"
        else (1 if state == "REJ" else 0)
    )
    row = [
        *_conn_id(t, uid, src, sport, dst_ip, dst_port),
        proto,
        service or "-",
        f"{duration:.6f}" if state == "SF" else "-",
        str(orig_bytes) if state == "SF" else "-",
        str(resp_bytes) if state == "SF" else "-",
        state,
        _b(is_internal(src)),
        _b(is_internal(dst_ip)),
        "0",
        history,
        str(opk),
        str(orig_bytes + 40 * opk),
        str(rpk),
        str(resp_bytes + 40 * rpk if state == "SF" else 40 * rpk),
        "(empty)",
    ]
    zeek(tel, "conn", t, who, row, label)
    if sni is not None:
        zeek(
            tel,
            "ssl",
            t + 0.05,
            who,
            [
                *_conn_id(t + 0.05, uid, src, sport, dst_ip, dst_port),
                "TLSv13",
                "TLS_AES_256_GCM_SHA384",
                "x25519",
                sni,
                "F",
                "-",
                "h2" if sni else "-",
                "T",
                "CsiI",
                "(empty)",
                "(empty)",
                "T",
            ],
            label,
        )
    if http is not None:
        fuid = tel.uid("F") if http.response_len else "-"
        zeek(
            tel,
            "http",
            t + 0.04,
            who,
            [
                *_conn_id(t + 0.04, uid, src, sport, dst_ip, dst_port),
                "1",
                http.method,
                http.host,
                http.uri,
                http.referrer,
                "1.1",
                http.user_agent,
                "-",
                str(http.request_len),
                str(http.response_len),
                str(http.status),
                _STATUS.get(http.status, "OK"),
                "-",
                "-",
                "(empty)",
                "-",
                "-",
                "-",
                "-",
                "-",
                "-",
                fuid,
                "-",
                http.mime if http.response_len else "-",
            ],
            label,
        )
    if flow if flow is not None else (is_internal(src) != is_internal(dst_ip)):
        eve_flow(
            tel, t, who, src, sport, dst_ip, dst_port, proto, duration, orig_bytes, resp_bytes, service, label
        )
    return uid


def https(
    tel: Telemetry,
    t: float,
    host: Host,
    dst_ip: str,
    domain: str,
    proc: Process,
    *,
    duration: float,
    orig_bytes: int,
    resp_bytes: int,
    label: Label | None = None,
    sysmon: bool = True,
) -> str:
    """A TLS session from ``proc`` to ``domain`` on 443: :func:`connect` with the server name as both
    the Sysmon destination host name and the Zeek ssl SNI (how browsers, agents and implants call out)."""
    return connect(
        tel, t, host, dst_ip, 443, proc=proc, service="ssl", dst_name=domain, sni=domain,
        duration=duration, orig_bytes=orig_bytes, resp_bytes=resp_bytes, label=label, sysmon=sysmon,
    )  # fmt: skip


def resolve(
    tel: Telemetry,
    t: float,
    host: Host,
    name: str,
    answers: list[str],
    *,
    proc: Process | None = None,
    resolver: str = "10.10.0.10",
    label: Label | None = None,
    sysmon: bool = True,
) -> None:
    """A DNS lookup: Sysmon 22 of the asking process, Zeek dns (and its conn row) to the resolver."""
    if proc is not None and sysmon and host.is_windows:
        _sysmon(tel, host, 22, t + 0.03, windows.sysmon_dns(t + 0.03, proc, name, answers), label)
    sport = tel.port(host)
    uid = tel.uid()
    rcode, rname = (0, "NOERROR") if answers else (3, "NXDOMAIN")
    zeek(
        tel,
        "dns",
        t,
        host.name,
        [
            *_conn_id(t, uid, host.ip, sport, resolver, 53),
            "udp",
            str(tel.rng.randrange(1, 65535)),
            "0.021000",
            name,
            "1",
            "C_INTERNET",
            "1",
            "A",
            str(rcode),
            rname,
            "F",
            "F",
            "T",
            "T",
            "0",
            ",".join(answers) if answers else "-",
            ",".join("300.000000" for _ in answers) if answers else "-",
            "F",
        ],
        label,
    )
    zeek(
        tel,
        "conn",
        t,
        host.name,
        [
            *_conn_id(t, uid, host.ip, sport, resolver, 53),
            "udp",
            "dns",
            "0.021000",
            "36",
            "52",
            "SF",
            "T",
            "T",
            "0",
            "Dd",
            "1",
            "64",
            "1",
            "80",
            "(empty)",
        ],
        label,
    )


def _sysmon_pid(tel: Telemetry, host: Host) -> int:
    base = tel.state(host).base
    return base["sysmon"].pid if "sysmon" in base else 2000
