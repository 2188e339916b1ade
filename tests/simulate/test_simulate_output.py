"""The simulator's output, read back by our own readers: no warnings, truth points at real records,
ids and addresses consistent across sources, deterministic, all seven phases."""

from __future__ import annotations

import itertools
import statistics
from pathlib import Path

import orjson
import polars as pl
import pytest
from sim_runs import ATTACKS, SMALL

from chainbreaker.frameworks import technique
from chainbreaker.readers import ReadReport, read_paths
from chainbreaker.simulate import SimConfig, scenario_names, simulate
from chainbreaker.simulate.model import KILLCHAIN_PHASE_IDS
from chainbreaker.simulate.network import ZEEK_SCHEMAS


def truth(folder: Path) -> list[dict]:
    return [orjson.loads(line) for line in (folder / "ground_truth.jsonl").read_bytes().splitlines()]


def read_back(folder: Path) -> tuple[pl.DataFrame, ReadReport]:
    report = ReadReport()
    batches = list(read_paths([folder / "logs"], report, workers=1))
    return pl.concat(batches, how="diagonal_relaxed"), report


def test_every_scenario_is_registered() -> None:
    assert set(scenario_names()) == set(SMALL)


@pytest.mark.parametrize("name", list(SMALL))
def test_readers_take_the_output_without_a_warning(runs: dict[str, Path], name: str) -> None:
    events, report = read_back(runs[name])
    summary = orjson.loads((runs[name] / "ground_truth.json").read_bytes())
    assert report.warnings == []
    assert report.skipped == 0
    assert report.records == summary["events"] == events.height
    assert all(stats.reader for stats in report.files.values())
    sources = set(events["source"].unique())
    assert {
        "windows.security",
        "windows.sysmon",
        "zeek.conn",
        "zeek.dns",
        "zeek.ssl",
        "linux.auth",
    } <= sources


@pytest.mark.parametrize("name", list(SMALL))
def test_every_truth_reference_points_at_a_real_record(runs: dict[str, Path], name: str) -> None:
    events, _ = read_back(runs[name])
    root = str(runs[name]) + "/"
    by_ref = {
        (ref["file"].removeprefix(root), ref["record"]): (host, ts)
        for ref, host, ts in zip(
            events["event_ref"].to_list(), events["host"], events["timestamp"], strict=True
        )
    }
    labels = truth(runs[name])
    assert (len(labels) > 0) == (name != "benign")
    for label in labels:
        key = (label["file"], label["record"])
        assert key in by_ref, label
        host, ts = by_ref[key]
        if label["file"].startswith("logs/windows/"):
            assert host.split(".")[0] == label["host"]
        if not label["file"].endswith("eve.json"):  # EVE flows are logged when the flow ends
            assert ts.isoformat().replace("+00:00", "Z")[:19] == label["time"][:19]


@pytest.mark.parametrize("name", ATTACKS)
def test_attack_truth_walks_all_seven_phases(runs: dict[str, Path], name: str) -> None:
    labels = truth(runs[name])
    assert {label["phase"] for label in labels} == set(KILLCHAIN_PHASE_IDS)
    summary = orjson.loads((runs[name] / "ground_truth.json").read_bytes())
    (incident,) = summary["incidents"]
    assert incident["phases"] == list(KILLCHAIN_PHASE_IDS)
    assert len(incident["hosts"]) >= 1


@pytest.mark.parametrize("name", ATTACKS)
def test_truth_techniques_are_attack_techniques_of_their_tactic(runs: dict[str, Path], name: str) -> None:
    for label in truth(runs[name]):
        tech = technique(label["technique"])
        assert label["tactic"] in tech.tactics, label


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    config = SimConfig(hosts=4, days=0.15, noise=15, seed=5)
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    simulate("lockbit", a, config)
    simulate("lockbit", b, config)
    simulate("lockbit", c, SimConfig(hosts=4, days=0.15, noise=15, seed=6))
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for rel in files:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    assert (a / "logs/zeek/conn.log").read_bytes() != (c / "logs/zeek/conn.log").read_bytes()


def test_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    from chainbreaker.errors import UsageError

    config = SimConfig(hosts=3, days=0.15, noise=5, seed=1)
    simulate("lockbit", tmp_path, config)
    with pytest.raises(UsageError, match="--force"):
        simulate("lockbit", tmp_path, config)
    simulate("lockbit", tmp_path, config, force=True)


def test_window_too_short_for_the_attack_is_a_usage_error(tmp_path: Path) -> None:
    from chainbreaker.errors import UsageError

    with pytest.raises(UsageError, match="window"):
        simulate("lockbit", tmp_path, SimConfig(hosts=4, days=0.05, seed=1))


