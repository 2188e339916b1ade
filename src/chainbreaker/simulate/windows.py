"""Windows event records shaped as evtx_dump / the ``evtx`` package print them (one JSON object).

The shape was taken from parsing EVTX files of the evtx-attack-samples corpus with ``evtx``:
``{"Event": {"#attributes": {"xmlns": ...}, "System": {...}, "EventData": {...}}}``; events that
Windows logs as UserData (1102, 104) keep that shape. ``EventRecordID`` is set by the writer.
"""

from __future__ import annotations

import hashlib
from typing import Any

from chainbreaker.simulate.model import Host
from chainbreaker.simulate.telemetry import Process
from chainbreaker.simulate.timefmt import system_time, utc_time

_XMLNS = {"xmlns": "http://schemas.microsoft.com/win/2004/08/events/event"}

#: short name -> (Channel, provider name, provider guid)
CHANNELS: dict[str, tuple[str, str, str]] = {
    "Security": ("Security", "Microsoft-Windows-Security-Auditing", "54849625-5478-4994-A5BA-3E3B0328C30D"),
    "Sysmon": (
        "Microsoft-Windows-Sysmon/Operational",
        "Microsoft-Windows-Sysmon",
        "5770385F-C22A-43E0-BF4C-06F5698FFBD9",
    ),
    "PowerShell": (
        "Microsoft-Windows-PowerShell/Operational",
        "Microsoft-Windows-PowerShell",
        "A0C1853B-5C40-4B15-8766-3CF1C58F985A",
    ),
    "System": ("System", "Service Control Manager", "{555908d1-a6d7-4695-8e1e-26931d2012f4}"),
}
_EVENTLOG = ("Microsoft-Windows-Eventlog", "{fc65ddd8-d6ef-4962-83d5-6e5cfe9ce148}")

#: Security event id -> audit task category number (as Windows logs it).
_SECURITY_TASK = {
    4624: 12544,
    4625: 12544,
    4634: 12545,
    4672: 12548,
    4688: 13312,
    4697: 12289,
    4698: 12804,
    4662: 14080,
    4769: 14337,
    5140: 12808,
    5145: 12811,
}
_SYSMON_VERSION = {1: 5, 3: 5, 10: 3, 11: 2, 12: 2, 13: 2, 15: 2, 22: 5}


def stream_path(host: Host, channel: str) -> str:
    return f"windows/{host.name}/{channel}.jsonl"


def image_hashes(image: str) -> str:
    """Stable per-binary hashes (derived from the file name: every copy of a binary hashes alike)."""
    name = image.rsplit("\\", 1)[-1].lower().encode()
    return (
        f"SHA256={hashlib.sha256(name).hexdigest().upper()},IMPHASH={hashlib.md5(name).hexdigest().upper()}"
    )


def event(
    host: Host,
    channel: str,
    eid: int,
    t: float,
    data: dict[str, Any],
    *,
    exec_pid: int,
    exec_tid: int,
    user_sid: str | None = None,
    failure: bool = False,
    user_data: str | None = None,
    provider: tuple[str, str] | None = None,
) -> dict[str, Any]:
    chan, pname, pguid = CHANNELS[channel]
    if provider:
        pname, pguid = provider
    prov: dict[str, Any] = {"#attributes": {"Name": pname, "Guid": pguid}}
    event_id: Any = eid
    level, task, opcode, keywords, version = 4, 0, 0, "0x8000000000000000", 0
    if channel == "Security":
        level, task = 0, _SECURITY_TASK.get(eid, 0)
        keywords = "0x8010000000000000" if failure else "0x8020000000000000"
        version = 2 if eid in (4624, 4688) else 1 if eid == 5140 else 0
        if eid == 1102:
            task, keywords = 104, "0x4020000000000000"
    elif channel == "Sysmon":
        task, version = eid, _SYSMON_VERSION.get(eid, 2)
    elif channel == "PowerShell":
        level, task, opcode, keywords, version = 5, 2, 15, "0x0", 1
    elif channel == "System" and provider is None:
        prov["#attributes"]["EventSourceName"] = "Service Control Manager"
        event_id = {"#attributes": {"Qualifiers": 16384}, "#text": eid}
        keywords = "0x8080000000000000"
    system = {
        "Provider": prov,
        "EventID": event_id,
        "Version": version,
        "Level": level,
        "Task": task,
        "Opcode": opcode,
        "Keywords": keywords,
        "TimeCreated": {"#attributes": {"SystemTime": system_time(t)}},
        "EventRecordID": 0,
        "Correlation": None,
        "Execution": {"#attributes": {"ProcessID": exec_pid, "ThreadID": exec_tid}},
        "Channel": chan,
        "Computer": host.fqdn,
        "Security": {"#attributes": {"UserID": user_sid}} if user_sid else None,
    }
    body: dict[str, Any] = {"#attributes": _XMLNS, "System": system}
    if user_data:
        body["UserData"] = {user_data: data}
    else:
        body["EventData"] = data
    return {"Event": body}


