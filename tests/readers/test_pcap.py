"""Packet capture reader: a capture the test builds with dpkt, a truncated copy, and the
evtx-attack-samples DNS TXT command capture (counts checked by an independent struct-level parse)."""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import dpkt
import polars as pl
import pytest

from chainbreaker.events import NORMALISED_COLUMNS
from chainbreaker.readers import InputFile, ReadReport
from chainbreaker.readers.pcap import PcapReader
from chainbreaker.readers.registry import reader_for

CLIENT, SERVER = "192.0.2.10", "198.51.100.53"
T0 = 1_700_000_000.25


def _frame(src: str, sport: int, dst: str, dport: int, payload: bytes) -> bytes:
    udp = dpkt.udp.UDP(sport=sport, dport=dport, data=payload)
    udp.ulen = len(bytes(udp))
    ip = dpkt.ip.IP(src=socket.inet_aton(src), dst=socket.inet_aton(dst), p=dpkt.ip.IP_PROTO_UDP, data=udp)
    ip.len = len(bytes(ip))
    return bytes(
        dpkt.ethernet.Ethernet(src=b"\x00" * 6, dst=b"\x01" * 6, type=dpkt.ethernet.ETH_TYPE_IP, data=ip)
    )


def _dns(ident: int, name: str, qtype: int, answer: str | None = None) -> bytes:
    message = dpkt.dns.DNS(id=ident, qd=[dpkt.dns.DNS.Q(name=name, type=qtype)])
    message.op = dpkt.dns.DNS_RD
    if answer is not None:
        message.qr = dpkt.dns.DNS_R
        rr = dpkt.dns.DNS.RR(name=name, type=qtype, ttl=60)
        rr.text = [answer.encode()]
        rr.rdata = bytes([len(answer)]) + answer.encode()
        message.an = [rr]
    return bytes(message)


def _capture(path: Path, ng: bool = False) -> None:
    with path.open("wb") as out:
        writer: dpkt.pcap.Writer | dpkt.pcapng.Writer = (
            dpkt.pcapng.Writer(out) if ng else dpkt.pcap.Writer(out)
        )
        writer.writepkt(_frame(CLIENT, 50000, SERVER, 53, _dns(7, "t.example.com", dpkt.dns.DNS_TXT)), T0)
        writer.writepkt(
            _frame(SERVER, 53, CLIENT, 50000, _dns(7, "t.example.com", dpkt.dns.DNS_TXT, "iex hello")),
            T0 + 0.5,
        )
        writer.writepkt(
            _frame(CLIENT, 50001, SERVER, 53, _dns(8, "lost.example.com", dpkt.dns.DNS_A)), T0 + 1
        )


@pytest.mark.parametrize("ng", [False, True])
def test_dns_query_and_txt_answer(tmp_path: Path, ng: bool) -> None:
    path = tmp_path / "capture.bin"
    _capture(path, ng)
    file = InputFile(path)
    assert isinstance(reader_for(file), PcapReader)
    report = ReadReport()
    dns, conn = list(PcapReader().read(file, report))
    assert report.records == 4 and report.skipped == 0
    assert dns.columns[: len(NORMALISED_COLUMNS)] == list(NORMALISED_COLUMNS)
    rows = dns.to_dicts()
    assert [(r["source"], r["provider"], r["event_ref"]["record"]) for r in rows] == [
        ("zeek.dns", "pcap", 1), ("zeek.dns", "pcap", 3)]  # fmt: skip
    answered, lost = rows
    assert answered["timestamp"] == datetime.fromtimestamp(T0, tz=UTC)
    assert (answered["src_ip"], answered["src_port"], answered["dst_ip"], answered["dst_port"]) == (
        CLIENT, 50000, SERVER, 53)  # fmt: skip
    assert (answered["query"], answered["qtype_name"], answered["rcode_name"]) == (
        "t.example.com",
        "TXT",
        "NOERROR",
    )
    assert answered["answers"] == "TXT 9 iex hello" and answered["TTLs"] == "60.0"
    assert answered["rtt"] == "0.500000" and answered["trans_id"] == "7" and answered["RD"] == "true"
    assert (lost["query"], lost["qtype_name"], lost["answers"], lost["rcode"]) == (
        "lost.example.com", "A", None, None)  # fmt: skip
    fetched = PcapReader().fetch(file, 2)
    assert fetched is not None and fetched["answers"] == "TXT 9 iex hello" and fetched["src"] == SERVER
    assert PcapReader().fetch(file, 99) is None
    flows = conn.sort("src_port").to_dicts()
    keys = ("source", "proto", "service", "conn_state", "orig_pkts", "resp_pkts")
    assert [tuple(f[k] for k in keys) for f in flows] == [
        ("zeek.conn", "udp", "dns", "SF", "1", "1"), ("zeek.conn", "udp", "dns", "S0", "1", "0")]  # fmt: skip


