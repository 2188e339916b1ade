"""Pass-4 (d3) correlation rules through the real Sigma detector: a positive and a negative stream.

Reuses the stream helpers of test_shipped_correlation_rules.py (real engine, real rule files).
``CASES`` has the same shape as that module's, so a suite-wide "every correlation has a case"
check can take the union of them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from test_shipped_correlation_rules import at, names_of, run, stream_tests, sysmon

#: Service Control Manager 7036 binary data: the service's internal name and state, UTF-16LE.
RUNNING, STOPPED = "4", "1"


def service_state(
    seconds: float, name: str, display: str, state: str, host: str = "WKS-01"
) -> dict[str, Any]:
    binary = f"{name}/{state}".encode("utf-16-le").hex().upper() + "0000"
    return at(
        seconds,
        source="windows.system",
        channel="System",
        provider="Service Control Manager",
        event_code=7036,
        EventID="7036",
        Channel="System",
        Provider_Name="Service Control Manager",
        host=host,
        Computer=host,
        param1=display,
        param2="running" if state == RUNNING else "stopped",
        Binary=binary,
    )


def wer(seconds: float, host: str = "WKS-01") -> dict[str, Any]:
    return service_state(seconds, "WerSvc", "Windows Error Reporting Service", RUNNING, host)


def eventlog(seconds: float, host: str = "WKS-01") -> dict[str, Any]:
    return service_state(seconds, "EventLog", "Windows Event Log", RUNNING, host)


def opened(seconds: float, source: tuple[str, str], target: tuple[str, str]) -> dict[str, Any]:
    """Sysmon 10: ``source`` (GUID, image) opened ``target`` (GUID, image)."""
    return sysmon(
        seconds,
        10,
        SourceProcessGUID=source[0],
        SourceImage=source[1],
        TargetProcessGUID=target[0],
        TargetImage=target[1],
        GrantedAccess="0x1410",
    )


TOOL = ("{0A0B0C0D-0000-0000-0000-000000000001}", r"C:\Users\alice\Downloads\tool.exe")
MASKED = (TOOL[0], r"C:\Windows\explorer.exe")
BROKER = ("{0A0B0C0D-0000-0000-0000-000000000002}", r"C:\Windows\System32\svchost.exe")
SHELL = ("{0A0B0C0D-0000-0000-0000-000000000003}", r"C:\Windows\System32\cmd.exe")


def masquerade(masked: tuple[str, str]) -> list[dict[str, Any]]:
    """The tool opens a shell under its own path, then the broker opens it under ``masked``."""
    return [opened(0, TOOL, SHELL), opened(5, BROKER, masked), opened(6, masked, SHELL)]


CASES: dict[str, tuple[Callable[[], list[dict[str, Any]]], Callable[[], list[dict[str, Any]]]]] = {
    # A crash report, then the Event Log service running again 40 s later -> fires; at boot the
    # Event Log starts first and WER only later (an old crash being reported) -> does not.
    "eventlog_restart_after_crash": (
        lambda: [wer(0), eventlog(40)],
        lambda: [eventlog(0), wer(40)],
    ),
    # The tool's GUID seen as its own path and then as explorer.exe -> fires; the same accesses
    # with the path unchanged (only its letter case differs) -> does not.
    "process_image_path_changed": (
        lambda: masquerade(MASKED),
        lambda: masquerade((TOOL[0], TOOL[1].upper())),
    ),
}


test_positive_stream_fires, test_negative_stream_does_not_fire = stream_tests(CASES)


def test_eventlog_restart_alert_is_defense_impairment_and_feeders_stay_silent() -> None:
    alerts = run([wer(0), eventlog(40)])
    alert = names_of(alerts)["eventlog_restart_after_crash"][0]
    assert "T1685.001" in alert.techniques and "defense-impairment" in alert.tactics
    titles = {a.title for a in alerts}
    assert "Windows Error Reporting Service Entered the Running State" not in titles
    assert "Windows Event Log Service Entered the Running State" not in titles


def test_restart_later_than_the_window_does_not_fire() -> None:
    assert "eventlog_restart_after_crash" not in names_of(run([wer(0), eventlog(600)]))


def test_restart_on_another_host_does_not_fire() -> None:
    assert "eventlog_restart_after_crash" not in names_of(run([wer(0), eventlog(40, host="WKS-02")]))


def test_stopped_state_does_not_feed_the_chain() -> None:
    stopped = service_state(40, "EventLog", "Windows Event Log", STOPPED)
    assert "eventlog_restart_after_crash" not in names_of(run([wer(0), stopped]))


def test_masquerade_alert_is_stealth_and_privilege_escalation() -> None:
    alert = names_of(run(masquerade(MASKED)))["process_image_path_changed"][0]
    assert {"T1036", "T1548.002"} <= set(alert.techniques)
    assert {"stealth", "privilege-escalation"} <= set(alert.tactics)


def test_two_processes_with_their_own_paths_do_not_fire() -> None:
    rows = [opened(0, TOOL, SHELL), opened(5, BROKER, SHELL), opened(6, SHELL, BROKER)]
    assert "process_image_path_changed" not in names_of(run(rows))


def test_masquerade_seen_on_another_host_only_does_not_fire() -> None:
    rows = masquerade(MASKED)
    rows[1] = {**rows[1], "host": "WKS-02", "Computer": "WKS-02"}
    rows[2] = {**rows[2], "host": "WKS-02", "Computer": "WKS-02"}
    assert "process_image_path_changed" not in names_of(run(rows))
