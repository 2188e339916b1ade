"""`chainbreaker watch` runs correlation rules, analytics and intel across ticks and restarts."""

from __future__ import annotations

import os
import shutil
import signal
import socket
from collections.abc import Callable
from pathlib import Path
from subprocess import Popen
from typing import Any

import pytest
from live_helpers import ZEEK_CONN_HEADER, free_port, ssh_failure, wait_for, zeek_probe

import chainbreaker
from chainbreaker.alerts import Alert
from chainbreaker.live import load_state
from chainbreaker.pipeline import HuntOptions, hunt

Start = Callable[..., "Popen[bytes]"]
SHIPPED = Path(chainbreaker.__file__).parent / "rules"
BRUTE_FORCE = "65db701b-ba06-450a-9dac-71d2ef0b5c92"  # rules/correlation/mr_linux_ssh_brute_force.yml


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    """The shipped SSH brute-force correlation rule and the base rule it counts (replaces conftest's)."""
    folder = tmp_path / "rules"
    folder.mkdir()
    shutil.copy(SHIPPED / "sigma/linux/sshd/lnx_sshd_failed_password.yml", folder)
    shutil.copy(SHIPPED / "correlation/mr_linux_ssh_brute_force.yml", folder)
    return folder


def _alerts(state: Path, rule_id: str) -> list[Alert]:
    try:
        return [a for a in load_state(state).alerts if a.rule_id == rule_id]
    except Exception:  # not written yet
        return []


def _events(state: Path) -> int:
    try:
        return load_state(state).total_events
    except Exception:
        return 0


def _append(path: Path, text: str) -> None:
    with path.open("a") as fh:
        fh.write(text)


def _without_id(alert: Alert) -> dict[str, Any]:
    return {k: v for k, v in alert.as_dict().items() if k != "id"}