def test_truncated_capture_keeps_what_was_read(tmp_path: Path) -> None:
    path = tmp_path / "cut.pcap"
    _capture(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 30])  # the third packet loses its end
    report = ReadReport()
    batches = list(PcapReader().read(InputFile(path), report))
    assert report.warning_count == 1 and report.warnings[0].position == 3
    dns = batches[0]
    assert dns.get_column("query").to_list() == ["t.example.com"]
    path.write_bytes(data[: len(data) - 60 - 16 - 8])  # cut inside the third packet's record header
    report = ReadReport()
    dns = next(iter(PcapReader().read(InputFile(path), report)))
    assert report.warnings[0].reason.startswith("truncated capture") and report.warnings[0].position == 3
    assert dns.get_column("answers").to_list() == ["TXT 9 iex hello"]


def test_not_a_capture(tmp_path: Path) -> None:
    path = tmp_path / "x.pcap"
    path.write_text("#Software: IIS\n#Fields: date time\n")
    assert not PcapReader.detect(InputFile(path), path.read_bytes())


def _independent_dns_count(path: Path) -> tuple[int, int, int]:
    """(queries, responses, responses whose query was seen) from raw pcap records, Ethernet + IPv4/IPv6 +
    UDP headers and the DNS QR bit, without dpkt."""
    data = path.read_bytes()
    assert data[:4] == b"\xd4\xc3\xb2\xa1" and struct.unpack("<I", data[20:24])[0] == 1  # LE pcap, Ethernet
    offset, queries, responses, matched = 24, 0, 0, 0
    open_queries: set[tuple[bytes, int, bytes, int, int]] = set()
    while offset + 16 <= len(data):
        caplen = struct.unpack("<I", data[offset + 8 : offset + 12])[0]
        frame = data[offset + 16 : offset + 16 + caplen]
        offset += 16 + caplen
        ethertype = struct.unpack(">H", frame[12:14])[0]
        if ethertype == 0x0800:
            header = (frame[14] & 0x0F) * 4
            proto, src, dst, udp = frame[23], frame[26:30], frame[30:34], frame[14 + header :]
        elif ethertype == 0x86DD:
            proto, src, dst, udp = frame[20], frame[22:38], frame[38:54], frame[54:]
        else:
            continue
        if proto != 17:
            continue
        sport, dport = struct.unpack(">HH", udp[:4])
        if not {sport, dport} & {53, 5353, 5355} or len(udp) < 8 + 12:
            continue
        ident, flags = struct.unpack(">HH", udp[8:12])
        if flags & 0x8000:
            responses += 1
            key = (dst, dport, src, sport, ident)
            if key in open_queries:
                matched += 1
                open_queries.discard(key)
        else:
            queries += 1
            open_queries.add((src, sport, dst, dport, ident))
    return queries, responses, matched


def test_corpus_dns_txt_capture(dataset: Callable[[str], Path]) -> None:
    path = dataset("evtx-attack-samples") / "EVTX-ATTACK-SAMPLES" / "Command and Control"
    path = path / "cmds over dns txt queries and reponses.pcap"
    queries, responses, matched = _independent_dns_count(path)
    report = ReadReport()
    batches = list(PcapReader().read(InputFile(path), report))
    dns = pl.concat([b for b in batches if b.get_column("source")[0] == "zeek.dns"], how="diagonal_relaxed")
    assert report.skipped == 0 and report.warning_count == 0
    # Every DNS packet is in an event: one per query, plus responses whose query was not captured.
    assert dns.height == queries + responses - matched
    assert dns.get_column("rcode").is_not_null().sum() == responses
    txt = dns.filter(pl.col("qtype_name") == "TXT")
    assert txt.height > 0 and txt.get_column("answers").str.starts_with("TXT ").all()
    assert dns.get_column("timestamp").is_null().sum() == 0


def test_idle_flows_are_written_as_the_capture_goes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A flow idle past Zeek's UDP timeout (60 s) is over: written before the capture ends, and a
    later packet of the same endpoints starts a new flow. Memory holds the active flows only."""
    monkeypatch.setattr("chainbreaker.readers.pcap._SWEEP_PACKETS", 2)
    path = tmp_path / "flows.pcap"
    with path.open("wb") as out:
        writer = dpkt.pcap.Writer(out)
        writer.writepkt(_frame(CLIENT, 40000, SERVER, 9999, b"a"), T0)  # flow 1
        writer.writepkt(_frame(SERVER, 9999, CLIENT, 40000, b"b"), T0 + 1)  # its answer
        writer.writepkt(_frame(CLIENT, 40001, SERVER, 9999, b"c"), T0 + 30)  # flow 2
        writer.writepkt(_frame(CLIENT, 40000, SERVER, 9999, b"d"), T0 + 100)  # flow 1 idle 99 s: flow 3
        writer.writepkt(_frame(CLIENT, 40002, SERVER, 9999, b"e"), T0 + 101)  # flow 4
    report = ReadReport()
    batches = list(PcapReader().read(InputFile(path), report, batch_size=1))
    assert report.records == 4 and report.warning_count == 0
    assert len(batches) >= 2  # flows over were written before the end
    flows = pl.concat(batches).sort("event_ref")
    rows = [
        (f["event_ref"]["record"], f["src_port"], f["orig_pkts"], f["resp_pkts"]) for f in flows.to_dicts()
    ]
    assert rows == [(1, 40000, "1", "1"), (3, 40001, "1", "0"), (4, 40000, "1", "0"), (5, 40002, "1", "0")]
