"""Suricata EVE reader on the slips EVE file (NDJSON) and the suricata-samples JSON arrays."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import orjson
import polars as pl
import pytest

from chainbreaker.events import NORMALISED_COLUMNS, concat
from chainbreaker.readers import InputFile, ReadReport
from chainbreaker.readers import suricata as suricata_module
from chainbreaker.readers.journald import JournaldJsonReader
from chainbreaker.readers.registry import reader_for, registered_readers
from chainbreaker.readers.suricata import SuricataEveReader
from chainbreaker.readers.syslog import SyslogReader
from chainbreaker.readers.zeek import ZeekJsonReader, ZeekTsvReader


def _read(path: Path, batch_size: int = 50_000) -> tuple[pl.DataFrame, ReadReport]:
    file = InputFile(path)
    reader = reader_for(file)
    assert reader is not None and reader.name == "suricata-eve", path
    report = ReadReport()
    return concat(list(reader.read(file, report, batch_size=batch_size))), report


@pytest.fixture
def eve_file(dataset: Callable[[str], Path]) -> Path:
    return dataset("slips") / "slips-dataset" / "dataset" / "test6-malicious.suricata.json"


def test_ndjson_counts_and_flattened_fields(eve_file: Path) -> None:
    lines = [line for line in eve_file.read_text().split("\n") if line.strip()]
    events = [orjson.loads(line) for line in lines]
    frame, report = _read(eve_file, batch_size=700)
    assert report.records == len(lines) == 5_000 and report.skipped == 0
    alerts = frame.filter(pl.col("source") == "suricata.alert")
    assert alerts.height == sum(e["event_type"] == "alert" for e in events) == 745
    assert frame.columns[: len(NORMALISED_COLUMNS)] == list(NORMALISED_COLUMNS)
    assert {"alert.signature", "alert.signature_id", "alert.category", "alert.severity"} <= set(frame.columns)
    assert {"flow.bytes_toserver", "dns.rrname", "http.hostname", "tls.sni"} <= set(frame.columns)
    expected_types = {e["event_type"] for e in events}
    assert set(frame.get_column("channel").unique()) == expected_types
    assert frame.get_column("provider").unique().to_list() == ["suricata"]

    # Row by row the normalised columns follow the original event.
    for row, event in zip(frame.iter_rows(named=True), events, strict=True):
        assert row["src_ip"] == event.get("src_ip") and row["dst_ip"] == event.get("dest_ip")
        assert row["dst_port"] == event.get("dest_port") and row["host"] == event.get("host")
        assert row["raw.host"] == event.get("host")
        assert row["timestamp"] == datetime.strptime(event["timestamp"], "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(
            UTC
        )
        if event["event_type"] == "alert":
            assert row["alert.signature_id"] == str(event["alert"]["signature_id"])
            tags = event["alert"].get("metadata", {}).get("tag")
            assert row["alert.metadata.tag"] == (",".join(tags) if tags else None)


def test_json_arrays(dataset: Callable[[str], Path]) -> None:
    samples = dataset("suricata-samples") / "suricata-sample-data" / "samples"
    total = 0
    for path in sorted(samples.glob("*/alerts-only.json")):
        expected = json.loads(path.read_text())
        frame, report = _read(path)
        assert report.records == len(expected) and report.skipped == 0, path
        assert frame.get_column("alert.signature").to_list() == [e["alert"]["signature"] for e in expected]
        assert frame.get_column("event_ref").struct.field("record").to_list() == list(
            range(1, len(expected) + 1)
        )
        total += report.records
    assert total == 548


def test_array_streams_across_small_chunks(
    dataset: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = (
        dataset("suricata-samples") / "suricata-sample-data" / "samples" / "wrccdc-2018" / "alerts-only.json"
    )
    whole, _ = _read(path)
    monkeypatch.setattr(suricata_module, "_CHUNK", 997)
    chunked, report = _read(path, batch_size=50)
    assert chunked.equals(whole) and report.skipped == 0
    reader = SuricataEveReader()
    original = reader.fetch(InputFile(path), 7)
    assert original == json.loads(path.read_text())[6]


def test_damaged_input_is_counted_and_the_rest_read(eve_file: Path, tmp_path: Path) -> None:
    lines = eve_file.read_text().split("\n")[:20]
    lines[4] = lines[4][:50]
    lines[9] = "[1, 2]"
    broken = tmp_path / "eve.json"
    broken.write_text("\n".join(lines))
    frame, report = _read(broken)
    assert report.records == 18 and [w.position for w in report.warnings] == [5, 10]
    assert 5 not in frame.get_column("event_ref").struct.field("record").to_list()

    elements = [orjson.loads(line) for line in lines if line.startswith("{") and len(line) > 60][:6]
    text = json.dumps(elements, indent=2)
    cut = text.index('"event_type"', text.index("{", 600))
    damaged = tmp_path / "array.json"
    damaged.write_text(text[:cut] + '"event_type": oops,' + text[cut:])
    frame, report = _read(damaged)
    assert report.skipped == 1 and report.records == len(elements) - 1 == 5
    assert frame.get_column("event_ref").struct.field("record").to_list() == [1, 3, 4, 5, 6]


def test_fetch_ndjson(eve_file: Path) -> None:
    frame, _ = _read(eve_file)
    row = frame.filter(pl.col("source") == "suricata.dns").row(10, named=True)
    original = SuricataEveReader().fetch(InputFile(eve_file), row["event_ref"]["record"])
    assert original is not None and original["dns"]["rrname"] == row["dns.rrname"]


def test_detection_both_ways(eve_file: Path, dataset: Callable[[str], Path]) -> None:
    array = InputFile(
        dataset("suricata-samples")
        / "suricata-sample-data"
        / "samples"
        / "honeypot-2018"
        / "alerts-only.json"
    )
    eve = InputFile(eve_file)
    assert SuricataEveReader.detect(eve, eve.head()) and SuricataEveReader.detect(array, array.head())
    slips = eve_file.parent
    zeek_json = InputFile(slips / "test9-mixed-zeek-dir" / "conn.log")
    zeek_tsv = InputFile(slips / "test10-mixed-zeek-dir" / "conn.log")
    ssh = InputFile(dataset("loghub-auth") / "loghub" / "OpenSSH" / "OpenSSH_2k.log")
    for other in (zeek_json, zeek_tsv, ssh):
        assert not SuricataEveReader.detect(other, other.head())
    for reader in (ZeekJsonReader, ZeekTsvReader, SyslogReader, JournaldJsonReader):
        assert not reader.detect(eve, eve.head()) and not reader.detect(array, array.head())


def test_byte_order_mark_is_not_data(eve_file: Path, tmp_path: Path) -> None:
    path = tmp_path / "eve_bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + eve_file.read_bytes()[:200_000].rsplit(b"\n", 1)[0] + b"\n")
    frame, report = _read(path)
    assert report.skipped == 0 and report.records == path.read_bytes().count(b"\n")
    assert frame.get_column("event_ref").struct.field("record")[0] == 1


def test_registered_when_the_package_is_imported() -> None:
    assert {"suricata-eve"} <= {reader.name for reader in registered_readers()}
