"""journald JSON export reader, on an export the test writes in ``journalctl -o json`` form."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import orjson

from chainbreaker.events import NORMALISED_COLUMNS, concat
from chainbreaker.readers import InputFile, ReadReport
from chainbreaker.readers.journald import JournaldJsonReader
from chainbreaker.readers.registry import reader_for, registered_readers
from chainbreaker.readers.suricata import SuricataEveReader
from chainbreaker.readers.syslog import SyslogReader
from chainbreaker.readers.zeek import ZeekJsonReader, ZeekTsvReader

BASE = {"_BOOT_ID": "b1", "_MACHINE_ID": "m1", "_TRANSPORT": "syslog", "_HOSTNAME": "db1"}


def _entry(micros: int, ident: str, pid: str, message: object, **extra: str) -> dict[str, object]:
    return {
        "__CURSOR": f"s=1;i={micros}",
        "__REALTIME_TIMESTAMP": str(micros),
        "__MONOTONIC_TIMESTAMP": "123",
        **BASE,
        "SYSLOG_IDENTIFIER": ident,
        "_PID": pid,
        "MESSAGE": message,
        **extra,
    }


ENTRIES = [
    _entry(1_700_000_000_123_456, "sshd", "501", "Failed password for invalid user test from 198.51.100.7 port 2222 ssh2",  # noqa: E501
           SYSLOG_FACILITY="10", PRIORITY="6", _UID="0"),
    _entry(1_700_000_001_000_000, "sshd", "502",
           list("Accepted password for alice from 198.51.100.8 port 2223 ssh2 \u00e9".encode())),
    _entry(1_700_000_002_000_000, "sudo", "503",
           "  alice : TTY=pts/2 ; PWD=/srv ; USER=root ; COMMAND=/usr/bin/tar czf /tmp/x.tgz /etc"),
    _entry(1_700_000_003_000_000, "systemd", "1", "Started Session 7 of User alice.", _SYSTEMD_UNIT="init.scope"),  # noqa: E501
]  # fmt: skip


def _write(tmp_path: Path, extra_lines: list[bytes] | None = None) -> Path:
    path = tmp_path / "journal.json"
    lines = [orjson.dumps(e) for e in ENTRIES]
    path.write_bytes(b"\n".join(lines[:2] + (extra_lines or []) + lines[2:]) + b"\n")
    return path


def test_journal_export_parsed(tmp_path: Path) -> None:
    path = _write(tmp_path, [b'{"__CURSOR": "s=1;i=9", "MESSAGE": "cut sho'])
    file = InputFile(path)
    reader = reader_for(file)
    assert isinstance(reader, JournaldJsonReader)
    report = ReadReport()
    frame = concat(list(reader.read(file, report, batch_size=2)))
    assert report.records == 4 and [w.position for w in report.warnings] == [3]
    assert frame.columns[: len(NORMALISED_COLUMNS)] == list(NORMALISED_COLUMNS)
    rows = frame.iter_rows(named=True)
    first, second, third, fourth = rows
    assert first["timestamp"] == datetime(2023, 11, 14, 22, 13, 20, 123456, tzinfo=UTC)
    assert (first["host"], first["program"], first["pid"], first["process_pid"]) == (
        "db1",
        "sshd",
        "501",
        501,
    )
    assert (first["user"], first["src_ip"], first["src_port"], first["outcome"]) == (
        "test",
        "198.51.100.7",
        2222,
        "failure",
    )
    assert (first["facility"], first["severity"], first["source"], first["channel"]) == (
        "authpriv",
        "info",
        "linux.auth",
        "sshd",
    )
    assert first["_UID"] == "0" and first["SYSLOG_IDENTIFIER"] == "sshd"
    # MESSAGE written as a byte array is decoded
    assert second["MESSAGE"].endswith("\u00e9") and second["message"] == second["MESSAGE"]
    assert (second["user"], second["outcome"], second["auth_method"]) == ("alice", "success", "password")
    assert (third["user"], third["target_user"], third["pwd"], third["command"]) == (
        "alice", "root", "/srv", "/usr/bin/tar czf /tmp/x.tgz /etc",
    )  # fmt: skip
    assert third["source"] == "linux.auth" and third["event_ref"]["record"] == 4
    assert (fourth["source"], fourth["provider"], fourth["_SYSTEMD_UNIT"]) == (
        "linux.syslog",
        "systemd",
        "init.scope",
    )
    assert frame.get_column("outcome").to_list() == ["failure", "success", "success", None]

    fetched = reader.fetch(file, 2)
    assert fetched is not None and fetched["MESSAGE"] == second["MESSAGE"]
    assert reader.fetch(file, 3) is None


def test_same_fields_as_syslog(tmp_path: Path) -> None:
    journal = concat(list(JournaldJsonReader().read(InputFile(_write(tmp_path)), ReadReport())))
    text = tmp_path / "auth.log"
    text.write_text(
        "".join(f"Nov 14 22:13:2{i} db1 {e['SYSLOG_IDENTIFIER']}[{e['_PID']}]: {row}\n"
                for i, (e, row) in enumerate(zip(ENTRIES, journal.get_column("message"), strict=True)))
    )  # fmt: skip
    syslog = concat(list(SyslogReader(year=2023).read(InputFile(text), ReadReport())))
    cols = ["source", "host", "user", "src_ip", "src_port", "program", "pid", "message", "outcome", "command"]
    assert journal.select(cols).equals(syslog.select(cols))


def test_detection_both_ways(tmp_path: Path, dataset: Callable[[str], Path]) -> None:
    own = InputFile(_write(tmp_path))
    assert JournaldJsonReader.detect(own, own.head())
    slips = dataset("slips") / "slips-dataset" / "dataset"
    others = [
        slips / "test6-malicious.suricata.json",
        slips / "test9-mixed-zeek-dir" / "conn.log",
        slips / "test10-mixed-zeek-dir" / "conn.log",
        dataset("loghub-auth") / "loghub" / "OpenSSH" / "OpenSSH_2k.log",
    ]
    for path in others:
        other = InputFile(path)
        assert not JournaldJsonReader.detect(other, other.head()), path
    for reader in (ZeekTsvReader, ZeekJsonReader, SuricataEveReader, SyslogReader):
        assert not reader.detect(own, own.head())


def test_registered_when_the_package_is_imported() -> None:
    assert {"journald-json"} <= {reader.name for reader in registered_readers()}
