"""Declared rows (``Analytic.rows``): each analytic reads only the rows it declares, and what it finds
never depends on the rows other analytics (or other detectors) asked for."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from analytics_events import at, batch, run
from host_rows import proc

from chainbreaker.alerts import Alert
from chainbreaker.detect.analytics import AnalyticsDetector, analytic_class, build_analytics
from chainbreaker.detect.analytics.base import BASE_COLUMNS, Analytic
from chainbreaker.detect.analytics.common import merge_wheres
from chainbreaker.detect.interest import held
from chainbreaker.readers import ReadReport, read_paths

Dataset = Callable[[str], Path]

#: An event id no analytic declares for any source.
UNREAD_CODE = 65_000


@pytest.fixture(scope="module")
def batches(dataset: Dataset) -> list[pl.DataFrame]:
    """Windows (EVTX Security, Sysmon, System; OTRF JSON exports), auth.log and Zeek conn."""
    samples = dataset("evtx-attack-samples") / "EVTX-ATTACK-SAMPLES"
    otrf = dataset("otrf-atomic") / "Security-Datasets" / "datasets" / "atomic" / "windows"
    paths = [
        samples / "Lateral Movement",
        samples / "Credential Access",
        samples / "Persistence",
        samples / "Execution",
        otrf / "lateral_movement",
        dataset("loghub-auth") / "loghub" / "OpenSSH" / "OpenSSH_2k.log",
        dataset("slips") / "slips-dataset" / "dataset" / "port-scans",
    ]
    return list(read_paths(paths, ReadReport(), workers=1))


def keys(alerts: list[Alert]) -> list[tuple[object, ...]]:
    return [(a.id, a.rule_id, a.time, a.event_refs, a.description, a.count, a.extra) for a in alerts]


def feed(detector: AnalyticsDetector, batches: list[pl.DataFrame]) -> list[Alert]:
    for b in batches:
        assert detector.observe(b) == []
    return detector.finish()


def test_declarations_name_read_sources_and_columns() -> None:
    declaring = 0
    for analytic in build_analytics():
        assert set(analytic.rows) <= analytic.sources, analytic.id
        for column, values in analytic.rows.values():
            assert column in analytic.columns, analytic.id  # kept, so observe and finish can filter
            assert values is None or values, analytic.id
        declaring += bool(analytic.rows)
    assert declaring >= 20  # every Windows analytic reads a few event ids
    logons = analytic_class("logon_fan_out")()
    assert logons.rows_of("windows.security") == ("event_code", frozenset({4624}))
    assert analytic_class("beaconing")().rows_of("zeek.conn") is None  # connection records: every row


def test_merged_conditions_and_the_detector_interest() -> None:
    a, b = ("n", frozenset({1, 2})), ("n", frozenset({2, 3}))
    assert merge_wheres([a, b, ("x", None)]) == (("n", frozenset({1, 2, 3})), ("x", None))
    assert merge_wheres([("x", frozenset({"p"})), ("x", None), ("x", frozenset({"q"}))]) == (("x", None),)
    frame = pl.DataFrame({"n": [1, 3, None, 4]})
    assert frame.select(held(a, frame.columns)).to_series().to_list() == [True, False, None, False]
    assert frame.select(held(("absent", None), frame.columns)).to_series().to_list() == [False]

    detector = AnalyticsDetector()
    interest = detector.interest()
    assert interest.sources is not None
    # Windows sources come by event id, connection and Zeek application records whole
    assert {"zeek.conn", "suricata.flow", "zeek.dce_rpc", "zeek.dns"} <= interest.sources
    assert not {"windows.security", "windows.sysmon", "windows.system", "linux.auth"} & interest.sources
    where = dict(interest.where)
    assert {1, 10, 4624, 4625, 4688, 4769, 7045, 1102, 104} <= set(where["event_code"] or ())
    assert where["outcome"] == frozenset({"failure"})
    assert interest.columns is not None and {"event_code", "outcome", "source"} <= interest.columns
    security = detector.source_rows["windows.security"]
    assert security is not None and 1102 in (security[0][1] or ())
    assert detector.source_rows["zeek.dce_rpc"] is None


def _own_rows(analytic: Analytic, events: pl.DataFrame) -> pl.DataFrame:
    terms = []
    for source in analytic.sources:
        where = analytic.rows_of(source)
        own = pl.col("source") == source
        terms.append(own if where is None else own & held(where, events.columns))
    return events.filter(pl.any_horizontal(terms))


def test_each_analytic_finds_the_same_in_its_declared_rows(batches: list[pl.DataFrame]) -> None:
    # Every row of its sources (what analytics received before they declared rows) and only the
    # declared ones: an analytic whose run selected an undeclared row would find less.
    fired = set()
    everything = pl.concat(batches, how="diagonal_relaxed")
    for analytic in build_analytics():
        if not analytic.rows:
            continue
        present = [c for c in (*BASE_COLUMNS, *analytic.columns) if c in everything.columns]
        events = everything.filter(pl.col("source").is_in(sorted(analytic.sources))).select(present)
        events = events.with_columns(
            pl.lit(None, dtype=pl.String).alias(c) for c in analytic.columns if c not in events.columns
        )
        own = _own_rows(analytic, events)
        assert own.height < events.height, analytic.id
        expected = analytic.run(events)
        assert analytic.run(own).equals(expected), analytic.id
        if expected.height:
            fired.add(analytic.id)
    assert len(fired) >= 10, fired  # the comparison is about real findings, not empty frames


def test_other_rows_never_change_what_an_analytic_finds(batches: list[pl.DataFrame]) -> None:
    # All analytics together keep the union of their rows; alone, each keeps only its own. And rows
    # of an event id nobody declares (copies of real records) are dropped on arrival.
    together = feed(AnalyticsDetector(build_analytics()), batches)
    assert len({a.rule_id for a in together}) >= 10
    alone = [a for analytic in build_analytics() for a in feed(AnalyticsDetector([analytic]), batches)]
    assert keys(sorted(alone, key=lambda a: (a.time, a.rule_id))) == keys(together)

    unread = pl.lit(UNREAD_CODE, dtype=pl.Int32).alias("event_code")
    noisy = [
        pl.concat([b, b.filter(pl.col("event_code").is_not_null()).with_columns(unread)], how="vertical")
        for b in batches
    ]
    assert sum(b.height for b in noisy) > sum(b.height for b in batches) * 1.5
    detector = AnalyticsDetector(build_analytics(), spill_rows=None)
    assert keys(feed(detector, noisy)) == keys(together)


def test_a_source_without_declared_rows_still_counts_as_seen() -> None:
    # Logoffs only: logon_fan_out keeps none of them, but it ran (no "no data" reason) and found nothing.
    logoff = {"source": "windows.security", "event_code": 4634, "user": "bob"}
    logoffs = batch([{**logoff, "host": f"h{i}", "timestamp": at(i)} for i in range(8)])
    detector = AnalyticsDetector([analytic_class("logon_fan_out")()])
    assert detector.observe(logoffs) == []
    assert sum(f.height for f in detector._kept["windows.security"]) == 0
    assert detector.finish() == [] and detector.skipped_reasons() == []
    empty = AnalyticsDetector([analytic_class("logon_fan_out")()])
    assert empty.finish() == [] and empty.skipped_reasons() == ["logon_fan_out: no windows.security data"]


#: Process creations (image, parent, command) that raise each analytic reading Sysmon 1 / Security 4688.
PROCESS_POSITIVES: dict[str, list[tuple[str, str, str]]] = {
    "office_spawns_script_host": [("powershell.exe", "winword.exe", "powershell -enc AAAA")],
    "server_spawns_shell": [("cmd.exe", "w3wp.exe", "cmd /c whoami")],
    "discovery_burst": [(f"{n}.exe", "cmd.exe", n) for n in ("whoami", "ipconfig", "nltest", "systeminfo")],
    "credential_dump_command": [
        ("rundll32.exe", "cmd.exe", r"rundll32 comsvcs.dll, MiniDump 624 C:\l.dmp full")
    ],
    "inhibit_recovery": [("vssadmin.exe", "cmd.exe", "vssadmin.exe delete shadows /all /quiet")],
    "log_cleared": [("wevtutil.exe", "cmd.exe", "wevtutil cl Security")],
    "bits_job_persistence": [("bitsadmin.exe", "cmd.exe", r"bitsadmin /SetNotifyCmdLine j C:\x.exe NUL")],
    "new_scheduled_task": [("schtasks.exe", "cmd.exe", r"schtasks /create /tn upd /tr C:\x.exe")],
    "remote_wmi_winrm": [("powershell.exe", "wmiprvse.exe", "powershell -nop -c iex")],
}


@pytest.mark.parametrize("analytic_id", sorted(PROCESS_POSITIVES))
def test_process_analytics_read_sysmon_1_and_security_4688(analytic_id: str) -> None:
    # Both process-creation events are declared and read; a process exit (Sysmon 5, 4689) is neither.
    analytic = analytic_class(analytic_id)()
    assert analytic.rows_of("windows.sysmon") is not None and analytic.rows_of("windows.security") is not None
    for source, code, expected in [
        ("windows.sysmon", 1, True),
        ("windows.security", 4688, True),
        ("windows.sysmon", 5, False),
        ("windows.security", 4689, False),
    ]:
        rows = [
            proc(
                i,
                rf"C:\Windows\System32\{image}",
                rf"C:\Program Files\{parent}",
                cmd,
                source=source,
                code=code,
            )
            for i, (image, parent, cmd) in enumerate(PROCESS_POSITIVES[analytic_id])
        ]
        alerts = run(analytic_id, batch(rows))
        assert bool(alerts) is expected, (analytic_id, source, code)