@pytest.mark.parametrize("name", list(SMALL))
def test_files_are_in_time_order(runs: dict[str, Path], name: str) -> None:
    events, _ = read_back(runs[name])
    files = events.select(
        pl.col("event_ref").struct.field("file").alias("file"),
        pl.col("event_ref").struct.field("record").alias("record"),
        "timestamp",
    )
    for (file,), group in files.group_by("file"):
        if str(file).endswith("eve.json"):
            continue  # EVE flows are written when they time out; alerts at their time
        ts = group.sort("record")["timestamp"]
        assert ts.is_sorted(), file


def test_zeek_logs_have_headers_fields_and_close(runs: dict[str, Path]) -> None:
    for log, (fields, types) in ZEEK_SCHEMAS.items():
        lines = (runs["lockbit"] / f"logs/zeek/{log}.log").read_text().splitlines()
        assert lines[0] == "#separator \\x09"
        assert lines[4] == f"#path\t{log}"
        assert lines[6].split("\t")[1:] == list(fields)
        assert lines[7].split("\t")[1:] == list(types)
        assert lines[-1].startswith("#close\t")
        assert all(len(row.split("\t")) == len(fields) for row in lines[8:-1])


def test_process_guid_chain_of_the_phishing_document(runs: dict[str, Path]) -> None:
    """Outlook -> WINWORD -> encoded PowerShell: each child's ParentProcessGuid is its parent's ProcessGuid,
    and Security 4688 gives the same pid in hex."""
    events, _ = read_back(runs["lockbit"])
    sysmon1 = events.filter((pl.col("source") == "windows.sysmon") & (pl.col("event_code") == 1))
    ps = sysmon1.filter(pl.col("process_command_line").str.contains("-enc "))
    assert ps.height == 1
    word = sysmon1.filter(pl.col("process_guid") == ps["parent_process_guid"][0])
    assert word["process_image"][0].endswith("WINWORD.EXE")
    assert word["parent_process_image"][0].endswith("OUTLOOK.EXE")
    sec = events.filter(
        (pl.col("event_code") == 4688) & (pl.col("process_command_line") == ps["process_command_line"][0])
    )
    assert sec.height == 1
    assert sec["process_pid"][0] == ps["process_pid"][0]


def test_host_addresses_are_stable_across_sources(runs: dict[str, Path]) -> None:
    """Every Sysmon 3 connection shows up in Zeek conn with the same 4-tuple, from the host's address."""
    folder = runs["lockbit"]
    hosts = {h["fqdn"]: h["ip"] for h in orjson.loads((folder / "ground_truth.json").read_bytes())["hosts"]}
    events, _ = read_back(folder)
    net = events.filter((pl.col("source") == "windows.sysmon") & (pl.col("event_code") == 3))
    conn = events.filter(pl.col("source") == "zeek.conn")
    tuples = set(zip(conn["src_ip"], conn["src_port"], conn["dst_ip"], conn["dst_port"], strict=True))
    assert net.height > 0
    for host, src, sport, dst, dport in net.select(
        "host", "src_ip", "src_port", "dst_ip", "dst_port"
    ).iter_rows():
        assert hosts[host] == src
        assert (src, sport, dst, dport) in tuples


def test_beacon_is_regular_and_benign_periodic_traffic_is_not_to_a_rare_external_host(
    runs: dict[str, Path],
) -> None:
    folder = runs["lockbit"]
    c2 = [
        lab
        for lab in truth(folder)
        if lab["phase"] == "command-and-control" and lab["file"] == "logs/zeek/conn.log"
    ]
    lines = (folder / "logs/zeek/conn.log").read_text().splitlines()
    times = sorted(
        float(lines[lab["record"] - 1].split("\t")[0]) for lab in c2 if "\t443\t" in lines[lab["record"] - 1]
    )
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(gaps) > 30
    assert 54 <= statistics.median(gaps) <= 66
    assert max(gaps) <= 66.5 and min(gaps) >= 53.5
    # benign periodic sources go to internal servers or to destinations many hosts share
    benign = pl.read_csv(
        folder / "logs/zeek/conn.log",
        separator="\t",
        comment_prefix="#",
        has_header=False,
        new_columns=list(ZEEK_SCHEMAS["conn"][0]),
        schema_overrides={"id.resp_p": pl.Int64},
    )
    malicious_rows = {lab["record"] - 9 for lab in truth(folder) if lab["file"] == "logs/zeek/conn.log"}
    benign = benign.with_row_index().filter(~pl.col("index").is_in(list(malicious_rows)))
    external = benign.filter(~pl.col("id.resp_h").str.starts_with("10."))
    per_dest = external.group_by("id.resp_h").agg(
        pl.col("id.orig_h").n_unique().alias("sources"), pl.len().alias("n")
    )
    busy = per_dest.filter(pl.col("n") >= 20)
    assert busy.height > 0
    assert busy["sources"].min() >= 2
