"""Discovery, delivery, exploitation and impact analytics on Sysmon / Security rows built by the test."""

from __future__ import annotations

from analytics_events import at, batch, run
from host_rows import proc, sec


def test_discovery_burst() -> None:
    commands = ["whoami.exe", "ipconfig.exe", "nltest.exe", "net.exe", "systeminfo.exe"]
    rows = [proc(i * 20, rf"C:\Windows\System32\{c}") for i, c in enumerate(commands)]
    alerts = run("discovery_burst", batch(rows))
    assert len(alerts) == 1 and alerts[0].host == "ws1" and alerts[0].count == 5
    assert alerts[0].description.startswith("5 distinct discovery commands on ws1 within 15m")
    # PowerShell AD queries count too (4688 this time).
    ad = [
        proc(
            i,
            r"C:\x\powershell.exe",
            cmd=f"powershell Get-AD{w} -Filter *",
            source="windows.security",
            code=4688,
        )
        for i, w in enumerate(["User", "Computer", "Group", "Domain"])
    ]
    assert [a.count for a in run("discovery_burst", batch(ad))] == [4]
    # An admin checking the network twice is not a burst; nor the same burst spread over a day.
    assert run("discovery_burst", batch(rows[:2])) == []
    assert run("discovery_burst", batch([proc(i * 3600, rf"C:\w\{c}") for i, c in enumerate(commands)])) == []


def test_office_spawning_script_host_and_normal_children() -> None:
    bad = proc(
        0,
        r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
        parent=r"C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE",
        cmd="powershell -enc AAAA",
    )
    alerts = run("office_spawns_script_host", batch([bad]))
    assert len(alerts) == 1 and "winword.exe started powershell.exe" in alerts[0].description
    assert "delivery" in alerts[0].killchain_phases
    fine = proc(
        0,
        r"C:\Program Files\Microsoft Office\root\Office16\EXCEL.EXE",
        parent=r"C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE",
    )
    assert run("office_spawns_script_host", batch([fine, proc(1, r"C:\w\cmd.exe")])) == []


def test_web_server_spawning_shell() -> None:
    shell = proc(
        0,
        r"C:\Windows\System32\cmd.exe",
        parent=r"c:\windows\system32\inetsrv\w3wp.exe",
        cmd="cmd.exe /c whoami",
    )
    alerts = run("server_spawns_shell", batch([shell]))
    assert (
        len(alerts) == 1
        and alerts[0].techniques[0] == "T1190"
        and "exploitation" in alerts[0].killchain_phases
    )
    worker = proc(0, r"C:\Windows\System32\conhost.exe", parent=r"c:\windows\system32\inetsrv\w3wp.exe")
    assert run("server_spawns_shell", batch([worker])) == []


def test_actions_on_objectives() -> None:
    rows = [
        proc(0, r"C:\Windows\System32\vssadmin.exe", cmd="vssadmin.exe delete shadows /all /quiet"),
        proc(1, r"C:\Windows\System32\bcdedit.exe", cmd="bcdedit /set {default} recoveryenabled No"),
        proc(2, r"C:\Windows\System32\vssadmin.exe", cmd="vssadmin list shadows"),
        sec(3, 1102, host="ws1"),
        proc(4, r"C:\Windows\System32\wevtutil.exe", cmd="wevtutil cl Security", host="ws2"),
        proc(5, r"C:\Windows\System32\wevtutil.exe", cmd="wevtutil qe Security", host="ws3"),
    ]
    events = batch(rows)
    alerts = run("inhibit_recovery", events)
    assert [(a.host, a.count) for a in alerts] == [("ws1", 2)] and alerts[0].level.name == "critical"
    assert sorted((a.host, a.count) for a in run("log_cleared", events)) == [("ws1", 1), ("ws2", 1)]
    writes = [
        {
            "timestamp": at(i * 0.1),
            "source": "windows.sysmon",
            "event_code": 11,
            "host": "fs1",
            "process_image": r"C:\Users\x\locker.exe",
            "TargetFilename": rf"C:\Share\d{i % 20}\f{i}.docx.locked",
        }
        for i in range(600)
    ]
    alerts = run("mass_file_changes", batch(writes))
    assert (
        len(alerts) == 1
        and "600 files in 20 directories" in alerts[0].description
        and ".locked" in alerts[0].description
    )
    one_folder = [{**w, "TargetFilename": rf"C:\Build\obj\f{i}.o"} for i, w in enumerate(writes)]
    assert run("mass_file_changes", batch(one_folder)) == []


def test_added_host_analytics() -> None:
    rows = [
        proc(
            0,
            r"C:\Windows\System32\rundll32.exe",
            cmd=r"rundll32.exe C:\windows\System32\comsvcs.dll, MiniDump 624 C:\t\l.dmp full",
        ),
        proc(1, r"C:\Windows\System32\reg.exe", cmd=r"reg query hklm\software", host="ws2"),
        sec(
            2,
            4663,
            host="ws3",
            ObjectName=r"\Device\HarddiskVolume2\Windows\System32\lsass.exe",
            ProcessName=r"C:\Tools\dump.exe",
            AccessMask="0x10",
        ),
        sec(
            2,
            4663,
            host="ws3",
            ObjectName=r"\Device\HarddiskVolume2\Windows\System32\lsass.exe",
            ProcessName=r"C:\Tools\query.exe",
            AccessMask="0x1000",
        ),
        sec(3, 4720, host="dc1", TargetUserName="helpdesk$", SubjectUserName="mallory"),
        proc(4, r"C:\Windows\System32\bitsadmin.exe", cmd=r"bitsadmin /SetNotifyCmdLine job C:\x\a.exe NUL"),
        proc(5, r"C:\Windows\System32\bitsadmin.exe", cmd=r"bitsadmin /list", host="ws2"),
        proc(
            6, r"C:\Windows\System32\wsmprovhost.exe", parent=r"C:\Windows\System32\svchost.exe", host="srv5"
        ),
        sec(7, 5145, host="srv6", ShareName=r"\\*\IPC$", RelativeTargetName="svcctl", IpAddress="10.0.0.9"),
        sec(8, 5145, host="srv7", ShareName=r"\\*\IPC$", RelativeTargetName="lsarpc", IpAddress="10.0.0.9"),
    ]
    events = batch(rows)
    assert [(a.host, a.count) for a in run("credential_dump_command", events)] == [("ws1", 1)]
    assert [a.description for a in run("lsass_access", events)] == [
        r"C:\Tools\dump.exe opened lsass.exe 1 time(s) on ws3 with access 0x10"
    ]
    assert [a.description for a in run("new_account", events)] == [
        "account helpdesk$ created on dc1 by mallory"
    ]
    assert [a.host for a in run("bits_job_persistence", events)] == ["ws1"]
    assert sorted(a.host for a in run("remote_wmi_winrm", events)) == ["srv5", "srv6"]
