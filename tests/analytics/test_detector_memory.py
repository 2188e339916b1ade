"""The detector's bounded memory: spilled rows give the analytics exactly what in-memory rows give."""

from __future__ import annotations

import gc
from collections.abc import Callable
from pathlib import Path

import polars as pl
from analytics_events import at, batch

from chainbreaker.alerts import Alert
from chainbreaker.detect.analytics import AnalyticsDetector, analytic_class, build_analytics
from chainbreaker.detect.analytics.base import BASE_COLUMNS
from chainbreaker.readers import read_paths
from chainbreaker.readers.base import ReadReport

Dataset = Callable[[str], Path]


def alert_keys(alerts: list[Alert]) -> list[tuple[object, ...]]:
    return [(a.id, a.rule_id, a.time, a.event_refs, a.description, a.count, a.extra) for a in alerts]


def feed(batches: list[pl.DataFrame], spill_rows: int | None) -> AnalyticsDetector:
    detector = AnalyticsDetector(build_analytics(), spill_rows=spill_rows)
    for b in batches:
        assert detector.observe(b) == []
    return detector


def test_spilled_equals_in_memory_on_real_logs(dataset: Dataset) -> None:
    # Windows (Security + Sysmon: analytics reading two sources), Zeek conn (reduced, Categorical)
    # and auth.log, in small batches so that every source spills several files.
    paths = [
        dataset("evtx-attack-samples") / "EVTX-ATTACK-SAMPLES" / "Lateral Movement",
        dataset("slips") / "slips-dataset" / "dataset" / "port-scans",
        dataset("loghub-auth") / "loghub" / "OpenSSH" / "OpenSSH_2k.log",
    ]
    batches = list(read_paths(paths, ReadReport(), batch_size=50, workers=1))
    memory, spilled = feed(batches, None), feed(batches, 80)
    assert spilled._folder is not None and memory._folder is None
    files = sorted(p.name for p in spilled._folder.iterdir())
    assert {f.split("-")[0] for f in files} >= {"windows.security", "zeek.conn", "linux.auth"}
    assert not memory._spilled
    for analytic in spilled.analytics:  # per analytic: same rows, same order, same types
        one, other = memory.events_for(analytic), spilled.events_for(analytic)
        if one is None:
            assert other is None, analytic.id
            continue
        assert other is not None and other.schema == one.schema, analytic.id
        assert other.equals(one), analytic.id
        assert set(one.columns) <= {*BASE_COLUMNS, *analytic.columns, "failed", "duration", "out_bytes",
                                    "in_bytes", "icmp_type", "proto"}  # fmt: skip
        if "event_ref" in one.columns:
            assert one.schema["event_ref"] == pl.Struct({"file": pl.String, "record": pl.Int64})
    folder = spilled._folder
    expected = memory.finish()
    assert {a.rule_id for a in expected} >= {"brute_force", "vertical_port_scan", "admin_share_access"}
    assert alert_keys(spilled.finish()) == alert_keys(expected)
    assert not folder.exists() and spilled._folder is None  # finish deletes the spill files


def test_two_sources_keep_arrival_order_and_detector_is_reusable() -> None:
    # One analytic over Security + Sysmon: its evidence is listed in the order the rows arrived,
    # Security first (sources in name order), whether a row was spilled or still in memory.
    analytic = analytic_class("inhibit_recovery")()
    security = batch(
        [{"source": "windows.security", "host": "ws1", "event_code": 4688, "timestamp": at(i),
          "process_command_line": "vssadmin.exe delete shadows /all /quiet"} for i in range(2)],
        file="Security.evtx",
    )  # fmt: skip
    sysmon = batch(
        [{"source": "windows.sysmon", "host": "ws1", "event_code": 1, "timestamp": at(i),
          "process_command_line": "wbadmin delete catalog -quiet"} for i in range(3)],
        file="Sysmon.evtx",
    )  # fmt: skip
    results = []
    for spill_rows in (None, 1, 3):  # 3: Sysmon's rows spilled, Security's still in memory
        detector = AnalyticsDetector([analytic], spill_rows=spill_rows)
        for _ in range(2):  # live mode feeds and finishes the same detector again
            detector.observe(sysmon)
            detector.observe(security)
            alerts = detector.finish()
            assert alerts and detector._folder is None and not detector._spilled
            results.append(alert_keys(alerts))
    assert all(r == results[0] for r in results)
    assert detector.finish() == []  # nothing kept after finish
    refs = results[0][0][3]
    assert isinstance(refs, tuple) and [r.file for r in refs][:1] == ["Security.evtx"]


def test_abandoned_detector_removes_its_spill_folder() -> None:
    detector = AnalyticsDetector([analytic_class("brute_force")()], spill_rows=1)
    detector.observe(batch([{"source": "linux.auth", "host": "h", "user": "root", "src_ip": "192.0.2.1",
                             "outcome": "failure"}]))  # fmt: skip
    folder = detector._folder
    assert folder is not None and any(folder.iterdir())
    del detector
    gc.collect()
    assert not folder.exists()