# -- Sysmon ---------------------------------------------------------------------------------------
def _process_fields(t: float, p: Process) -> dict[str, Any]:
    """The fields that open every Sysmon event about one process, in the order Sysmon writes them."""
    return {
        "RuleName": "-",
        "UtcTime": utc_time(t),
        "ProcessGuid": p.guid,
        "ProcessId": p.pid,
        "Image": p.image,
    }


def sysmon_process_create(t: float, p: Process, current_dir: str, session: int) -> dict[str, Any]:
    parent = p.parent
    return {
        **_process_fields(t, p),
        "FileVersion": "-",
        "Description": "-",
        "Product": "-",
        "Company": "-",
        "OriginalFileName": p.name,
        "CommandLine": p.command_line,
        "CurrentDirectory": current_dir,
        "User": p.user,
        "LogonGuid": "-",
        "LogonId": p.logon_id,
        "TerminalSessionId": session,
        "IntegrityLevel": p.integrity,
        "Hashes": image_hashes(p.image),
        "ParentProcessGuid": parent.guid if parent else "00000000-0000-0000-0000-000000000000",
        "ParentProcessId": parent.pid if parent else 0,
        "ParentImage": parent.image if parent else "-",
        "ParentCommandLine": parent.command_line if parent else "-",
        "ParentUser": parent.user if parent else "-",
    }


def sysmon_network(
    t: float, p: Process, src: tuple[str, str, int], dst: tuple[str, str, int], proto: str = "tcp"
) -> dict[str, Any]:
    return {
        **_process_fields(t, p),
        "User": p.user,
        "Protocol": proto,
        "Initiated": True,
        "SourceIsIpv6": False,
        "SourceIp": src[0],
        "SourceHostname": src[1],
        "SourcePort": src[2],
        "SourcePortName": "-",
        "DestinationIsIpv6": False,
        "DestinationIp": dst[0],
        "DestinationHostname": dst[1],
        "DestinationPort": dst[2],
        "DestinationPortName": {443: "https", 80: "http", 445: "microsoft-ds", 53: "domain"}.get(dst[2], "-"),
    }


def sysmon_file(t: float, p: Process, path: str) -> dict[str, Any]:
    return {
        **_process_fields(t, p),
        "TargetFilename": path,
        "CreationUtcTime": utc_time(t),
        "User": p.user,
    }


def sysmon_stream_hash(t: float, p: Process, path: str, sha256: str, contents: str) -> dict[str, Any]:
    return {
        **_process_fields(t, p),
        "TargetFilename": path,
        "CreationUtcTime": utc_time(t),
        "Hash": f"SHA256={sha256}",
        "Contents": contents,
        "User": p.user,
    }


def sysmon_registry(t: float, p: Process, key: str, details: str | None) -> dict[str, Any]:
    data = {
        "RuleName": "-",
        "EventType": "SetValue" if details is not None else "CreateKey",
        "UtcTime": utc_time(t),
        "ProcessGuid": p.guid,
        "ProcessId": p.pid,
        "Image": p.image,
        "TargetObject": key,
    }
    if details is not None:
        data["Details"] = details
    data["User"] = p.user
    return data


def sysmon_remote_thread(t: float, src: Process, tgt: Process, tid: int, address: str) -> dict[str, Any]:
    return {
        "RuleName": "-",
        "UtcTime": utc_time(t),
        "SourceProcessGuid": src.guid,
        "SourceProcessId": src.pid,
        "SourceImage": src.image,
        "TargetProcessGuid": tgt.guid,
        "TargetProcessId": tgt.pid,
        "TargetImage": tgt.image,
        "NewThreadId": tid,
        "StartAddress": address,
        "StartModule": "-",
        "StartFunction": "-",
        "SourceUser": src.user,
        "TargetUser": tgt.user,
    }


def sysmon_process_access(t: float, src: Process, tgt: Process, access: str, tid: int) -> dict[str, Any]:
    return {
        "RuleName": "-",
        "UtcTime": utc_time(t),
        "SourceProcessGUID": src.guid,
        "SourceProcessId": src.pid,
        "SourceThreadId": tid,
        "SourceImage": src.image,
        "TargetProcessGUID": tgt.guid,
        "TargetProcessId": tgt.pid,
        "TargetImage": tgt.image,
        "GrantedAccess": access,
        "CallTrace": (
            "C:\\Windows\\SYSTEM32\\ntdll.dll+9d4c4|"
            "C:\\Windows\\System32\\KERNELBASE.dll+2c13e|UNKNOWN(000001A4C3B2F1D0)"
        ),
        "SourceUser": src.user,
        "TargetUser": tgt.user,
    }


def sysmon_dns(t: float, p: Process, name: str, answers: list[str]) -> dict[str, Any]:
    results = ";".join(f"::ffff:{a}" for a in answers) + ";" if answers else "-"
    return {
        "RuleName": "-",
        "UtcTime": utc_time(t),
        "ProcessGuid": p.guid,
        "ProcessId": p.pid,
        "QueryName": name,
        "QueryStatus": "0" if answers else "9003",
        "QueryResults": results,
        "Image": p.image,
        "User": p.user,
    }
