"""EVTX reader on the evtx-attack-samples corpus.

Expected values come from an independent pass in the test: the ``evtx`` package and orjson read
each file record by record, and the test compares the reader's rows with those records.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pytest
from evtx import PyEvtxParser

from chainbreaker.events import NORMALISED_SCHEMA
from chainbreaker.readers import InputFile, ReadReport, fetch_record, read_paths
from chainbreaker.readers.evtx import EvtxReader
from chainbreaker.readers.registry import reader_for
from chainbreaker.readers.windows_fields import channel_source


@pytest.fixture(scope="module")
def evtx_files(dataset: Any) -> list[Path]:
    return sorted(dataset("evtx-attack-samples").rglob("*.evtx"))


@pytest.fixture(scope="module")
def corpus(evtx_files: list[Path]) -> tuple[pl.DataFrame, ReadReport]:
    report = ReadReport()
    frame = pl.concat(list(read_paths(evtx_files, report, workers=2)), how="diagonal_relaxed")
    return frame, report


def _records(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(r["data"])["Event"] for r in PyEvtxParser(str(path)).records_json()]


def test_every_corpus_record_is_read_without_warnings(evtx_files, corpus):
    frame, report = corpus
    expected = {str(p): len(_records(p)) for p in evtx_files}
    assert len(evtx_files) == 277
    assert sum(expected.values()) == 8255
    assert report.records == frame.height == 8255
    assert report.skipped == 0
    assert report.warnings == []
    assert {name: stats.records for name, stats in report.files.items()} == expected
    assert all(stats.reader == "evtx" for stats in report.files.values())


def test_normalised_columns_match_the_system_fields_of_every_record(evtx_files, corpus):
    frame, _ = corpus
    assert list(frame.columns[: len(NORMALISED_SCHEMA)]) == list(NORMALISED_SCHEMA)
    assert dict(list(frame.schema.items())[: len(NORMALISED_SCHEMA)]) == NORMALISED_SCHEMA
    expected = []
    for path in evtx_files:
        for event in _records(path):
            system = event["System"]
            code = system["EventID"]
            expected.append(
                {
                    "file": str(path),
                    "record": system["EventRecordID"],
                    "event_code": code["#text"] if isinstance(code, dict) else code,
                    "host": system["Computer"],
                    "channel": system.get("Channel"),
                    "provider": system["Provider"]["#attributes"]["Name"],
                    "time": system["TimeCreated"]["#attributes"]["SystemTime"],
                }
            )
    got = frame.select(
        pl.col("event_ref").struct.field("file"),
        pl.col("event_ref").struct.field("record"),
        "event_code",
        "host",
        "channel",
        "provider",
        pl.col("timestamp").dt.to_string("%Y-%m-%dT%H:%M:%S%.6fZ").alias("time"),
    ).to_dicts()
    # Rows come grouped by channel within a batch (see windows_fields.Rows): compare as sets of rows.
    order = lambda row: (row["file"], row["record"])  # noqa: E731
    assert sorted(got, key=order) == sorted(expected, key=order)
    assert frame["source"].null_count() == 0
    sources = dict(zip(frame["channel"], frame["source"], strict=True))
    assert sources["Microsoft-Windows-Sysmon/Operational"] == "windows.sysmon"
    assert sources["Security"] == "windows.security"
    assert channel_source("Microsoft-Windows-Bits-Client/Operational") == (
        "windows.microsoft-windows-bits-client/operational"
    )


def test_eventdata_fields_keep_sigma_names_and_values(evtx_files, corpus):
    frame, _ = corpus
    sysmon = frame.filter((pl.col("source") == "windows.sysmon") & (pl.col("event_code") == 1))
    assert sysmon.height > 100
    # Sysmon process creation: each normalised process column is the original EventData field.
    for normal, original in [
        ("process_image", "Image"),
        ("process_command_line", "CommandLine"),
        ("process_guid", "ProcessGuid"),
        ("parent_process_image", "ParentImage"),
        ("parent_process_command_line", "ParentCommandLine"),
        ("user", "User"),
    ]:
        # "-" and "" mean "no value" in Windows events and are null in the normalised columns
        expected = [None if v in ("-", "") else v for v in sysmon[original].to_list()]
        assert sysmon[normal].to_list() == expected, normal
    assert sysmon["process_pid"].to_list() == sysmon["ProcessId"].cast(pl.Int64).to_list()
    assert sysmon["parent_process_pid"].to_list() == sysmon["ParentProcessId"].cast(pl.Int64).to_list()
    # Every EventData field of every record is a column holding the record's value as text.
    by_ref = {(r["event_ref"]["file"], r["event_ref"]["record"]): r for r in frame.iter_rows(named=True)}
    checked = 0
    for path in evtx_files[:60]:
        for event in _records(path):
            data = event.get("EventData") or {}
            row = by_ref[(str(path), event["System"]["EventRecordID"])]
            for key, value in data.items():
                if key == "#attributes" or isinstance(value, dict) or value is None:
                    continue
                text = ("true" if value else "false") if isinstance(value, bool) else str(value)
                column = f"EventData_{key}" if key in event["System"] else key
                assert row[column] == text, (path, key)
                checked += 1
    assert checked > 1000


def test_security_4688_uses_new_process_fields_with_hex_ids(corpus):
    frame, _ = corpus
    created = frame.filter((pl.col("channel") == "Security") & (pl.col("event_code") == 4688))
    assert created.height > 0
    for row in created.iter_rows(named=True):
        assert row["process_image"] == row["NewProcessName"]
        assert row["process_pid"] == int(row["NewProcessId"], 16)
        assert row["parent_process_pid"] == int(row["ProcessId"], 16)
        if row["SubjectDomainName"] not in (None, "-"):
            assert row["user"] == f"{row['SubjectDomainName']}\\{row['SubjectUserName']}"


def test_logon_events_take_the_target_account(corpus):
    frame, _ = corpus
    logons = frame.filter((pl.col("channel") == "Security") & (pl.col("event_code") == 4624))
    assert logons.height > 0
    for row in logons.iter_rows(named=True):
        assert row["user"] == f"{row['TargetDomainName']}\\{row['TargetUserName']}"
        if row["IpAddress"] not in (None, "-", ""):
            assert row["src_ip"] == row["IpAddress"].removeprefix("::ffff:")


def test_unnamed_data_and_userdata_are_flattened(evtx_files, corpus):
    frame, _ = corpus
    unnamed = userdata = 0
    for path in evtx_files:
        for event in _records(path):
            row_filter = (pl.col("event_ref").struct.field("file") == str(path)) & (
                pl.col("event_ref").struct.field("record") == event["System"]["EventRecordID"]
            )
            data = event.get("EventData") or {}
            if isinstance(data.get("Data"), dict) and isinstance(data["Data"].get("#text"), list):
                row = frame.filter(row_filter).row(0, named=True)
                assert row["Data"] == ", ".join(str(v) for v in data["Data"]["#text"])
                unnamed += 1
            user_data = event.get("UserData")
            if isinstance(user_data, dict) and unnamed < 10_000:
                row = frame.filter(row_filter).row(0, named=True)
                for leaf in user_data.values():
                    for key, value in leaf.items():
                        if key != "#attributes" and isinstance(value, str):
                            assert row[key] == value
                userdata += 1
    assert unnamed > 0
    assert userdata > 0


def test_detect_accepts_evtx_and_declines_others(evtx_files, tmp_path):
    sample = InputFile(evtx_files[0])
    assert EvtxReader.detect(sample, sample.head())
    assert isinstance(reader_for(sample), EvtxReader)
    text = tmp_path / "notes.evtx"
    text.write_text("not an event log\n")
    assert not EvtxReader.detect(InputFile(text), InputFile(text).head())


def test_fetch_record_returns_the_original_record(evtx_files):
    path = evtx_files[5]
    events = _records(path)
    wanted = events[len(events) // 2]
    got = fetch_record(str(path), wanted["System"]["EventRecordID"])
    assert got == {"Event": wanted}
    assert fetch_record(str(path), 10**12) is None
