"""Detection pass 4, lateral movement (d1): each d1 correlation rule on a positive and a negative stream.

The streams are built here from the technique (a network logon then a process started by the WMI
provider host, a Task Scheduler client reaching a remote endpoint mapper, ...) and go through the
real Sigma detector with every shipped rule loaded; the negative stream is the near miss (other
process, other host, too late, wrong order).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from test_shipped_correlation_rules import names_of, run, security, stream_tests, sysmon

from chainbreaker.alerts import Alert

Stream = list[dict[str, Any]]

RDCORE = "Microsoft-Windows-RemoteDesktopServices-RdpCoreTS/Operational"
RUN_MRU = "HKU\\S-1-5-21-1-2-3-1001\\Software\\Microsoft\\Windows\\CurrentVersion\\Explorer\\RunMRU\\"
RUN_KEY = "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\Updater"
WMI_HOST = "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe"


def logon(seconds: float, user: str = "j.admin") -> dict[str, Any]:
    return security(
        seconds, 4624, LogonType="3", TargetUserName=user, IpAddress="10.20.0.41", TargetLogonId="0x4f2a1"
    )


def rdp_then_run(delay: float) -> Stream:
    """An inbound RDP connection, then a command typed into the Run dialog ``delay`` seconds later."""
    return [
        sysmon(
            0,
            3,
            Image="C:\\Windows\\System32\\svchost.exe",
            Initiated="false",
            SourceIp="10.20.0.41",
            DestinationPort="3389",
        ),
        sysmon(
            delay, 13, Image="C:\\Windows\\explorer.exe", TargetObject=RUN_MRU + "a", Details="cmd.exe\\1"
        ),
    ]


def wmi_exec(user: str) -> Stream:
    """A network logon, then WmiPrvSE.exe starts a program two seconds later (Sysmon)."""
    child = sysmon(
        2, 1, ParentImage=WMI_HOST, Image="C:\\Windows\\System32\\calc.exe", CommandLine="calc.exe"
    )
    return [logon(0, user), child]


def wmi_exec_legacy(creator: str) -> Stream:
    """Older 4688 without the parent name: WmiPrvSE starts, then a process whose creator id is ``creator``."""
    return [
        logon(0),
        security(0.5, 4688, NewProcessName=WMI_HOST, NewProcessId="0xae8", ProcessId="0x248"),
        security(
            0.6,
            4688,
            NewProcessName="C:\\Windows\\System32\\calc.exe",
            NewProcessId="0x424",
            ProcessId=creator,
        ),
    ]


def remote_task(second_guid: str) -> Stream:
    """schtasks loads the Task Scheduler COM API, then one process connects to a remote TCP 135."""
    guid = "{11111111-2222-3333-4444-555555555555}"
    image = "C:\\Windows\\System32\\schtasks.exe"
    return [
        sysmon(0, 7, ProcessGuid=guid, Image=image, ImageLoaded="C:\\Windows\\System32\\taskschd.dll"),
        sysmon(
            3,
            3,
            ProcessGuid=second_guid,
            Image=image,
            Initiated="true",
            DestinationIp="10.20.0.12",
            DestinationPort="135",
        ),
    ]


def remote_registry(writer_guid: str) -> Stream:
    """The Remote Registry service host starts, then a svchost sets a Run value."""
    guid = "{aaaaaaaa-2222-3333-4444-555555555555}"
    return [
        sysmon(
            0,
            1,
            ProcessGuid=guid,
            Image="C:\\Windows\\System32\\svchost.exe",
            CommandLine="C:\\Windows\\system32\\svchost.exe -k localService -p -s RemoteRegistry",
        ),
        sysmon(
            40,
            13,
            ProcessGuid=writer_guid,
            Image="C:\\Windows\\system32\\svchost.exe",
            TargetObject=RUN_KEY,
            Details="C:\\ProgramData\\upd.exe",
        ),
    ]


def remote_wmi_registry(write_host: str) -> Stream:
    """TCP 135 accepted from another host, then WmiPrvSE sets a Run value on ``write_host``."""
    return [
        sysmon(
            0,
            3,
            Image="C:\\Windows\\system32\\svchost.exe",
            Initiated="false",
            SourceIp="10.20.0.41",
            DestinationPort="135",
        ),
        sysmon(
            3, 13, host=write_host, Image=WMI_HOST, TargetObject=RUN_KEY, Details="rundll32.exe a.dll,Start"
        ),
    ]


def dcom_office(delay: float) -> Stream:
    """A network logon, then the DCOM launcher starts Excel as an automation server."""
    excel = "C:\\Program Files\\Microsoft Office\\root\\Office16\\EXCEL.EXE"
    return [
        logon(0),
        sysmon(
            delay,
            1,
            ParentImage="C:\\Windows\\System32\\svchost.exe",
            Image=excel,
            CommandLine=f'"{excel}" /automation -Embedding',
        ),
    ]


def remote_install(event_id: int, session: str) -> Stream:
    """A user's network logon (session 0x4f2a1), then a service (4697) or task (4698) by ``session``."""
    fields = {"ServiceName": "upd"} if event_id == 4697 else {"TaskName": "\\upd"}
    return [logon(0), security(4, event_id, SubjectLogonId=session, **fields)]


