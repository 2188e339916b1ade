"""Packet captures (pcap, pcapng) into Zeek-shaped ``zeek.dns`` and ``zeek.conn`` events, via dpkt.

* **DNS** (UDP, and TCP segments that hold a whole message, on ports 53, 5353 and 5355): one
  event per transaction, a query and its response paired by (client, server, ports, ``trans_id``)
  as Zeek's dns.log does, with its columns: ``query``, ``qclass``/``qclass_name``,
  ``qtype``/``qtype_name``, ``rcode``/``rcode_name``, ``AA``/``TC``/``RD``/``RA``/``Z``,
  ``answers`` (``,``-joined; TXT as ``TXT <length> <text>``), ``TTLs``, ``rtt``, ``trans_id``,
  ``proto``, ``id.orig_h``... A response without its query is still an event; a query without an
  answer has null ``answers``/``rcode``.
* **conn**: one flow summary per (protocol, endpoints) for TCP, UDP and ICMP, oriented by its
  first packet (a SYN-ACK first means the other side opened it): ``proto``, ``service`` (``dns``),
  ``duration``, ``orig_pkts``/``resp_pkts``, ``orig_bytes``/``resp_bytes`` (payload),
  ``orig_ip_bytes``/``resp_ip_bytes``, ``conn_state`` (an approximation of Zeek's: ``S0`` no
  answer, ``REJ`` SYN answered by RST, ``SF`` closed by FIN, ``RSTO``/``RSTR`` reset, ``S1`` open,
  ``OTH`` no SYN seen). There is no stream reassembly: TCP state is not Zeek's.

``source`` is ``zeek.dns`` / ``zeek.conn`` (so the DNS and connection analytics and Sigma
``product: zeek`` rules run unchanged) and ``provider`` is ``pcap``. ``event_ref.record`` is the
1-based packet number (DNS: the query's, else the response's; conn: the flow's first packet).
A packet cut short or a damaged record is a counted warning with its packet number; packets read
before a truncated end are kept. A flow idle past Zeek's inactivity timeout is written as the
capture goes (``pcap_wire.INACTIVITY``), the others after the last packet.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterator
from typing import Any

import dpkt
import polars as pl

from chainbreaker.events import TIMESTAMP_TYPE, conform
from chainbreaker.readers.base import DEFAULT_BATCH_SIZE, InputFile, Reader, ReadReport
from chainbreaker.readers.pcap_wire import (
    DNS_PORTS,
    INACTIVITY,
    RCODES,
    Flow,
    FlowKey,
    address,
    count_packet,
    dns_answer,
    dns_record,
    network_layer,
)
from chainbreaker.readers.registry import register
from chainbreaker.readers.textlines import event_refs

#: Every this many packets, flows idle past their timeout (``pcap_wire.INACTIVITY``) and DNS queries
#: unanswered for as long as the UDP timeout are written out: memory holds the active flows and
#: queries, not the whole capture.
_SWEEP_PACKETS = 20_000

_PCAP_MAGICS = (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
_PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"


@register
class PcapReader(Reader):
    name = "pcap"
    description = "pcap/pcapng packet captures: DNS transactions (zeek.dns) and flow summaries (zeek.conn)"
    priority = 10

    @classmethod
    def detect(cls, file: InputFile, head: bytes) -> bool:
        return head[:4] in _PCAP_MAGICS or (head[:4] == _PCAPNG_MAGIC and len(head) >= 12)

    def read(
        self, file: InputFile, report: ReadReport, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> Iterator[pl.DataFrame]:
        dns: list[dict[str, Any]] = []
        pending: dict[tuple[str, int, str, int, int], dict[str, Any]] = {}
        flows: dict[FlowKey, Flow] = {}
        ended: list[tuple[FlowKey, Flow]] = []  # flows over (idle past their timeout), not yet written
        with file.open() as stream:
            try:
                capture = dpkt.pcap.UniversalReader(stream)
            except (ValueError, dpkt.UnpackError, struct.error) as exc:
                report.warn(file.name, 0, f"unreadable capture: {exc}")
                return
            link = capture.datalink()
            packets = iter(capture)
            number = 0
            while True:
                try:
                    ts, buf = next(packets)
                except StopIteration:
                    break
                except (dpkt.UnpackError, ValueError, struct.error) as exc:
                    report.warn(file.name, number + 1, f"truncated capture: packet {number + 1}: {exc}")
                    break
                number += 1
                try:
                    self._packet(number, ts, link, buf, dns, pending, flows, ended)
                except (dpkt.UnpackError, ValueError, struct.error, IndexError) as exc:
                    report.warn(file.name, number, f"damaged packet: {type(exc).__name__}")
                if number % _SWEEP_PACKETS == 0:
                    ended += _inactive(flows, ts)
                    unanswered = [k for k, query in pending.items() if ts - query["__ts"] > INACTIVITY["udp"]]
                    dns += [pending.pop(k) for k in unanswered]
                if len(dns) >= batch_size:
                    yield self._dns_frame(file, report, dns)
                    dns = []
                if len(ended) >= batch_size:
                    yield self._conn_frame(file, report, ended)
                    ended = []
        dns.extend(pending.values())
        if dns:
            yield self._dns_frame(file, report, dns)
        ended += flows.items()
        if ended:
            yield self._conn_frame(file, report, ended)

    def _packet(
        self,
        number: int,
        ts: float,
        link: int,
        buf: bytes,
        dns: list[dict[str, Any]],
        pending: dict[tuple[str, int, str, int, int], dict[str, Any]],
        flows: dict[FlowKey, Flow],
        ended: list[tuple[FlowKey, Flow]],
    ) -> None:
        ip = network_layer(link, buf)
        if ip is None:
            return
        transport = ip.data
        src, dst = address(ip.src), address(ip.dst)
        if isinstance(transport, dpkt.tcp.TCP):
            proto, sport, dport, payload = "tcp", transport.sport, transport.dport, bytes(transport.data)
        elif isinstance(transport, dpkt.udp.UDP):
            proto, sport, dport, payload = "udp", transport.sport, transport.dport, bytes(transport.data)
        elif isinstance(transport, dpkt.icmp.ICMP | dpkt.icmp6.ICMP6):
            proto, sport, dport, payload = "icmp", transport.type, transport.code, bytes(transport.data)
        else:
            return
        flags = transport.flags if proto == "tcp" else 0
        count_packet(
            flows, (proto, src, sport, dst, dport), number, ts, len(bytes(ip)), len(payload), flags, ended
        )
        if proto == "icmp" or not payload or not ({sport, dport} & DNS_PORTS):
            return
        if proto == "tcp":
            if len(payload) < 2 or struct.unpack(">H", payload[:2])[0] != len(payload) - 2:
                return  # a message split over segments: no reassembly
            payload = payload[2:]
        message = dpkt.dns.DNS(payload)
        if message.qr == dpkt.dns.DNS_Q:
            key = (src, sport, dst, dport, message.id)
            if key in pending:
                dns.append(pending.pop(key))
            pending[key] = dns_record(number, ts, proto, src, sport, dst, dport, message)
            return
        record = pending.pop((dst, dport, src, sport, message.id), None)
        if record is None:
            record = dns_record(number, ts, proto, dst, dport, src, sport, message)
        else:
            record["rtt"] = f"{ts - record['__ts']:.6f}"
        answers = [rr for rr in message.an if rr.type != dpkt.dns.DNS_OPT]
        record.update(
            rcode=str(message.rcode),
            rcode_name=RCODES[message.rcode] if message.rcode < len(RCODES) else None,
            AA=str(bool(message.aa)).lower(),
            RA=str(bool(message.ra)).lower(),
            answers=",".join(dns_answer(rr) for rr in answers) if answers else None,
            TTLs=",".join(f"{float(rr.ttl):.1f}" for rr in answers) if answers else None,
        )
        dns.append(record)

    def fetch(self, file: InputFile, record: int) -> dict[str, Any] | None:
        """Packet ``record`` (1-based): time, length, addresses, and the DNS fields when it is DNS."""
        try:
            with file.open() as stream:
                capture = dpkt.pcap.UniversalReader(stream)
                link = capture.datalink()
                for number, (ts, buf) in enumerate(capture, 1):
                    if number == record:
                        return self._describe(number, ts, link, buf)
        except (OSError, ValueError, dpkt.UnpackError, struct.error):
            return None
        return None

    def _describe(self, number: int, ts: float, link: int, buf: bytes) -> dict[str, Any]:
        out: dict[str, Any] = {"packet": number, "ts": f"{ts:.6f}", "length": len(buf)}
        dns: list[dict[str, Any]] = []
        pending: dict[tuple[str, int, str, int, int], dict[str, Any]] = {}
        flows: dict[FlowKey, Flow] = {}
        try:
            self._packet(number, ts, link, buf, dns, pending, flows, [])
        except (dpkt.UnpackError, ValueError, struct.error, IndexError):
            return out
        for (proto, src, sport, dst, dport), _ in flows.items():
            out |= {"proto": proto, "src": src, "src_port": sport, "dst": dst, "dst_port": dport}
        for row in [*dns, *pending.values()]:
            out |= {k: v for k, v in row.items() if not k.startswith("__") and v is not None}
        return out

    @staticmethod
    def _dns_frame(file: InputFile, report: ReadReport, rows: list[dict[str, Any]]) -> pl.DataFrame:
        rows.sort(key=lambda row: row["__number"])
        numbers = [row.pop("__number") for row in rows]
        stamps = [round(row.pop("__ts") * 1_000_000) * 1000 for row in rows]
        columns = ("id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "trans_id", "rtt", "query",
                   "qclass", "qclass_name", "qtype", "qtype_name", "rcode", "rcode_name", "AA", "TC", "RD",
                   "RA", "Z", "answers", "TTLs")  # fmt: skip
        frame = pl.DataFrame(
            [{c: row.get(c) for c in columns} for row in rows], schema=dict.fromkeys(columns, pl.String())
        )
        report.count(file.name, frame.height)
        return _normalise(frame, "dns", stamps, file.name, numbers)

    @staticmethod
    def _conn_frame(file: InputFile, report: ReadReport, flows: list[tuple[FlowKey, Flow]]) -> pl.DataFrame:
        ordered = sorted(flows, key=lambda item: item[1].number)
        rows: list[dict[str, str | None]] = []
        for (proto, src, sport, dst, dport), flow in ordered:
            ports = {sport, dport} & DNS_PORTS
            rows.append(
                {
                    "uid": "C"
                    + hashlib.blake2b(f"{file.name}|{flow.number}".encode(), digest_size=9).hexdigest(),
                    "id.orig_h": src,
                    "id.orig_p": str(sport),
                    "id.resp_h": dst,
                    "id.resp_p": str(dport),
                    "proto": proto,
                    "service": "dns" if ports and proto != "icmp" else None,
                    "duration": f"{flow.last - flow.first:.6f}",
                    "orig_bytes": str(flow.payload[0]),
                    "resp_bytes": str(flow.payload[1]),
                    "conn_state": flow.state(proto),
                    "orig_pkts": str(flow.pkts[0]),
                    "orig_ip_bytes": str(flow.ip_bytes[0]),
                    "resp_pkts": str(flow.pkts[1]),
                    "resp_ip_bytes": str(flow.ip_bytes[1]),
                }
            )
        stamps = [round(flow.first * 1_000_000) * 1000 for _, flow in ordered]
        frame = pl.DataFrame(rows, schema=dict.fromkeys(rows[0], pl.String()))
        report.count(file.name, frame.height)
        return _normalise(frame, "conn", stamps, file.name, [flow.number for _, flow in ordered])


def _inactive(flows: dict[FlowKey, Flow], now: float) -> list[tuple[FlowKey, Flow]]:
    """The flows idle longer than their protocol's timeout at ``now``, taken out of ``flows`` (a later
    packet of the same endpoints starts a new flow, as in Zeek)."""
    idle = [key for key, flow in flows.items() if now - flow.last > INACTIVITY[key[0]]]
    return [(key, flows.pop(key)) for key in idle]


def _normalise(
    frame: pl.DataFrame, path: str, stamps: list[int], file_name: str, numbers: list[int]
) -> pl.DataFrame:
    return conform(
        frame.with_columns(
            pl.Series("timestamp", stamps, dtype=pl.Int64).cast(TIMESTAMP_TYPE),
            pl.lit(f"zeek.{path}").alias("source"),
            pl.col("id.orig_h").alias("src_ip"),
            pl.col("id.orig_p").alias("src_port"),
            pl.col("id.resp_h").alias("dst_ip"),
            pl.col("id.resp_p").alias("dst_port"),
            pl.lit(path).alias("channel"),
            pl.lit("pcap").alias("provider"),
            event_refs(file_name, numbers),
        )
    )