def _stop(proc: Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode == 0


def test_brute_force_split_across_ticks_fires_once_and_grows_in_place(
    tmp_path: Path, start_watch: Start, rules_dir: Path
) -> None:
    logs, state = tmp_path / "logs", tmp_path / "state"
    logs.mkdir()
    log = logs / "auth.log"
    log.write_text("".join(ssh_failure(n) for n in range(6)))  # 6 < 10: not yet a brute force
    proc = start_watch(str(logs), "--state", str(state), "--no-analytics")
    assert wait_for(lambda: _events(state) == 6)
    assert _alerts(state, BRUTE_FORCE) == []
    _append(log, "".join(ssh_failure(n) for n in range(6, 12)))  # the window now holds 12 failures
    assert wait_for(lambda: len(_alerts(state, BRUTE_FORCE)) == 1)
    (first,) = _alerts(state, BRUTE_FORCE)
    assert first.count == 12 and first.src_ip == "203.0.113.7"
    assert sorted(r.record for r in first.event_refs) == list(range(1, 13))
    _append(log, "".join(ssh_failure(n) for n in range(12, 15)))  # the same burst goes on
    assert wait_for(lambda: [a.count for a in _alerts(state, BRUTE_FORCE)] == [15])
    _stop(proc)
    (grown,) = _alerts(state, BRUTE_FORCE)
    assert grown.id == first.id  # one finding, updated in place
    (hunted,) = [
        a
        for a in hunt([log], HuntOptions(sigma=[rules_dir], analytics=False, correlate=False)).alerts
        if a.rule_id == BRUTE_FORCE
    ]
    assert _without_id(grown) == _without_id(hunted)  # what a hunt over the final file reports


def test_brute_force_split_by_sigkill_and_restart_fires_once(tmp_path: Path, start_watch: Start) -> None:
    logs, state = tmp_path / "logs", tmp_path / "state"
    logs.mkdir()
    log = logs / "auth.log"
    log.write_text("".join(ssh_failure(n) for n in range(5)))
    proc = start_watch(str(logs), "--state", str(state), "--no-analytics")
    assert wait_for(lambda: _events(state) == 5)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    windows = [p for p in state.iterdir() if p.name.startswith("windows-")]
    assert len(windows) == 1 and list(windows[0].glob("*.arrow"))  # the 5 failures, persisted
    _append(log, "".join(ssh_failure(n) for n in range(5, 10)))  # only 10 with the 5 before the kill
    restarted = start_watch(str(logs), "--state", str(state), "--no-analytics")
    assert wait_for(lambda: len(_alerts(state, BRUTE_FORCE)) == 1)
    _stop(restarted)
    again = start_watch(str(logs), "--state", str(state), "--no-analytics")  # nothing new: nothing re-fired
    _append(log, ssh_failure(30, source="198.51.100.99"))  # an unrelated source, so a tick re-evaluates
    assert wait_for(lambda: _events(state) == 11)
    _stop(again)
    final = load_state(state)
    (alert,) = [a for a in final.alerts if a.rule_id == BRUTE_FORCE]
    assert alert.count == 10
    assert sorted(r.record for r in alert.event_refs) == list(range(1, 11))
    assert len([p for p in state.iterdir() if p.name.startswith("windows-")]) == 1


def test_port_scan_appended_over_ticks_matches_hunt(tmp_path: Path, start_watch: Start) -> None:
    logs, state, empty = tmp_path / "zeek", tmp_path / "state", tmp_path / "no-rules"
    logs.mkdir()
    empty.mkdir()
    conn = logs / "conn.log"
    conn.write_text(ZEEK_CONN_HEADER + "".join(zeek_probe(n) for n in range(12)))  # 12 ports: no scan yet
    proc = start_watch(str(logs), "--state", str(state), "--sigma", str(empty))
    assert wait_for(lambda: _events(state) == 12)
    assert _alerts(state, "vertical_port_scan") == []
    options = HuntOptions(sigma=[empty], verdicts=False, correlate=False)

    def hunted() -> Alert:
        (alert,) = [a for a in hunt([conn], options).alerts if a.rule_id == "vertical_port_scan"]
        return alert

    _append(conn, "".join(zeek_probe(n) for n in range(12, 24)))  # 24 ports: a scan
    assert wait_for(lambda: len(_alerts(state, "vertical_port_scan")) == 1)
    assert _alerts(state, "vertical_port_scan") == [hunted()]  # the same alert, id included
    first_id = hunted().id
    _append(conn, "".join(zeek_probe(n) for n in range(24, 31)))  # the scan goes on in the same hour
    assert wait_for(lambda: [a.count for a in _alerts(state, "vertical_port_scan")] == [31])
    _stop(proc)
    (live,) = _alerts(state, "vertical_port_scan")
    assert live.id == first_id
    assert _without_id(live) == _without_id(hunted())


def _windowed(alerts: list[Alert]) -> list[tuple[Any, ...]]:
    """Alerts of correlation rules and analytics, without id and reference order (Polars sorts rows
    of one group and second in no fixed order, so an alert citing a sample of a larger window may
    sample other rows of that second: then only the sample size is compared)."""
    return sorted(
        (a.rule_id, a.count, a.time, a.host, a.user, a.src_ip, a.dst_ip, a.description, _refs(a))
        for a in alerts
        if a.detector in ("sigma-correlation", "analytic")
    )


def _refs(alert: Alert) -> tuple[tuple[str, int], ...] | int:
    if len(alert.event_refs) < alert.count:
        return len(alert.event_refs)
    return tuple(sorted((r.file, r.record) for r in alert.event_refs))


@pytest.mark.parametrize(
    ("corpus", "member", "expected"),
    [
        ("loghub-auth", "loghub/OpenSSH/OpenSSH_2k.log", {BRUTE_FORCE, "brute_force", "password_spray"}),
        ("slips", "slips-dataset/dataset/port-scans/vertical/conn.log", {"vertical_port_scan"}),
    ],
)
def test_real_log_streamed_in_chunks_gives_the_windowed_alerts_of_hunt(
    tmp_path: Path,
    start_watch: Start,
    rules_dir: Path,
    dataset: Callable[[str], Path],
    corpus: str,
    member: str,
    expected: set[str],
) -> None:
    source = dataset(corpus) / member
    lines = [line.rstrip("\n") + "\n" for line in source.read_text(errors="replace").splitlines()]
    logs, state = tmp_path / "logs", tmp_path / "state"
    logs.mkdir()
    log = logs / source.name
    log.touch()
    proc = start_watch(str(logs), "--state", str(state))
    chunk = len(lines) // 6 + 1
    for start in range(0, len(lines), chunk):
        _append(log, "".join(lines[start : start + chunk]))
        assert wait_for(lambda end=min(len(lines), start + chunk): _events(state) >= end)  # type: ignore[misc]
    _stop(proc)
    live = load_state(state).alerts
    hunted = hunt([log], HuntOptions(sigma=[rules_dir], correlate=False)).alerts
    assert expected <= {a.rule_id for a in live}
    assert _windowed(live) == _windowed(hunted)


def test_intel_matches_files_and_syslog(tmp_path: Path, start_watch: Start) -> None:
    logs, state, empty = tmp_path / "zeek", tmp_path / "state", tmp_path / "no-rules"
    logs.mkdir()
    empty.mkdir()
    feed = tmp_path / "feed.txt"
    feed.write_text("# test feed\n198.51.100.23\nevil.example.net\n")
    conn = logs / "conn.log"
    conn.write_text(ZEEK_CONN_HEADER + zeek_probe(1))
    udp = free_port(socket.SOCK_DGRAM)
    proc = start_watch(
        str(logs), "--state", str(state), "--sigma", str(empty), "--intel", str(feed),
        "--syslog", f"udp://127.0.0.1:{udp}",
    )  # fmt: skip
    assert wait_for(lambda: _events(state) == 1)
    _append(conn, zeek_probe(2, target="198.51.100.23"))
    message = b"<38>Mar  1 10:00:05 web1 sshd[12]: Accepted password for bob from 198.51.100.23 port 5 ssh2"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(message, ("127.0.0.1", udp))
    assert wait_for(lambda: len(_alerts(state, "intel.ip")) == 2)
    _stop(proc)
    alerts = sorted(_alerts(state, "intel.ip"), key=lambda a: a.event_refs[0].file)
    assert [a.detector for a in alerts] == ["intel", "intel"]
    assert [(r.file, r.record) for a in alerts for r in a.event_refs] == [
        (str(conn), 9),  # line 9: after the 7 header lines and the first record
        (f"syslog+udp://127.0.0.1:{udp}", 1),
    ]
    assert alerts[0].dst_ip == "198.51.100.23" and alerts[1].src_ip == "198.51.100.23"
