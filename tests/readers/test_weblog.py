"""Web access log readers (W3C/IIS and Apache/Nginx) on lines the tests write and on the
evtx-attack-samples "Command and Control" web logs."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from chainbreaker.events import NORMALISED_COLUMNS, concat
from chainbreaker.readers import InputFile, ReadReport
from chainbreaker.readers.registry import reader_for, registered_readers
from chainbreaker.readers.syslog import SyslogReader
from chainbreaker.readers.weberror import WebErrorLogReader
from chainbreaker.readers.weblog import AccessLogReader, W3cReader
from chainbreaker.readers.zeek import ZeekTsvReader

IIS = [
    "#Software: Microsoft Internet Information Services 10.0",
    "#Version: 1.0",
    "#Date: 2024-05-01 09:00:00",
    "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent)"
    " sc-status",
    "2024-05-01 09:00:01 10.0.0.5 GET /default.aspx - 443 - 192.0.2.10 Mozilla/5.0+(Windows+NT+10.0) 200",
    "2024-05-01 09:00:02 10.0.0.5 POST /app/login.aspx user=a&x=1 443 CORP\\alice 192.0.2.11 curl/8.0 302",
    "2024-05-01 09:00:03 10.0.0.5 GET /short 443",  # damaged: 6 values
    "# a remark line",
    "#Date: 2024-05-02 00:00:00",
    "#Fields: time c-ip cs-method cs-uri-stem cs(Referer) sc-status s-computername",
    "00:00:05.250 198.51.100.7 GET /b.aspx https://example.org/ 404 WEB01",
]


def _read(path: Path) -> tuple[pl.DataFrame, ReadReport, str]:
    file = InputFile(path)
    reader = reader_for(file)
    assert reader is not None, path
    report = ReadReport()
    return concat(list(reader.read(file, report, batch_size=2))), report, reader.name


def _write(tmp_path: Path, lines: list[str], name: str = "u_ex240501.log") -> Path:
    path = tmp_path / name
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    return path


def test_w3c_fields_change_mid_file_and_bad_lines(tmp_path: Path) -> None:
    frame, report, name = _read(_write(tmp_path, IIS))
    assert name == "web-w3c"
    assert frame.columns[: len(NORMALISED_COLUMNS)] == list(NORMALISED_COLUMNS)
    assert report.records == 3 and report.skipped == 1
    assert [(w.position, w.reason) for w in report.warnings] == [(7, "bad field count: expected 11, found 6")]
    rows = frame.sort(pl.col("event_ref").struct.field("record")).to_dicts()
    assert [r["event_ref"]["record"] for r in rows] == [5, 6, 11]
    first, second, third = rows
    assert first["timestamp"] == datetime(2024, 5, 1, 9, 0, 1, tzinfo=UTC)
    assert (
        first["source"] == "web.iis" and first["provider"] == "Microsoft Internet Information Services 10.0"
    )
    assert first["cs-user-agent"] == "Mozilla/5.0 (Windows NT 10.0)"
    assert first["cs-uri-query"] is None and first["c-uri"] == "/default.aspx"
    assert (first["src_ip"], first["dst_ip"], first["dst_port"]) == ("192.0.2.10", "10.0.0.5", 443)
    assert second["user"] == second["cs-username"] == "CORP\\alice"
    assert second["c-uri"] == "/app/login.aspx?user=a&x=1" and second["sc-status"] == "302"
    # Second header block: no date field (the #Date gives it), a referer, the server's name as host.
    assert third["timestamp"] == datetime(2024, 5, 2, 0, 0, 5, 250_000, tzinfo=UTC)
    assert third["cs-referer"] == "https://example.org/" and third["host"] == "WEB01"
    assert third["s-ip"] is None and third["dst_ip"] is None
    assert W3cReader().fetch(InputFile(tmp_path / "u_ex240501.log"), 11) == {
        "time": "00:00:05.250",
        "c-ip": "198.51.100.7",
        "cs-method": "GET",
        "cs-uri-stem": "/b.aspx",
        "cs-referer": "https://example.org/",
        "sc-status": "404",
        "s-computername": "WEB01",
    }


def test_w3c_data_before_header_is_a_warning(tmp_path: Path) -> None:
    lines = ["#Software: IIS", "#Version: 1.0", "#Fields: date time c-ip", "2024-05-01 00:00:00 1.2.3.4"]
    path = _write(tmp_path, ["#Remark: cut", *lines])
    assert isinstance(reader_for(InputFile(path)), W3cReader)
    file = InputFile(tmp_path / "cut.log")
    file.path.write_text("2024-05-01 00:00:00 1.2.3.4\n" + "\n".join(lines) + "\n")
    report = ReadReport()
    frames = list(W3cReader().read(file, report))
    assert report.records == 1 and [w.position for w in report.warnings] == [1]
    assert frames[0].get_column("src_ip").to_list() == ["1.2.3.4"]


ACCESS = [
    '203.0.113.9 - - [11/Jul/2018:08:41:28 +0300] "GET /index.html?a=1&b=2 HTTP/1.1" 200 11444',
    '203.0.113.9 - bob [11/Jul/2018:23:59:59 -0500] "POST /login HTTP/1.0" 302 - "https://ex.org/"'
    ' "Mozilla/5.0 (X11)"',
    '203.0.113.9 - - [11/Jul/2018:08:41:30 +0000] "GET /x HTTP/1.1" 200 5 "-" "curl/8" 0.003 upstream1',
    "garbage that is not an access log line",
    '203.0.113.9 - - [11/Jul/2018:08:41:31 +0000] "GET /q?p="><script>x</script> HTTP/1.1" 404 9',
    '203.0.113.9 - - [11/Jul/2018:08:41:32 +0000] "\x16\x03\x01" 400 -',
]


def test_access_log_common_combined_extra_and_bad_lines(tmp_path: Path) -> None:
    frame, report, name = _read(_write(tmp_path, ACCESS, "access_log"))
    assert name == "web-access"
    assert report.records == 5 and report.skipped == 1
    assert [(w.position, w.reason.split(":")[0]) for w in report.warnings] == [(4, "not an access log line")]
    rows = {r["event_ref"]["record"]: r for r in frame.to_dicts()}
    one = rows[1]
    assert one["timestamp"] == datetime(2018, 7, 11, 5, 41, 28, tzinfo=UTC)
    assert (one["cs-method"], one["cs-uri-stem"], one["cs-uri-query"], one["cs-version"]) == (
        "GET", "/index.html", "a=1&b=2", "HTTP/1.1")  # fmt: skip
    assert one["c-uri"] == "/index.html?a=1&b=2" and one["src_ip"] == one["c-ip"] == "203.0.113.9"
    assert one["sc-bytes"] == "11444" and one["cs-referer"] is None and one["user"] is None
    two = rows[2]
    assert two["timestamp"] == datetime(2018, 7, 12, 4, 59, 59, tzinfo=UTC)
    assert two["user"] == two["cs-username"] == "bob" and two["sc-bytes"] is None
    assert (two["cs-referer"], two["cs-user-agent"]) == ("https://ex.org/", "Mozilla/5.0 (X11)")
    assert rows[3]["extra"] == "0.003 upstream1" and rows[3]["cs-referer"] is None
    assert rows[5]["cs-uri-query"] == 'p="><script>x</script>' and rows[5]["sc-status"] == "404"
    assert rows[6]["cs-method"] is None and rows[6]["request"] == "\x16\x03\x01"
    fetched = AccessLogReader().fetch(InputFile(tmp_path / "access_log"), 2)
    assert fetched is not None and fetched["cs-username"] == "bob"


def test_detection_both_ways(tmp_path: Path) -> None:
    syslog = _write(
        tmp_path, ["May  1 09:00:00 host sshd[1]: Accepted password for a from 1.2.3.4 port 2 ssh2"], "s"
    )
    zeek = tmp_path / "conn.log"
    zeek.write_text("#separator \\x09\n#fields\tts\tuid\n1.0\tCabc\n")
    assert isinstance(reader_for(InputFile(syslog)), SyslogReader)
    assert isinstance(reader_for(InputFile(zeek)), ZeekTsvReader)
    for reader in (W3cReader, AccessLogReader):
        assert not reader.detect(InputFile(syslog), syslog.read_bytes())
        assert not reader.detect(InputFile(zeek), zeek.read_bytes())
    assert {"web-w3c", "web-access", "web-error", "pcap"} <= {reader.name for reader in registered_readers()}
    w3c, access = _write(tmp_path, IIS, "a.txt"), _write(tmp_path, ACCESS[:3], "b.log")
    assert not AccessLogReader.detect(InputFile(w3c), w3c.read_bytes())
    assert not W3cReader.detect(InputFile(access), access.read_bytes())


@pytest.fixture
def c2_folder(dataset: Callable[[str], Path]) -> Path:
    return dataset("evtx-attack-samples") / "EVTX-ATTACK-SAMPLES" / "Command and Control"


def test_iis_tunnel_log_every_line(c2_folder: Path) -> None:
    path = c2_folder / "Tunna_rdp_tunnel_IIS.log"
    lines = path.read_bytes().decode().splitlines()
    data = [
        (n, line.split(" ")) for n, line in enumerate(lines, 1) if line.strip() and not line.startswith("#")
    ]
    frame, report, name = _read(path)
    assert name == "web-w3c"
    assert report.records == len(data) == frame.height and report.skipped == 0
    by_record = frame.sort(pl.col("event_ref").struct.field("record"))
    assert by_record.get_column("event_ref").struct.field("record").to_list() == [n for n, _ in data]
    # Independent values from a plain split: method, stem, status, client per line.
    expected = [(v[3], v[4], v[11], v[8]) for _, v in data]
    got = by_record.select("cs-method", "cs-uri-stem", "sc-status", "src_ip").rows()
    assert got == expected
    assert by_record.get_column("timestamp").is_null().sum() == 0


def test_apache_attack_log_every_line(c2_folder: Path) -> None:
    path = c2_folder / "web_attack_and_isp_webshell_localhost_access_log.txt"
    lines = path.read_bytes().decode("utf-8", "replace").splitlines()
    frame, report, name = _read(path)
    assert name == "web-access"
    assert report.records == len(lines) == frame.height and report.skipped == 0
    status = [re.search(r'" (\d{3}) \S+$', line) for line in lines]
    assert frame.sort(pl.col("event_ref").struct.field("record")).get_column("sc-status").to_list() == [
        m.group(1) if m else None for m in status
    ]
    posts = sum(1 for line in lines if '"POST ' in line)
    assert frame.filter(pl.col("cs-method") == "POST").height == posts
    assert frame.get_column("timestamp").is_null().sum() == 0


ERRORS = [
    "[Wed Oct 11 14:32:52.123456 2000] [core:error] [pid 1234:tid 5678] [client 192.0.2.1:5678]"
    " AH00126: Bad URI",
    "[Sun Dec 04 04:47:44 2005] [error] [client 192.0.2.9] File does not exist: /var/www/html/robots.txt",
    "  a continuation line written by a module",
    "not an error log line",
    '2024/05/01 09:00:00 [error] 1234#0: *7 open() "/x" failed, client: 198.51.100.4, server: localhost',
]


def test_error_logs_apache_and_nginx(tmp_path: Path) -> None:
    frame, report, name = _read(_write(tmp_path, ERRORS, "error_log"))
    assert name == "web-error"
    assert report.records == 3 and [(w.position, w.reason.split(":")[0]) for w in report.warnings] == [
        (4, "not a web server error log line")
    ]
    rows = {r["event_ref"]["record"]: r for r in frame.to_dicts()}
    one, two, five = rows[1], rows[2], rows[5]
    assert one["timestamp"] == datetime(2000, 10, 11, 14, 32, 52, 123_456, tzinfo=UTC)
    assert (one["source"], one["channel"], one["module"], one["level"]) == (
        "web.error",
        "apache",
        "core",
        "error",
    )
    assert (one["src_ip"], one["client"], one["process_pid"], one["tid"]) == (
        "192.0.2.1",
        "192.0.2.1:5678",
        1234,
        "5678",
    )
    assert one["message"] == "AH00126: Bad URI"
    assert two["module"] is None and two["src_ip"] == "192.0.2.9"
    assert two["timestamp"] == datetime(2005, 12, 4, 4, 47, 44, tzinfo=UTC)
    assert (five["channel"], five["connection"], five["src_ip"], five["level"]) == (
        "nginx",
        "7",
        "198.51.100.4",
        "error",
    )
    assert five["timestamp"] == datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
    assert not WebErrorLogReader.detect(InputFile(tmp_path / "x"), "\n".join(ACCESS).encode())
    assert not AccessLogReader.detect(InputFile(tmp_path / "x"), "\n".join(ERRORS).encode())
