"""Zeek TSV and JSON readers on the slips, zeek-wrccdc and zeek-edge-cases (RITA) corpora.

Expected record counts come from an independent count of each file in the test (data lines,
i.e. non-blank lines that are not ``#`` headers, whose field count matches the ``#fields`` line).
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import orjson
import polars as pl
import pytest

from chainbreaker.events import NORMALISED_COLUMNS, concat
from chainbreaker.readers import InputFile, ReadReport
from chainbreaker.readers.journald import JournaldJsonReader
from chainbreaker.readers.registry import reader_for, registered_readers
from chainbreaker.readers.suricata import SuricataEveReader
from chainbreaker.readers.syslog import SyslogReader
from chainbreaker.readers.zeek import ZeekJsonReader, ZeekTsvReader


def _input(path: Path) -> InputFile:
    return InputFile(path, compression="gzip" if path.suffix == ".gz" else None)


def _text(path: Path) -> list[str]:
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return data.decode("utf-8", errors="replace").split("\n")


def _count_tsv(path: Path) -> tuple[int, int]:
    """(well-formed data lines, damaged data lines), counted without the reader."""
    good = bad = 0
    width = None
    for line in _text(path):
        line = line.rstrip("\r")
        if line.lstrip(" \t").startswith("#"):
            if line.startswith("#fields"):
                width = len(line.split("\t")) - 1
            continue
        if not line.strip():
            continue
        n = len(line.split("\t"))
        if n == width or (n == (width or 0) + 1 and line.endswith("\t")):
            good += 1
        else:
            bad += 1
    return good, bad


def _count_json(path: Path) -> tuple[int, int]:
    good = bad = 0
    for line in _text(path):
        if not line.strip():
            continue
        try:
            orjson.loads(line)
            good += 1
        except orjson.JSONDecodeError:
            bad += 1
    return good, bad


def _read(path: Path, batch_size: int = 50_000) -> tuple[pl.DataFrame, ReadReport, str]:
    file = _input(path)
    reader = reader_for(file)
    assert reader is not None, f"no reader for {path}"
    report = ReadReport()
    frame = concat(list(reader.read(file, report, batch_size=batch_size)))
    return frame, report, reader.name


def _check_counts(path: Path) -> tuple[pl.DataFrame, ReadReport]:
    frame, report, name = _read(path)
    expected = _count_tsv(path) if name == "zeek-tsv" else _count_json(path)
    assert name in ("zeek-tsv", "zeek-json"), path
    assert (report.records, report.skipped) == expected, path
    assert frame.height == report.records
    assert frame.columns[: len(NORMALISED_COLUMNS)] == list(NORMALISED_COLUMNS)
    if frame.height:
        assert frame.get_column("provider").unique().to_list() == ["zeek"]
        assert frame.get_column("source").str.starts_with("zeek.").all()
        assert frame.get_column("host").null_count() == frame.height
    return frame, report


def test_slips_zeek_folders_every_log_read(dataset: Callable[[str], Path]) -> None:
    root = dataset("slips") / "slips-dataset" / "dataset"
    logs = sorted(p for p in root.rglob("*.log") if "zeek-dir" in p.parent.name or "port-scans" in str(p))
    assert len(logs) > 30
    kinds = set()
    for path in logs:
        frame, _ = _check_counts(path)
        kinds.update(frame.get_column("channel").unique().to_list())
    # TSV logs name their path; the JSON logs (written without _path) get it from their fields.
    assert {"conn", "dns", "http", "ssl", "x509", "files", "notice", "weird", "dhcp", "smtp", "arp"} <= kinds
    assert "unknown" not in kinds


def test_slips_json_kind_guessed_from_fields_and_ts_epoch(dataset: Callable[[str], Path]) -> None:
    folder = dataset("slips") / "slips-dataset" / "dataset" / "test9-mixed-zeek-dir"
    for log in ("conn", "dns", "http", "ssl", "x509", "files", "dhcp", "notice", "software", "pe", "smtp"):
        frame, _, name = _read(folder / f"{log}.log")
        assert name == "zeek-json"
        assert frame.get_column("channel").unique().to_list() == [log]
    files, _, _ = _read(folder / "files.log")
    # files' own "source" (HTTP, SSL...) is kept as raw.source; the normalised source is zeek.files
    assert set(files.get_column("raw.source").drop_nulls().unique()) <= {"HTTP", "SSL", "SMTP", "FTP", "SMB"}
    assert files.get_column("source").unique().to_list() == ["zeek.files"]
    http, _, _ = _read(folder / "http.log")
    assert http.get_column("raw.host").null_count() < http.height
    conn, _, _ = _read(folder / "conn.log")
    raw = orjson.loads(_text(folder / "conn.log")[0])
    first = conn.row(0, named=True)
    assert first["src_ip"] == raw["id.orig_h"] and first["dst_port"] == raw["id.resp_p"]
    assert first["timestamp"].timestamp() == pytest.approx(raw["ts"], abs=1e-6)


@pytest.mark.parametrize("flavour", ["zeek-default", "zeek-json"])
def test_wrccdc_every_log_read_with_known_counts(dataset: Callable[[str], Path], flavour: str) -> None:
    folder = dataset("zeek-wrccdc") / "zed-sample-data" / flavour
    counts: dict[str, int] = {}
    for path in sorted(folder.glob("*.gz")):
        frame, report = _check_counts(path)
        assert report.skipped == 0, report.warnings[:3]
        counts[path.name.split(".")[0]] = report.records
        assert frame.get_column("channel").unique().to_list() == [path.name.split(".")[0]]
    assert counts["dns"] == 53_615 and counts["ssl"] == 49_474 and counts["rdp"] == 4_122
    assert len(counts) == len(list(folder.glob("*.gz")))


def test_wrccdc_tsv_and_json_give_the_same_normalised_events(dataset: Callable[[str], Path]) -> None:
    root = dataset("zeek-wrccdc") / "zed-sample-data"
    cols = ["timestamp", "source", "user", "src_ip", "src_port", "dst_ip", "dst_port", "channel"]
    for log in ("rdp", "kerberos", "ntlm", "ftp", "smb_mapping", "dce_rpc", "ssh"):
        tsv, _, _ = _read(root / "zeek-default" / f"{log}.log.gz")
        json, _, _ = _read(root / "zeek-json" / f"{log}.json.gz")
        assert tsv.select(cols).sort(cols).equals(json.select(cols).sort(cols)), log
    # Booleans read the same from TSV (T/F, typed bool by #types) and JSON (true/false).
    for log, field in (("ssl", "established"), ("ntlm", "success"), ("rdp", "cert_permanent")):
        keys = ["timestamp", "uid"]
        tsv, _, _ = _read(root / "zeek-default" / f"{log}.log.gz")
        json, _, _ = _read(root / "zeek-json" / f"{log}.json.gz")
        assert tsv.sort(keys).get_column(field).equals(json.sort(keys).get_column(field)), log
        assert set(tsv.get_column(field).drop_nulls().unique()) <= {"true", "false"}
    kerberos, _, _ = _read(root / "zeek-default" / "kerberos.log.gz")
    assert kerberos.get_column("user").equals(kerberos.get_column("client"), check_names=False)
    ntlm, _, _ = _read(root / "zeek-json" / "ntlm.json.gz")
    assert ntlm.get_column("user").equals(ntlm.get_column("username"), check_names=False)
    ftp, _, _ = _read(root / "zeek-default" / "ftp.log.gz")
    assert "raw.user" in ftp.columns and ftp.get_column("user").equals(
        ftp.get_column("raw.user"), check_names=False
    )
    assert ftp.get_column("user").null_count() < ftp.height


def test_tsv_set_unset_and_empty_fields(dataset: Callable[[str], Path]) -> None:
    path = dataset("slips") / "slips-dataset" / "dataset" / "port-scans" / "horizontal" / "conn.log"
    frame, _, _ = _read(path)
    # "(empty)" is an empty set -> "", "-" is unset -> null
    assert frame.get_column("tunnel_parents").unique().to_list() == [""]
    assert frame.get_column("local_orig").null_count() == frame.height
    dns, _, _ = _read(path.parents[2] / "test10-mixed-zeek-dir" / "dns.log")
    answers = dns.get_column("answers").drop_nulls()
    assert answers.str.contains(",").any()  # vectors keep Zeek's set separator


def test_edge_cases(dataset: Callable[[str], Path]) -> None:
    root = dataset("zeek-edge-cases") / "rita-test-data" / "test_data"
    for path in sorted(root.rglob("*.log*")):
        if path.parent.name == "text_file" or path.name == "conn_top.log":
            continue
        _check_counts(path)

    # A truncated last line: one warning at that line, every other line read.
    truncated = root / "truncated" / "conn.log"
    _, report, _ = _read(truncated)
    lines = _text(truncated)
    last = max(i for i, line in enumerate(lines, 1) if line.strip())
    assert [(w.position, w.reason.split(":")[0]) for w in report.warnings] == [(last, "bad field count")]
    assert report.records == _count_tsv(truncated)[0] and report.records > 50
    _, json_report, _ = _read(root / "truncated" / "conn_json.log")
    assert json_report.skipped == 1 and json_report.records == 3

    # An unknown field is kept as a column of its own.
    unknown, _, _ = _read(root / "has_unknown_field" / "http.log")
    assert (
        "i_dont_exist" in unknown.columns and unknown.get_column("i_dont_exist").null_count() < unknown.height
    )

    # Open logs (no #close) and logs of open connections read like closed ones.
    open_conn, _, _ = _read(root / "open_conns" / "open" / "open_conn.log")
    assert open_conn.get_column("source").unique().to_list() == ["zeek.conn"]

    # JSON with _path: the path names the log.
    dns, _, _ = _read(root / "json_with_all_fields" / "dns.log")
    assert dns.get_column("source").unique().to_list() == ["zeek.dns"]

    # A conn log cut at the top (no header at all): read with Zeek's default conn layout, one
    # zero-cost warning saying so, and the damaged last line counted.
    top = root / "truncated" / "conn_top.log"
    lines = _text(top)
    data = [line for line in lines if line.strip()]
    width = len(data[0].split("\t"))
    frame, report, name = _read(top)
    assert name == "zeek-tsv" and width == 21
    assert report.records == sum(len(line.split("\t")) == width for line in data) == len(data) - 1
    assert [w.reason.split(":")[0] for w in report.warnings] == ["no Zeek header", "bad field count"]
    assert frame.get_column("source").unique().to_list() == ["zeek.conn"]
    assert frame.get_column("uid").to_list() == [line.split("\t")[1] for line in data[:-1]]
    assert frame.get_column("dst_port").to_list() == [int(line.split("\t")[5]) for line in data[:-1]]

    # Not Zeek at all: no Zeek reader claims it.
    text_file = _input(root / "text_file" / "conn.log")
    assert not ZeekTsvReader.detect(text_file, text_file.head())
    assert not ZeekJsonReader.detect(text_file, text_file.head())


def test_proxy_rolling_gzip(dataset: Callable[[str], Path]) -> None:
    folder = dataset("zeek-edge-cases") / "rita-test-data" / "test_data" / "proxy_rolling"
    for path in sorted(folder.glob("*.gz")):
        frame, _ = _check_counts(path)
        assert frame.get_column("channel").unique().to_list() == [path.name.split(".")[0]]


def test_several_header_blocks_in_one_file(dataset: Callable[[str], Path], tmp_path: Path) -> None:
    folder = dataset("slips") / "slips-dataset" / "dataset" / "test10-mixed-zeek-dir"
    joined = tmp_path / "joined.log"
    joined.write_bytes((folder / "conn.log").read_bytes() + (folder / "dns.log").read_bytes())
    frame, report, name = _read(joined, batch_size=64)
    assert name == "zeek-tsv"
    counts = dict(frame.group_by("source").len().iter_rows())
    assert counts == {
        "zeek.conn": _count_tsv(folder / "conn.log")[0],
        "zeek.dns": _count_tsv(folder / "dns.log")[0],
    }
    assert report.skipped == 0


def test_underscore_ids_and_stream_tag(tmp_path: Path) -> None:
    path = tmp_path / "otrf_style.json"
    records = [
        {"@stream": "conn", "ts": "2020-09-21T12:00:00.5Z", "uid": "C1", "id_orig_h": "10.0.0.5", "id_orig_p": 51000,  # noqa: E501
         "id_resp_h": "10.0.0.9", "id_resp_p": 445, "conn_state": "SF"},
        {"@stream": "conn", "ts": "2020-09-21T12:00:01Z", "uid": "C2", "id_orig_h": "10.0.0.6", "id_orig_p": 51001,  # noqa: E501
         "id_resp_h": "10.0.0.9", "id_resp_p": 445, "conn_state": "S0"},
        "not an object",
    ]  # fmt: skip
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in records) + b"\n")
    frame, report, name = _read(path)
    assert name == "zeek-json"
    assert report.records == 2 and report.skipped == 1 and report.warnings[0].position == 3
    assert "id.orig_h" in frame.columns and "id_orig_h" not in frame.columns
    assert frame.get_column("src_ip").to_list() == ["10.0.0.5", "10.0.0.6"]
    assert frame.get_column("dst_port").to_list() == [445, 445]
    assert frame.get_column("source").to_list() == ["zeek.conn", "zeek.conn"]
    assert str(frame.get_column("timestamp")[0]) == "2020-09-21 12:00:00.500000+00:00"


def test_batches_are_bounded_and_fetch_returns_the_original(dataset: Callable[[str], Path]) -> None:
    path = dataset("zeek-wrccdc") / "zed-sample-data" / "zeek-default" / "rdp.log.gz"
    file = _input(path)
    report = ReadReport()
    batches = list(ZeekTsvReader().read(file, report, batch_size=1000))
    assert max(b.height for b in batches) <= 1000 and sum(b.height for b in batches) == 4_122
    row = batches[2].row(5, named=True)
    original = ZeekTsvReader().fetch(file, row["event_ref"]["record"])
    assert original is not None and original["uid"] == row["uid"] and original["_path"] == "rdp"
    json_path = path.parents[1] / "zeek-json" / "rdp.json.gz"
    json_batches = list(ZeekJsonReader().read(_input(json_path), ReadReport(), batch_size=1000))
    json_row = json_batches[1].row(3, named=True)
    fetched = ZeekJsonReader().fetch(_input(json_path), json_row["event_ref"]["record"])
    assert fetched is not None and fetched["uid"] == json_row["uid"]


def test_detection_both_ways(dataset: Callable[[str], Path]) -> None:
    slips = dataset("slips") / "slips-dataset" / "dataset"
    tsv = _input(slips / "test10-mixed-zeek-dir" / "conn.log")
    json = _input(slips / "test9-mixed-zeek-dir" / "conn.log")
    eve = _input(slips / "test6-malicious.suricata.json")
    ssh = _input(dataset("loghub-auth") / "loghub" / "OpenSSH" / "OpenSSH_2k.log")
    assert ZeekTsvReader.detect(tsv, tsv.head()) and ZeekJsonReader.detect(json, json.head())
    for other in (json, eve, ssh):
        assert not ZeekTsvReader.detect(other, other.head())
    for other in (tsv, eve, ssh):
        assert not ZeekJsonReader.detect(other, other.head())
    for reader in (SuricataEveReader, SyslogReader, JournaldJsonReader):
        assert not reader.detect(tsv, tsv.head()) and not reader.detect(json, json.head())


def test_registered_when_the_package_is_imported() -> None:
    assert {"zeek-tsv", "zeek-json"} <= {reader.name for reader in registered_readers()}
