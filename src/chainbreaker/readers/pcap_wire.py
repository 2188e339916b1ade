"""Packet decoding for readers/pcap.py: link layers to IP, DNS messages to Zeek dns.log values, and
per-flow counters for Zeek conn.log-like summaries (dpkt does the parsing; this module only shapes
what it decodes)."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from typing import Any

import dpkt

DNS_PORTS = frozenset({53, 5353, 5355})
QTYPES = {v: k[4:] for k, v in vars(dpkt.dns).items() if k.startswith("DNS_") and k[4:] in {
    "A", "NS", "CNAME", "SOA", "NULL", "PTR", "HINFO", "MX", "TXT", "AAAA", "SRV", "OPT", "ANY"}}  # fmt: skip
RCODES = ("NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET",
          "NXRRSET", "NOTAUTH", "NOTZONE")  # fmt: skip
QCLASSES = {1: "C_INTERNET", 3: "C_CHAOS", 4: "C_HESIOD", 255: "C_ANY"}

#: Flow key: (proto, address a, port a, address b, port b) with the originator first.
FlowKey = tuple[str, str, int, str, int]


@dataclass
class Flow:
    """Counters of one flow; index 0 is the originator's direction, 1 the responder's."""

    number: int  # packet number of the flow's first packet
    first: float
    last: float
    pkts: list[int] = field(default_factory=lambda: [0, 0])
    payload: list[int] = field(default_factory=lambda: [0, 0])
    ip_bytes: list[int] = field(default_factory=lambda: [0, 0])
    flags: list[int] = field(default_factory=lambda: [0, 0])  # OR of TCP flags per direction

    def state(self, proto: str) -> str:
        """An approximation of Zeek's ``conn_state`` from the TCP flags seen each way."""
        orig, resp = self.flags
        if proto != "tcp":
            return "SF" if self.pkts[1] else "S0"
        syn, ack, fin, rst = dpkt.tcp.TH_SYN, dpkt.tcp.TH_ACK, dpkt.tcp.TH_FIN, dpkt.tcp.TH_RST
        if not orig & syn:
            return "OTH"
        if not self.pkts[1]:
            return "S0"
        if resp & rst and not resp & syn:
            return "REJ"
        if orig & rst:
            return "RSTO"
        if resp & rst:
            return "RSTR"
        if orig & fin and resp & fin and resp & ack:
            return "SF"
        return "S1"


def address(raw: bytes) -> str:
    return socket.inet_ntop(socket.AF_INET6 if len(raw) == 16 else socket.AF_INET, raw)


def network_layer(link: int, buf: bytes) -> Any:
    """The IP packet of a frame for the capture's link type, or None (ARP, LLC, other links)."""
    if link == dpkt.pcap.DLT_EN10MB:
        frame: Any = dpkt.ethernet.Ethernet(buf)
    elif link == dpkt.pcap.DLT_LINUX_SLL:
        frame = dpkt.sll.SLL(buf)
    elif link == 276:  # LINKTYPE_LINUX_SLL2
        frame = dpkt.sll2.SLL2(buf)
    elif link in (dpkt.pcap.DLT_NULL, dpkt.pcap.DLT_LOOP):
        frame = dpkt.loopback.Loopback(buf)
    elif link in (dpkt.pcap.DLT_RAW, 12, 14, 228, 229):
        return dpkt.ip6.IP6(buf) if buf and buf[0] >> 4 == 6 else dpkt.ip.IP(buf)
    else:
        return None
    data = frame.data
    return data if isinstance(data, dpkt.ip.IP | dpkt.ip6.IP6) else None


def dns_answer(rr: Any) -> str:
    """One answer as Zeek writes it in dns.log ``answers``."""
    if rr.type in (dpkt.dns.DNS_A, dpkt.dns.DNS_AAAA):
        return address(rr.rdata)
    if rr.type in (dpkt.dns.DNS_CNAME, dpkt.dns.DNS_NS, dpkt.dns.DNS_PTR):
        return str(getattr(rr, "cname", None) or getattr(rr, "nsname", None) or getattr(rr, "ptrname", ""))
    if rr.type == dpkt.dns.DNS_MX:
        return str(rr.mxname)
    if rr.type == dpkt.dns.DNS_SRV:
        return str(rr.srvname)
    if rr.type == dpkt.dns.DNS_TXT:
        texts = [t.decode("utf-8", "replace") if isinstance(t, bytes) else str(t) for t in rr.text]
        return " ".join(f"TXT {len(t)} {t}" for t in texts)
    return f"<unknown type={rr.type}>"


def dns_record(
    number: int, ts: float, proto: str, orig: str, oport: int, resp: str, rport: int, message: Any
) -> dict[str, Any]:
    question = message.qd[0] if message.qd else None
    qtype = question.type if question is not None else None
    qclass = question.cls if question is not None else None
    return {
        "__number": number,
        "__ts": ts,
        "id.orig_h": orig,
        "id.orig_p": str(oport),
        "id.resp_h": resp,
        "id.resp_p": str(rport),
        "proto": proto,
        "trans_id": str(message.id),
        "query": question.name if question is not None else None,
        "qclass": None if qclass is None else str(qclass),
        "qclass_name": QCLASSES.get(qclass) if qclass is not None else None,
        "qtype": None if qtype is None else str(qtype),
        "qtype_name": QTYPES.get(qtype, str(qtype)) if qtype is not None else None,
        "RD": str(bool(message.rd)).lower(),
        "TC": str(bool(message.op & dpkt.dns.DNS_TC)).lower(),
        "Z": str((message.op >> 4) & 7),
    }


#: Inactivity after which a flow is over, as Zeek's defaults (tcp_inactivity_timeout 5 min, udp and
#: icmp 1 min): a later packet of the same endpoints starts a new flow.
INACTIVITY = {"tcp": 300.0, "udp": 60.0, "icmp": 60.0}


def count_packet(
    flows: dict[FlowKey, Flow],
    key: FlowKey,
    number: int,
    ts: float,
    size: int,
    payload: int,
    flags: int,
    ended: list[tuple[FlowKey, Flow]],
) -> None:
    """Count a packet into its flow; a flow idle past its timeout goes to ``ended`` first."""
    proto, src, sport, dst, dport = key
    reverse: FlowKey = (proto, dst, dport, src, sport)
    if proto == "icmp":
        key, reverse = (proto, src, 0, dst, 0), (proto, dst, 0, src, 0)
    side = 0
    flow = flows.get(key)
    if flow is None and (flow := flows.get(reverse)) is not None:
        side = 1
    if flow is not None and ts - flow.last > INACTIVITY[proto]:
        found = reverse if side else key
        ended.append((found, flows.pop(found)))
        flow, side = None, 0
    if flow is None:
        synack = dpkt.tcp.TH_SYN | dpkt.tcp.TH_ACK
        if proto == "tcp" and flags & synack == synack:  # the other side opened it
            key, side = reverse, 1
        flow = flows[key] = Flow(number, ts, ts)
    flow.last = max(flow.last, ts)
    flow.pkts[side] += 1
    flow.payload[side] += payload
    flow.ip_bytes[side] += size
    flow.flags[side] |= flags
