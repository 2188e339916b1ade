"""EventData of the Security, PowerShell and System events the scenarios and the noise write.

Field names and value styles (hex process ids, ``%%`` message ids, LogonType as a number) follow
what Windows logs, as evtx prints it.
"""

from __future__ import annotations

from typing import Any

from chainbreaker.simulate.telemetry import Process


def _split(user: str) -> tuple[str, str]:
    domain, _, name = user.rpartition("\\")
    return domain or "-", name


def subject(p: Process) -> dict[str, Any]:
    domain, name = _split(p.user)
    return {
        "SubjectUserSid": p.user_sid,
        "SubjectUserName": name,
        "SubjectDomainName": domain,
        "SubjectLogonId": p.logon_id,
    }


def process_creation(p: Process) -> dict[str, Any]:
    parent = p.parent
    elevation = "%%1937" if p.integrity in ("High", "System") else "%%1938"
    return {
        **subject(p),
        "NewProcessId": hex(p.pid),
        "NewProcessName": p.image,
        "TokenElevationType": elevation,
        "ProcessId": hex(parent.pid) if parent else "0x0",
        "CommandLine": p.command_line,
        "TargetUserSid": "S-1-0-0",
        "TargetUserName": "-",
        "TargetDomainName": "-",
        "TargetLogonId": "0x0",
        "ParentProcessName": parent.image if parent else "",
        "MandatoryLabel": {"Low": "S-1-16-4096", "Medium": "S-1-16-8192", "High": "S-1-16-12288"}.get(
            p.integrity, "S-1-16-16384"
        ),
    }


def logon(
    computer_account: str,
    domain: str,
    user: str,
    user_domain: str,
    user_sid: str,
    logon_id: str,
    logon_type: int,
    ip: str,
    port: int | str,
    workstation: str,
    package: str = "Kerberos",
    process: tuple[int, str] = (0, "-"),
) -> dict[str, Any]:
    local = logon_type in (2, 5, 7, 11)
    return {
        "SubjectUserSid": "S-1-5-18" if local else "S-1-0-0",
        "SubjectUserName": computer_account if local else "-",
        "SubjectDomainName": domain if local else "-",
        "SubjectLogonId": "0x3e7" if local else "0x0",
        "TargetUserSid": user_sid,
        "TargetUserName": user,
        "TargetDomainName": user_domain,
        "TargetLogonId": logon_id,
        "LogonType": logon_type,
        "LogonProcessName": "User32 "
        if logon_type in (2, 10, 11)
        else "Kerberos"
        if package == "Kerberos"
        else "NtLmSsp ",
        "AuthenticationPackageName": "Negotiate" if logon_type in (2, 10, 11) else package,
        "WorkstationName": workstation,
        "LogonGuid": "00000000-0000-0000-0000-000000000000",
        "TransmittedServices": "-",
        "LmPackageName": "NTLM V2" if package == "NTLM" else "-",
        "KeyLength": 128 if package == "NTLM" else 0,
        "ProcessId": hex(process[0]),
        "ProcessName": process[1],
        "IpAddress": ip,
        "IpPort": str(port),
        "ImpersonationLevel": "%%1833",
        "RestrictedAdminMode": "-",
        "TargetOutboundUserName": "-",
        "TargetOutboundDomainName": "-",
        "VirtualAccount": "%%1843",
        "TargetLinkedLogonId": "0x0",
        "ElevatedToken": "%%1842" if logon_type == 3 else "%%1843",
    }


def failed_logon(
    user: str, user_domain: str, logon_type: int, ip: str, port: int, workstation: str
) -> dict[str, Any]:
    return {
        "SubjectUserSid": "S-1-0-0",
        "SubjectUserName": "-",
        "SubjectDomainName": "-",
        "SubjectLogonId": "0x0",
        "TargetUserSid": "S-1-0-0",
        "TargetUserName": user,
        "TargetDomainName": user_domain,
        "Status": "0xc000006d",
        "FailureReason": "%%2313",
        "SubStatus": "0xc000006a",
        "LogonType": logon_type,
        "LogonProcessName": "NtLmSsp ",
        "AuthenticationPackageName": "NTLM",
        "WorkstationName": workstation,
        "TransmittedServices": "-",
        "LmPackageName": "-",
        "KeyLength": 0,
        "ProcessId": "0x0",
        "ProcessName": "-",
        "IpAddress": ip,
        "IpPort": str(port),
    }


