"""Live detection in-process: windows over ticks, findings merged, window files per generation."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

import chainbreaker
from chainbreaker.alerts import Alert, Level
from chainbreaker.detect.analytics import AnalyticsDetector, build_analytics
from chainbreaker.detect.sigma.loader import load_correlations
from chainbreaker.events import EventRef
from chainbreaker.live.detection import LiveDetection
from chainbreaker.live.findings import FindingBook
from chainbreaker.live.snapshot import read_generation, remove_other_generations, write_generation
from chainbreaker.live.state import WatchState
from chainbreaker.live.syslog_server import syslog_batch
from chainbreaker.live.windows import AnalyticsWindow, correlation_horizon, parse_duration
from chainbreaker.pipeline import HuntOptions, sigma_detector

SHIPPED = Path(chainbreaker.__file__).parent / "rules"
BRUTE_FORCE = "65db701b-ba06-450a-9dac-71d2ef0b5c92"


def _failures(hour: int, count: int, source: str = "203.0.113.7") -> list[str]:
    return [
        f"<38>Mar  1 {hour:02d}:00:{n:02d} bastion sshd[{n}]: Failed password for root from {source} port {n}"
        for n in range(count)
    ]


def _detection(tmp_path: Path, *extra: str) -> LiveDetection:
    rules = tmp_path / "rules"
    rules.mkdir()
    for name in (
        "sigma/linux/sshd/lnx_sshd_failed_password.yml",
        "correlation/mr_linux_ssh_brute_force.yml",
        *extra,
    ):
        shutil.copy(SHIPPED / name, rules)
    sigma, _ = sigma_detector(HuntOptions(sigma=[rules], use_cache=False))
    return LiveDetection(sigma, [], WatchState(), {})


def test_two_bursts_of_one_source_are_two_alerts_and_rows_stay_within_the_horizon(tmp_path: Path) -> None:
    live = _detection(tmp_path)
    source = "syslog+udp://127.0.0.1:514"
    assert live.observe([syslog_batch(_failures(10, 12), source, 1)]) == []  # base rule: suppressed
    (first,) = live.windows()
    live.observe([syslog_batch(_failures(11, 4), source, 13)])
    assert live.windows() == []  # the first burst's rows are gone; 4 new failures are no burst
    assert live.correlation.rows["sshd_auth_failed"].height == 4
    live.observe([syslog_batch(_failures(11, 12)[4:], source, 17)])
    (second,) = live.windows()
    assert [a.id for a in live.state.alerts] == [first.id, second.id]
    assert (first.count, second.count) == (12, 12)
    assert second.extra["window_start"].startswith(f"{datetime.now(UTC).year}-03-01T11:00:00")


def test_chained_correlation_fires_when_its_last_step_arrives_ticks_later(tmp_path: Path) -> None:
    live = _detection(
        tmp_path,
        "sigma/linux/sshd/lnx_sshd_accepted_login.yml",
        "correlation/mr_linux_ssh_brute_force_then_login.yml",
    )
    source = "syslog+tcp://127.0.0.1:601"
    live.observe([syslog_batch(_failures(10, 10), source, 1)])
    assert [a.rule_id for a in live.windows()] == [BRUTE_FORCE]
    live.observe([syslog_batch(_failures(10, 3, "198.51.100.1"), source, 11)])  # unrelated
    assert live.windows() == []
    login = "<38>Mar  1 10:20:00 bastion sshd[99]: Accepted password for root from 203.0.113.7 port 2 ssh2"
    live.observe([syslog_batch([login], source, 14)])
    (chain,) = live.windows()
    assert chain.title == "SSH Login Accepted After a Brute Force From the Same Source"
    assert chain.src_ip == "203.0.113.7" and chain.level == Level.critical
    live.observe([syslog_batch([login.replace("203.0.113.7", "198.51.100.2")], source, 15)])
    assert live.windows() == []  # re-evaluated: the chain is found again, not raised again
    assert len(live.state.alerts) == 2


def test_a_growing_finding_keeps_its_id_and_a_cut_view_never_replaces_it() -> None:
    def alert(records: range, start_minute: int = 0) -> Alert:
        return Alert(
            rule_id="scan",
            title="scan",
            level=Level.medium,
            detector="analytic",
            time=datetime(2024, 3, 1, 10, start_minute, tzinfo=UTC),
            event_refs=tuple(EventRef("conn.log", r) for r in records),
            src_ip="10.1.2.3",
            count=len(records),
        )

    alerts: list[Alert] = []
    book = FindingBook([], alerts)
    now = datetime(2024, 3, 1, 10, 30, tzinfo=UTC)
    assert book.merge([alert(range(1, 21))], now) == alerts  # new
    first_id = alerts[0].id
    (grown,) = book.merge([alert(range(1, 31))], now)  # more evidence, first events still cited
    assert grown.id == first_id and grown.count == 30 and alerts == [grown]
    assert book.merge([alert(range(1, 31))], now) == []  # unchanged: nothing to publish
    assert book.merge([alert(range(25, 31), 5)], now) == []  # a view cut by the window: kept as is
    assert alerts == [grown]
    (other,) = book.merge([alert(range(100, 125), 40)], now)  # other evidence: another finding
    assert [a.id for a in alerts] == [first_id, other.id]
    book.expire(lambda f: timedelta(hours=1), now + timedelta(hours=2))
    assert book.findings == []


def test_horizon_adds_up_chained_timespans() -> None:
    chain = load_correlations([str(SHIPPED / "correlation/mr_linux_ssh_brute_force_then_login.yml")])
    assert correlation_horizon(chain) == timedelta(minutes=35)  # 30m over a 5m brute force
    single = load_correlations([str(SHIPPED / "correlation/mr_linux_ssh_brute_force.yml")])
    assert correlation_horizon(single) == timedelta(minutes=5)


def test_analytics_window_is_cut_on_a_bucket_boundary() -> None:
    window = AnalyticsWindow(AnalyticsDetector(build_analytics()), timedelta(hours=1))
    times = [datetime(2024, 3, 1, h, m, tzinfo=UTC) for h, m in ((8, 59), (9, 0), (9, 30), (10, 20))]
    batch = pl.DataFrame(
        {"timestamp": times, "source": ["zeek.conn"] * 4, "src_ip": ["10.0.0.1"] * 4},
        schema_overrides={"timestamp": pl.Datetime("ns", "UTC")},
    )
    assert window.add(batch)
    window.prune()  # newest 10:20, minus 1 h = 9:20, aligned down: 9:00
    assert window.rows["zeek.conn"].get_column("timestamp").to_list() == times[1:]
    assert parse_duration("1h30m") == timedelta(minutes=90) and parse_duration("1mo") is None


def test_analytics_window_keeps_only_the_rows_the_analytics_read() -> None:
    """A Security 4624 (logon analytics read it) is kept; a 4689 (process exit, which no analytic
    declares) is not: the live window holds what a hunt's detector keeps."""
    detector = AnalyticsDetector(build_analytics())
    assert detector.source_rows["windows.security"] is not None  # Security is read by event id
    window = AnalyticsWindow(detector, timedelta(hours=1))
    at = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
    batch = pl.DataFrame(
        {
            "timestamp": [at, at],
            "source": ["windows.security"] * 2,
            "event_code": [4624, 4689],
            "host": ["pc1", "pc1"],
        },
        schema_overrides={"timestamp": pl.Datetime("ns", "UTC"), "event_code": pl.Int32},
    )
    assert window.add(batch)
    assert window.rows["windows.security"].get_column("event_code").to_list() == [4624]
    assert not window.add(batch.filter(pl.col("event_code") == 4689))


def test_window_generations_round_trip_and_leftovers_are_removed(tmp_path: Path) -> None:
    frames = {"sigma:a": pl.DataFrame({"x": [1, 2]}), "analytics:zeek.conn": pl.DataFrame({"y": ["z"]})}
    files = write_generation(tmp_path, 3, frames)
    (tmp_path / "windows-2").mkdir()  # superseded
    (tmp_path / "windows-4.tmp").mkdir()  # a commit cut short
    restored = read_generation(tmp_path, 3, files)
    assert {k: v.to_dicts() for k, v in restored.items()} == {k: v.to_dicts() for k, v in frames.items()}
    remove_other_generations(tmp_path, 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["windows-3"]
    assert read_generation(tmp_path, 0, {}) == {}
