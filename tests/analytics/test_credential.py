"""Credential-access analytics on Security / Sysmon / auth rows built by the test."""

from __future__ import annotations

from analytics_events import at, batch, run
from host_rows import sec


def test_brute_force_and_spray_from_windows_and_sshd() -> None:
    windows = [
        sec(i, 4625, TargetUserName="bob", IpAddress="10.5.5.5", Status="0xc000006d") for i in range(12)
    ]
    sshd = [
        {
            "timestamp": at(i),
            "source": "linux.auth",
            "host": "web1",
            "user": "root",
            "src_ip": "198.51.100.7",
            "program": "sshd",
            "outcome": "failure",
        }
        for i in range(15)
    ]
    alerts = run("brute_force", batch(windows + sshd))
    assert sorted((a.src_ip, a.user, a.count) for a in alerts) == [
        ("10.5.5.5", "bob", 12),
        ("198.51.100.7", "root", 15),
    ]
    successes = [{**row, "outcome": "success"} for row in sshd]
    assert run("brute_force", batch(windows[:5] + successes)) == []
    spray = [
        sec(i, 4771, TargetUserName=f"user{i}", IpAddress="::ffff:10.6.6.6", Status="0x18") for i in range(12)
    ]
    alerts = run("password_spray", batch(spray))
    assert [(a.src_ip, a.count) for a in alerts] == [("10.6.6.6", 12)] and "12 distinct accounts" in alerts[
        0
    ].description
    assert run("brute_force", batch(spray)) == []  # each account failed once
    assert run("password_spray", batch(windows)) == []  # one account, many tries


def test_kerberoasting_lsass_dcsync() -> None:
    tickets = [
        sec(
            i,
            4769,
            TargetUserName="eve@CORP",
            ServiceName=f"svc_sql{i}",
            IpAddress="10.1.1.1",
            TicketEncryptionType="0x17",
            Status="0x0",
        )
        for i in range(3)
    ]
    aes = [
        sec(
            i,
            4769,
            TargetUserName="ann@CORP",
            ServiceName="svc_web",
            TicketEncryptionType="0x12",
            Status="0x0",
        )
        for i in range(3)
    ]
    machine = [
        sec(0, 4769, TargetUserName="ann@CORP", ServiceName="WS1$", TicketEncryptionType="0x17", Status="0x0")
    ]
    alerts = run("kerberoasting", batch(tickets + aes + machine))
    assert [(a.user, a.count) for a in alerts] == [("eve@corp", 3)]
    sysmon = {
        "source": "windows.sysmon",
        "event_code": 10,
        "host": "ws1",
        "TargetImage": r"C:\Windows\system32\lsass.exe",
    }
    dump = {**sysmon, "SourceImage": r"C:\Users\x\procdump64.exe", "GrantedAccess": "0x1FFFFF"}
    av = {
        **sysmon,
        "SourceImage": r"C:\ProgramData\Microsoft\Windows Defender\MsMpEng.exe",
        "GrantedAccess": "0x1410",
    }
    query = {**sysmon, "SourceImage": r"C:\Windows\explorer.exe", "GrantedAccess": "0x1000"}
    alerts = run("lsass_access", batch([dump, av, query]))
    assert [a.count for a in alerts] == [1] and "procdump64.exe" in alerts[0].description
    replication = "%{1131f6ad-9c07-11d1-f79f-00c04fc2dcd2}"
    rows = [
        sec(0, 4662, SubjectUserName="mallory", Properties=replication),
        sec(1, 4662, SubjectUserName="DC2$", Properties=replication),
        sec(2, 4662, SubjectUserName="mallory", Properties="%{bf967aba-0de6-11d0-a285-00aa003049e2}"),
    ]
    assert [(a.user, a.count) for a in run("dcsync", batch(rows))] == [("mallory", 1)]