def service_ticket(
    user: str, realm: str, service: str, service_sid: str, enc: str, ip: str, port: int
) -> dict[str, Any]:
    return {
        "TargetUserName": f"{user}@{realm}",
        "TargetDomainName": realm,
        "ServiceName": service,
        "ServiceSid": service_sid,
        "TicketOptions": "0x40810000",
        "TicketEncryptionType": enc,
        "IpAddress": f"::ffff:{ip}",
        "IpPort": str(port),
        "Status": "0x0",
        "LogonGuid": "00000000-0000-0000-0000-000000000000",
        "TransmittedServices": "-",
    }


def share_access(
    p: Process, ip: str, port: int, share: str, local_path: str, target: str | None
) -> dict[str, Any]:
    data = {
        **subject(p),
        "ObjectType": "File",
        "IpAddress": ip,
        "IpPort": str(port),
        "ShareName": f"\\\\*\\{share}",
        "ShareLocalPath": local_path,
    }
    if target is not None:
        data.update(
            {
                "RelativeTargetName": target,
                "AccessMask": "0x12019f",
                "AccessList": "%%1538\r\n\t\t\t\t%%1541\r\n\t\t\t\t%%4416\r\n\t\t\t\t%%4417\r\n\t\t\t\t",
                "AccessReason": "-",
            }
        )
    else:
        data.update({"AccessMask": "0x1", "AccessList": "%%4416\r\n\t\t\t\t"})
    return data


def service_installed_security(p: Process, name: str, path: str) -> dict[str, Any]:
    return {
        **subject(p),
        "ServiceName": name,
        "ServiceFileName": path,
        "ServiceType": "0x10",
        "ServiceStartType": 3,
        "ServiceAccount": "LocalSystem",
    }


def task_created(p: Process, name: str, command: str, arguments: str) -> dict[str, Any]:
    content = (
        '<?xml version="1.0" encoding="UTF-16"?>\r\n<Task version="1.2" '
        'xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">\r\n  <Triggers>\r\n'
        "    <LogonTrigger>\r\n      <Enabled>true</Enabled>\r\n    </LogonTrigger>\r\n  </Triggers>\r\n"
        f'  <Actions Context="Author">\r\n    <Exec>\r\n      <Command>{command}</Command>\r\n'
        f"      <Arguments>{arguments}</Arguments>\r\n    </Exec>\r\n  </Actions>\r\n</Task>"
    )
    return {**subject(p), "TaskName": name, "TaskContent": content}


def directory_access(p: Process, properties: str) -> dict[str, Any]:
    return {
        **subject(p),
        "ObjectServer": "DS",
        "ObjectType": "%{19195a5b-6da0-11d0-afd3-00c04fd930c9}",
        "ObjectName": "%{c6faf700-bfe4-452a-a766-424f84c29583}",
        "OperationType": "Object Access",
        "HandleId": "0x0",
        "AccessList": "%%7688\r\n\t\t\t\t",
        "AccessMask": "0x100",
        "Properties": f"%%7688\r\n\t\t{properties}\r\n\t{{19195a5b-6da0-11d0-afd3-00c04fd930c9}}\r\n",
        "AdditionalInfo": "-",
        "AdditionalInfo2": "",
    }


def log_cleared(p: Process) -> dict[str, Any]:
    """UserData/LogFileCleared of Security 1102."""
    s = subject(p)
    return {
        "#attributes": {"xmlns": "http://manifests.microsoft.com/win/2004/08/windows/eventlog"},
        "SubjectUserSid": s["SubjectUserSid"],
        "SubjectUserName": s["SubjectUserName"],
        "SubjectDomainName": s["SubjectDomainName"],
        "SubjectLogonId": s["SubjectLogonId"],
    }


def system_log_cleared(p: Process) -> dict[str, Any]:
    """UserData/LogFileCleared of System 104."""
    s = subject(p)
    return {
        "#attributes": {"xmlns": "http://manifests.microsoft.com/win/2004/08/windows/eventlog"},
        "SubjectUserName": s["SubjectUserName"],
        "SubjectDomainName": s["SubjectDomainName"],
        "Channel": "System",
        "BackupPath": None,
    }


def service_installed_system(name: str, path: str, account: str = "LocalSystem") -> dict[str, Any]:
    return {
        "ServiceName": name,
        "ImagePath": path,
        "ServiceType": "user mode service",
        "StartType": "demand start",
        "AccountName": account,
    }


def script_block(text: str, block_id: str, path: str = "") -> dict[str, Any]:
    return {
        "MessageNumber": 1,
        "MessageTotal": 1,
        "ScriptBlockText": text,
        "ScriptBlockId": block_id,
        "Path": path,
    }
