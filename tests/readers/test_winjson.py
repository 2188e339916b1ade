"""Windows JSON reader: the OTRF Security-Datasets corpus (flat NXLog-style JSON lines in zips),
evtx_dump-style JSONL built in the test from corpus EVTX records, and a Winlogbeat (ECS) sample."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pytest
from evtx import PyEvtxParser

from chainbreaker.readers import InputFile, ReadReport, fetch_record, read_paths
from chainbreaker.readers.registry import reader_for
from chainbreaker.readers.winjson import WindowsJsonReader


def _frame(paths: list[Path], report: ReadReport, workers: int = 1) -> pl.DataFrame:
    return pl.concat(list(read_paths(paths, report, workers=workers)), how="diagonal_relaxed")


@pytest.mark.slow
def test_otrf_every_zipped_json_member_read_with_line_counts(dataset: Any):
    root = dataset("otrf-atomic") / "Security-Datasets" / "datasets" / "atomic"
    zips = sorted(root.rglob("*.zip"))
    expected: dict[str, int] = {}
    for archive in zips:
        with zipfile.ZipFile(archive) as opened:
            for member in opened.namelist():
                if member.endswith(".json") and not member.startswith("__MACOSX/"):
                    lines = opened.read(member).split(b"\n")
                    expected[f"{archive}!{member}"] = sum(1 for line in lines if line.strip())
    assert len(zips) == 90
    report = ReadReport()
    total = sum(batch.height for batch in read_paths(zips, report, workers=2))
    read = {name: s.records for name, s in report.files.items() if s.reader == "windows-json"}
    assert read == expected
    assert total == report.records == sum(expected.values())
    assert report.skipped == 0
    # The only warnings are for macOS resource forks stored next to the JSON files.
    assert {w.reason for w in report.warnings} <= {"no reader recognises this file"}
    assert all("__MACOSX/" in w.file for w in report.warnings)


def test_otrf_member_normalised(dataset: Any):
    root = dataset("otrf-atomic") / "Security-Datasets" / "datasets" / "atomic"
    archive = sorted(root.rglob("*.zip"))[0]
    report = ReadReport()
    # rows come grouped by channel within a batch: put them back in line order
    frame = _frame([archive], report).sort(pl.col("event_ref").struct.field("record"))
    with zipfile.ZipFile(archive) as opened:
        member = next(m for m in opened.namelist() if not m.startswith("__MACOSX/"))
        records = [orjson.loads(line) for line in opened.read(member).splitlines() if line.strip()]
    assert frame.height == len(records)
    assert frame["event_code"].to_list() == [r["EventID"] for r in records]
    assert frame["host"].to_list() == [r["Hostname"] for r in records]
    assert frame["channel"].to_list() == [r["Channel"] for r in records]
    assert frame["event_ref"].struct.field("record").to_list() == list(range(1, len(records) + 1))
    assert frame["timestamp"].null_count() == 0
    if "host" in records[0]:  # the collector's own "host" field collides with the normalised column
        assert frame["raw.host"].to_list() == [r.get("host") for r in records]
    ref = frame["event_ref"][3]
    assert fetch_record(ref["file"], ref["record"]) == records[3]


def test_evtx_dump_jsonl_reads_like_the_evtx_file(dataset: Any, tmp_path: Path):
    source = sorted(dataset("evtx-attack-samples").rglob("*.evtx"))[10]
    lines = [r["data"] for r in PyEvtxParser(str(source)).records_json()]
    dumped = tmp_path / "dump.jsonl"
    dumped.write_text("\n".join(orjson.dumps(orjson.loads(d)).decode() for d in lines) + "\n")
    assert isinstance(reader_for(InputFile(dumped)), WindowsJsonReader)
    from_evtx = _frame([source], ReadReport()).drop("event_ref")
    report = ReadReport()
    from_json = _frame([dumped], report)
    assert report.warnings == []
    assert sorted(from_json["event_ref"].struct.field("record")) == list(range(1, len(lines) + 1))
    assert from_json.drop("event_ref").equals(from_evtx)


ECS_EVENT = {
    "@timestamp": "2024-03-01T10:00:00.123Z",
    "event": {"code": "4688", "provider": "Microsoft-Windows-Security-Auditing"},
    "host": {"name": "ws01.corp.example"},
    "winlog": {
        "channel": "Security",
        "computer_name": "ws01.corp.example",
        "provider_name": "Microsoft-Windows-Security-Auditing",
        "record_id": 9001,
        "event_id": 4688,
        "event_data": {
            "SubjectUserName": "alice",
            "SubjectDomainName": "CORP",
            "NewProcessName": "C:\\Windows\\System32\\whoami.exe",
            "NewProcessId": "0x1a2c",
            "ProcessId": "0x10",
            "CommandLine": "whoami /all",
            "ParentProcessName": "C:\\Windows\\System32\\cmd.exe",
        },
    },
}


def test_winlogbeat_ecs_events(tmp_path: Path):
    path = tmp_path / "winlogbeat.ndjson"
    path.write_bytes(orjson.dumps(ECS_EVENT) + b"\n" + orjson.dumps(ECS_EVENT) + b"\n")
    report = ReadReport()
    frame = _frame([path], report)
    assert report.warnings == []
    row = frame.row(0, named=True)
    assert row["source"] == "windows.security"
    assert row["event_code"] == 4688
    assert row["host"] == "ws01.corp.example"
    assert row["user"] == "CORP\\alice"
    assert row["process_image"] == "C:\\Windows\\System32\\whoami.exe"
    assert row["process_pid"] == 0x1A2C
    assert row["parent_process_pid"] == 0x10
    assert row["parent_process_image"] == "C:\\Windows\\System32\\cmd.exe"
    assert row["CommandLine"] == "whoami /all"
    assert row["Channel"] == "Security"
    assert row["EventRecordID"] == "9001"
    assert str(row["timestamp"]) == "2024-03-01 10:00:00.123000+00:00"
    assert frame["event_ref"].struct.field("record").to_list() == [1, 2]


def test_json_array_of_flat_events(tmp_path: Path):
    events = [
        {"EventID": 4624, "Channel": "Security", "Hostname": "dc1", "TimeCreated": "2023-07-19T09:03:40.710Z",
         "TargetUserName": "bob", "TargetDomainName": "CORP", "SubjectUserName": "DC1$",
         "IpAddress": "::ffff:10.1.2.3", "IpPort": "50100"},
        {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational", "Hostname": "ws2",
         "UtcTime": "2023-07-19 09:03:41.000", "Image": "C:\\x.exe", "ProcessId": "42", "User": "CORP\\eve"},
    ]  # fmt: skip
    path = tmp_path / "export.json"
    path.write_bytes(orjson.dumps(events))
    report = ReadReport()
    frame = _frame([path], report)
    assert report.records == 2 and report.warnings == []
    logon, process = frame.row(0, named=True), frame.row(1, named=True)
    assert (logon["user"], logon["src_ip"], logon["src_port"]) == ("CORP\\bob", "10.1.2.3", 50100)
    assert "Provider_Name" not in frame.columns and logon["Computer"] == "dc1"
    assert (process["source"], process["process_pid"], process["user"]) == ("windows.sysmon", 42, "CORP\\eve")
    assert frame["event_ref"].struct.field("record").to_list() == [1, 2]


@pytest.mark.parametrize(
    "head, expected",
    [
        (b'{"Event":{"System":{"EventID":1}}}\n', True),
        (b'{"winlog":{"channel":"Security"}}\n', True),
        (b'{"EventID":4624,"Channel":"Security","Hostname":"x"}\n', True),
        (b'{"ts":1.0,"uid":"C1","id.orig_h":"10.0.0.1"}\n', False),
        (b'{"timestamp":"2024-01-01T00:00:00Z","event_type":"alert"}\n', False),
        (b"Jan  1 00:00:00 host sshd[1]: Failed password\n", False),
    ],
)
def test_detect_by_content(tmp_path: Path, head: bytes, expected: bool):
    path = tmp_path / "sample.log"
    path.write_bytes(head)
    assert WindowsJsonReader.detect(InputFile(path), head) is expected
