"""Installation analytics (services, tasks, autostart values, WMI, accounts) on built rows."""

from __future__ import annotations

from analytics_events import batch, run
from host_rows import proc, sec


def test_installation_analytics() -> None:
    rows = [
        {
            "source": "windows.system",
            "event_code": 7045,
            "host": "ws1",
            "ServiceName": "updsvc",
            "ImagePath": r"C:\Users\Public\u.exe",
        },
        sec(0, 4698, host="ws1", TaskName=r"\Updater"),
        proc(1, r"C:\Windows\System32\schtasks.exe", cmd='schtasks /create /tn "Nightly" /tr c:\\x.exe'),
        {
            "source": "windows.sysmon",
            "event_code": 13,
            "host": "ws1",
            "process_image": r"C:\x\a.exe",
            "TargetObject": r"HKU\S-1\Software\Microsoft\Windows\CurrentVersion\Run\upd",
            "Details": r"C:\x\a.exe",
        },
        {
            "source": "windows.sysmon",
            "event_code": 13,
            "host": "ws1",
            "TargetObject": r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Explorer\Advanced\Hidden",
        },
        {"source": "windows.sysmon", "event_code": 20, "host": "ws1", "Name": "Consumer1"},
        sec(
            3,
            4732,
            host="ws1",
            TargetSid="S-1-5-32-544",
            TargetUserName="Administrators",
            MemberName="-",
            MemberSid="S-1-5-21-1-2-3-1105",
        ),
        sec(
            4,
            4732,
            host="ws1",
            TargetSid="S-1-5-32-555",
            TargetUserName="Remote Desktop Users",
            MemberSid="S-1-5-21-9",
        ),
    ]
    events = batch(rows)
    assert [a.description for a in run("new_service", events)] == [
        r"service updsvc installed on ws1 (1); binary: C:\Users\Public\u.exe"
    ]
    assert sorted((a.description for a in run("new_scheduled_task", events)), key=str.lower) == [
        r"scheduled task \Updater created on ws1",
        "scheduled task Nightly created on ws1",
    ]
    assert [a.count for a in run("autostart_registry", events)] == [1]
    assert [a.count for a in run("wmi_subscription", events)] == [1]
    assert [a.description for a in run("new_admin_member", events)] == [
        "S-1-5-21-1-2-3-1105 added to Administrators on ws1"
    ]


def test_process_creation_analytics_read_only_process_creation_events() -> None:
    """schtasks and bitsadmin are read from Sysmon 1 and Security 4688, never from another log's
    event 1 or 4688 that happens to carry a command line."""
    task = r"schtasks /create /tn Updater /tr C:\Users\Public\u.exe /sc onlogon"
    bits = r"bitsadmin /SetNotifyCmdLine job C:\Users\Public\u.exe NULL"
    schtasks, bitsadmin, security = (
        r"C:\Windows\System32\schtasks.exe",
        r"C:\Windows\System32\bitsadmin.exe",
        "windows.security",
    )
    rows = [
        proc(0, schtasks, cmd=task, host="a"),
        proc(0, schtasks, cmd=task, host="b", source=security, code=4688),
        proc(0, schtasks, cmd=task, host="x", source=security, code=1),
        proc(0, schtasks, cmd=task, host="y", code=4688),
        proc(0, bitsadmin, cmd=bits, host="c"),
        proc(0, bitsadmin, cmd=bits, host="d", source=security, code=4688),
        proc(0, bitsadmin, cmd=bits, host="z", source=security, code=1),
    ]
    assert sorted(a.host for a in run("new_scheduled_task", batch(rows))) == ["a", "b"]
    assert sorted(a.host for a in run("bits_job_persistence", batch(rows))) == ["c", "d"]
