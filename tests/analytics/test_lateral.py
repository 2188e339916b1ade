"""Lateral-movement analytics on built Security / Sysmon / Zeek dce_rpc rows."""

from __future__ import annotations

from analytics_events import batch, run
from host_rows import proc, sec


def test_lateral_movement_analytics() -> None:
    logons = [
        sec(i, 4624, host=f"srv{i}", TargetUserName="admin_x", LogonType="3", IpAddress="10.0.0.9")
        for i in range(6)
    ]
    machine = [sec(i, 4624, host=f"srv{i}", TargetUserName="WS1$", LogonType="3") for i in range(6)]
    interactive = [sec(i, 4624, host=f"srv{i}", TargetUserName="bob", LogonType="2") for i in range(6)]
    alerts = run("logon_fan_out", batch(logons + machine + interactive))
    assert [(a.user, a.count) for a in alerts] == [("admin_x", 6)]
    assert run("logon_fan_out", batch(logons[:3])) == []
    rows = [
        {
            "source": "windows.system",
            "event_code": 7045,
            "host": "srv1",
            "ServiceName": "PSEXESVC",
            "ImagePath": r"%SystemRoot%\PSEXESVC.exe",
        },
        {
            "source": "windows.system",
            "event_code": 7045,
            "host": "srv2",
            "ServiceName": "Spooler",
            "ImagePath": r"C:\Windows\System32\spoolsv.exe",
        },
        sec(0, 5140, host="srv1", SubjectUserName="admin_x", ShareName=r"\\*\ADMIN$", IpAddress="10.0.0.9"),
        sec(0, 5140, host="srv1", SubjectUserName="SRV2$", ShareName=r"\\*\C$", IpAddress="10.0.0.10"),
        sec(0, 5140, host="srv1", SubjectUserName="ann", ShareName=r"\\*\IPC$", IpAddress="10.0.0.11"),
        proc(0, r"C:\Windows\System32\cmd.exe", parent=r"C:\Windows\System32\wbem\WmiPrvSE.exe", host="srv3"),
        proc(
            0,
            r"C:\Windows\System32\conhost.exe",
            parent=r"C:\Windows\System32\wbem\WmiPrvSE.exe",
            host="srv4",
        ),
        {
            "source": "zeek.dce_rpc",
            "src_ip": "10.0.0.9",
            "dst_ip": "10.0.0.20",
            "endpoint": "svcctl",
            "operation": "CreateServiceW",
        },
        {
            "source": "zeek.dce_rpc",
            "src_ip": "10.0.0.9",
            "dst_ip": "10.0.0.20",
            "endpoint": "lsarpc",
            "operation": "LsarLookupSids3",
        },
    ]
    events = batch(rows)
    assert [a.host for a in run("psexec_like_service", events)] == ["srv1"]
    assert [(a.user, a.src_ip) for a in run("admin_share_access", events)] == [("admin_x", "10.0.0.9")]
    remote = run("remote_wmi_winrm", events)
    assert sorted(a.description for a in remote) == [
        "remote execution on 10.0.0.9 -> 10.0.0.20: svcctl::CreateServiceW",
        "remote execution on srv3: wmiprvse.exe -> cmd.exe",
    ]


def test_task_created_by_a_network_session() -> None:
    rows = [
        sec(
            0,
            4624,
            host="srv1",
            TargetUserName="ann",
            LogonType="3",
            TargetLogonId="0x21A8C68",
            IpAddress="10.0.0.9",
        ),
        sec(1, 4702, host="srv1", SubjectUserName="ann", SubjectLogonId="0x21a8c68", TaskName=r"\Updater"),
        # Same logon id on another host, a local session, and a machine account's network logon: not remote.
        sec(2, 4698, host="srv2", SubjectLogonId="0x21a8c68", TaskName=r"\Other"),
        sec(
            3,
            4624,
            host="srv1",
            TargetUserName="bob",
            LogonType="2",
            TargetLogonId="0x99",
            IpAddress="127.0.0.1",
        ),
        sec(4, 4698, host="srv1", SubjectLogonId="0x99", TaskName=r"\Local"),
        sec(
            5,
            4624,
            host="srv1",
            TargetUserName="SRV9$",
            LogonType="3",
            TargetLogonId="0x77",
            IpAddress="10.0.0.8",
        ),
        sec(6, 4697, host="srv1", SubjectLogonId="0x77", ServiceName="svc"),
    ]
    alerts = run("remote_task_or_service", batch(rows))
    assert [(a.host, a.user, a.src_ip, a.count) for a in alerts] == [("srv1", "ann", "10.0.0.9", 1)]
    assert (
        alerts[0].description
        == r"ann logged on to srv1 over the network from 10.0.0.9 and updated task \Updater"
    )


def test_explicit_credentials_against_another_host() -> None:
    base = {
        "SubjectUserName": "user01",
        "TargetUserName": "administrator",
        "TargetServerName": "SRV9.corp.example",
    }
    rows = [
        sec(0, 4648, host="pc1.corp.example", ProcessName=r"C:\Windows\System32\wbem\WMIC.exe", **base),
        sec(1, 4648, host="pc1.corp.example", ProcessName=r"C:\Windows\System32\svchost.exe", **base),
        sec(2, 4648, host="pc2.corp.example", ProcessName=r"C:\Windows\System32\cmd.exe",
            **{**base, "TargetServerName": "localhost"}),
        sec(3, 4648, host="pc3.corp.example", ProcessName=r"C:\Windows\System32\cmd.exe",
            **{**base, "TargetUserName": "user01"}),
    ]  # fmt: skip
    alerts = run("explicit_credentials_remote", batch(rows))
    assert [a.description for a in alerts] == [
        "user01 on pc1.corp.example used administrator's credentials against srv9.corp.example with wmic.exe"
    ]


def test_remote_execution_service_needs_the_event_of_its_source() -> None:
    """Service installs are System 7045 / Security 4697 and the tool's pipes Sysmon 17/18 / Security
    5145: the same ids in another log (System 17, Sysmon 7045...) mean something else."""
    service = {"ServiceName": "PSEXESVC", "ImagePath": r"%SystemRoot%\PSEXESVC.exe"}
    rows = [
        {"source": "windows.system", "event_code": 7045, "host": "a", **service},
        sec(0, 4697, host="b", ServiceName="PSEXESVC", ServiceFileName=r"%SystemRoot%\PSEXESVC.exe"),
        {"source": "windows.sysmon", "event_code": 17, "host": "c", "PipeName": r"\PSEXESVC"},
        sec(0, 5145, host="d", RelativeTargetName="PSEXESVC"),
        {"source": "windows.sysmon", "event_code": 7045, "host": "x", **service},
        {"source": "windows.system", "event_code": 17, "host": "y", "PipeName": r"\PSEXESVC"},
        {"source": "windows.security", "event_code": 18, "host": "z", "PipeName": r"\PSEXESVC"},
    ]
    assert sorted(a.host for a in run("psexec_like_service", batch(rows))) == ["a", "b", "c", "d"]