CASES: dict[str, tuple[Callable[[], Stream], Callable[[], Stream]]] = {
    # Run dialog 7 s after the connection -> fires; 5 minutes later (a person at work) -> does not.
    "rdp_connection_then_run_dialog": (lambda: rdp_then_run(7), lambda: rdp_then_run(300)),
    # A user's network logon -> fires; a machine account's (computer-to-computer traffic) -> does not.
    "wmi_remote_process_execution": (lambda: wmi_exec("j.admin"), lambda: wmi_exec("FS-01$")),
    # Same process loads taskschd.dll and reaches TCP 135 -> fires; two different processes -> not.
    "remote_task_scheduler_rpc": (
        lambda: remote_task("{11111111-2222-3333-4444-555555555555}"),
        lambda: remote_task("{99999999-2222-3333-4444-555555555555}"),
    ),
    # The Remote Registry host itself writes the Run key -> fires; another svchost -> does not.
    "remote_registry_autostart_write": (
        lambda: remote_registry("{aaaaaaaa-2222-3333-4444-555555555555}"),
        lambda: remote_registry("{bbbbbbbb-2222-3333-4444-555555555555}"),
    ),
    # Inbound RPC and the WMI Run key write on one host -> fires; on two different hosts -> does not.
    "remote_wmi_registry_autostart_write": (
        lambda: remote_wmi_registry("WKS-01"),
        lambda: remote_wmi_registry("WKS-02"),
    ),
    # Excel as automation server 2 s after the logon -> fires; 2 minutes later -> does not.
    "dcom_remote_automation_server": (lambda: dcom_office(2), lambda: dcom_office(120)),
    # Installed by the network logon session -> fires; by the local SYSTEM session -> does not.
    "service_installed_from_network_logon": (
        lambda: remote_install(4697, "0x4f2a1"),
        lambda: remote_install(4697, "0x3e7"),
    ),
    "task_registered_from_network_logon": (
        lambda: remote_install(4698, "0x4f2a1"),
        lambda: remote_install(4698, "0x3e7"),
    ),
}


test_positive_stream_fires, test_negative_stream_does_not_fire = stream_tests(CASES)


def test_legacy_wmi_child_is_joined_on_the_creator_process_id() -> None:
    """4688 without ParentProcessName: the child counts only when its creator is the WmiPrvSE started."""
    fired = names_of(run(wmi_exec_legacy("0xae8")))
    assert len(fired.get("wmi_remote_process_execution", [])) == 1
    assert "wmi_remote_process_execution" not in names_of(run(wmi_exec_legacy("0x9f0")))


def test_feeders_stay_silent_and_tactics_are_lateral_movement() -> None:
    alerts: list[Alert] = run(wmi_exec("j.admin") + rdp_then_run(7))
    titles = {a.title for a in alerts}
    assert "Network Logon of a User Account From Another Host" not in titles
    assert "Process Started by the WMI Provider Host" not in titles
    assert "Command Typed Into the Run Dialog" not in titles
    fired = names_of(alerts)
    for name in ("wmi_remote_process_execution", "rdp_connection_then_run_dialog"):
        assert "lateral-movement" in fired[name][0].tactics
