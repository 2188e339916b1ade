"""What happens on a Windows host, as the telemetry it leaves: process starts, files, registry,
logons, share access, services, tasks, script blocks, log clearing.

Each function emits every record the action leaves (Sysmon and Security for a process start) and
keeps ids consistent: the child's ParentProcessGuid is the parent's ProcessGuid, 4688's
NewProcessId is the Sysmon ProcessId in hex, logon ids follow the session.
"""

from __future__ import annotations

from typing import Any

from chainbreaker.simulate import security, windows
from chainbreaker.simulate.model import Host, Label, User
from chainbreaker.simulate.telemetry import Process, Telemetry

SYSTEM = "NT AUTHORITY\\SYSTEM"


def emit(
    tel: Telemetry,
    host: Host,
    channel: str,
    eid: int,
    t: float,
    data: dict[str, Any],
    label: Label | None,
    **kw: Any,
) -> None:
    base = tel.state(host).base
    owner = {"Security": "lsass", "Sysmon": "sysmon", "System": "services", "PowerShell": "explorer"}[channel]
    exec_pid = kw.pop("exec_pid", base[owner].pid if owner in base else 4)
    sid = kw.pop("user_sid", "S-1-5-18" if channel in ("Sysmon", "System") else None)
    record = windows.event(
        host,
        channel,
        eid,
        t,
        data,
        exec_pid=exec_pid,
        exec_tid=tel.rng.randrange(100, 9000),
        user_sid=sid,
        **kw,
    )
    tel.emit(t, ("winjson", windows.stream_path(host, channel)), host.name, record, label)


def boot(tel: Telemetry, host: Host, t: float) -> None:
    """Long-running processes that exist before the simulated window (no records of their start)."""
    st = tel.state(host)

    def proc(
        key: str,
        image: str,
        cmd: str,
        parent: Process | None,
        user: str = SYSTEM,
        logon: str = "0x3e7",
        sid: str = "S-1-5-18",
        integrity: str = "System",
    ) -> Process:
        p = Process(tel.process_guid(host, t), tel.pid(host), image, cmd, user, logon, sid, integrity, parent)
        st.base[key] = p
        return p

    system = st.base["system"] = Process(tel.process_guid(host, t), 4, "System", "", SYSTEM, "0x3e7")
    wininit = proc("wininit", "C:\\Windows\\System32\\wininit.exe", "wininit.exe", system)
    services = proc(
        "services", "C:\\Windows\\System32\\services.exe", "C:\\Windows\\system32\\services.exe", wininit
    )
    proc("lsass", "C:\\Windows\\System32\\lsass.exe", "C:\\Windows\\system32\\lsass.exe", wininit)
    proc(
        "svchost",
        "C:\\Windows\\System32\\svchost.exe",
        "C:\\Windows\\system32\\svchost.exe -k netsvcs -p",
        services,
    )
    proc("sysmon", "C:\\Windows\\Sysmon64.exe", "C:\\Windows\\Sysmon64.exe", services)
    # COM servers (WmiPrvSE, backgroundTaskHost) are started by the DCOM launcher, search filter
    # hosts by the indexer: both are services, so their parent is services.exe as on Windows.
    proc(
        "dcomlaunch",
        "C:\\Windows\\System32\\svchost.exe",
        "C:\\Windows\\system32\\svchost.exe -k DcomLaunch -p",
        services,
    )
    proc(
        "searchindexer",
        "C:\\Windows\\System32\\SearchIndexer.exe",
        "C:\\Windows\\system32\\SearchIndexer.exe /Embedding",
        services,
    )
    proc(
        "taskeng",
        "C:\\Windows\\System32\\svchost.exe",
        "C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s Schedule",
        services,
    )
    if host.role == "mft":
        proc(
            "w3wp",
            "C:\\Windows\\System32\\inetsrv\\w3wp.exe",
            'c:\\windows\\system32\\inetsrv\\w3wp.exe -ap "MFTAppPool" -v "v4.0" -l "webengine4.dll"',
            services,
            "IIS APPPOOL\\MFTAppPool",
            "0x3e7",
            "S-1-5-82-1036420768-1044797643",
            "High",
        )
    if host.user is not None and host.role == "workstation":
        session_user(tel, host, host.user, t)


def session_user(tel: Telemetry, host: Host, user: User, t: float) -> Process:
    """The interactive session's explorer.exe for ``user`` (created without records, like a boot)."""
    st = tel.state(host)
    p = Process(
        tel.process_guid(host, t),
        tel.pid(host),
        "C:\\Windows\\explorer.exe",
        "C:\\Windows\\Explorer.EXE",
        f"{tel.env.netbios}\\{user.sam}",
        tel.logon_id(host),
        user.sid,
        "Medium",
        st.base.get("wininit"),
    )
    st.base["explorer"] = p
    return p


def spawn(
    tel: Telemetry,
    host: Host,
    t: float,
    parent: Process,
    image: str,
    command_line: str,
    *,
    label: Label | None = None,
    integrity: str | None = None,
    user: tuple[str, str, str] | None = None,
    cwd: str | None = None,
    security_log: bool = True,
) -> Process:
    """Start a process: Sysmon 1 and Security 4688. ``user`` = (DOMAIN\\name, logon id, sid)."""
    name, logon, sid = user or (parent.user, parent.logon_id, parent.user_sid)
    p = Process(
        tel.process_guid(host, t),
        tel.pid(host),
        image,
        command_line,
        name,
        logon,
        sid,
        integrity or parent.integrity,
        parent,
    )
    directory = cwd or (
        "C:\\Windows\\system32\\"
        if name.startswith("NT AUTHORITY")
        else f"C:\\Users\\{name.rpartition(chr(92))[2]}\\"
    )
    emit(
        tel,
        host,
        "Sysmon",
        1,
        t,
        windows.sysmon_process_create(t, p, directory, 0 if logon == "0x3e7" else 1),
        label,
    )
    if security_log:
        emit(tel, host, "Security", 4688, t + 0.0004, security.process_creation(p), label)
    return p


def file_create(
    tel: Telemetry, host: Host, t: float, p: Process, path: str, label: Label | None = None
) -> None:
    emit(tel, host, "Sysmon", 11, t, windows.sysmon_file(t, p, path), label)


def stream_hash(
    tel: Telemetry,
    host: Host,
    t: float,
    p: Process,
    path: str,
    sha256: str,
    url: str,
    label: Label | None = None,
) -> None:
    contents = f"[ZoneTransfer]  ZoneId=3  HostUrl={url}  "
    emit(
        tel,
        host,
        "Sysmon",
        15,
        t,
        windows.sysmon_stream_hash(t, p, path + ":Zone.Identifier", sha256, contents),
        label,
    )


def registry(
    tel: Telemetry,
    host: Host,
    t: float,
    p: Process,
    key: str,
    details: str | None,
    label: Label | None = None,
) -> None:
    emit(
        tel,
        host,
        "Sysmon",
        13 if details is not None else 12,
        t,
        windows.sysmon_registry(t, p, key, details),
        label,
    )


def process_access(
    tel: Telemetry,
    host: Host,
    t: float,
    src: Process,
    target: Process,
    access: str,
    label: Label | None = None,
) -> None:
    emit(
        tel,
        host,
        "Sysmon",
        10,
        t,
        windows.sysmon_process_access(t, src, target, access, tel.rng.randrange(1000, 9000)),
        label,
    )


def remote_thread(
    tel: Telemetry, host: Host, t: float, src: Process, target: Process, label: Label | None = None
) -> None:
    """Sysmon 8: ``src`` starts a thread in ``target`` (code injection)."""
    address = f"0x{tel.rng.randrange(0x1000000, 0x7FFFFFF) << 12:016X}"
    data = windows.sysmon_remote_thread(t, src, target, tel.rng.randrange(1000, 9000), address)
    emit(tel, host, "Sysmon", 8, t, data, label)


def script_block(
    tel: Telemetry, host: Host, t: float, p: Process, text: str, label: Label | None = None
) -> None:
    emit(
        tel,
        host,
        "PowerShell",
        4104,
        t,
        security.script_block(text, tel.guid()),
        label,
        exec_pid=p.pid,
        user_sid=p.user_sid,
    )


def logon(
    tel: Telemetry,
    host: Host,
    t: float,
    user: User,
    logon_type: int,
    ip: str,
    port: int | str,
    workstation: str,
    *,
    package: str = "Kerberos",
    label: Label | None = None,
) -> str:
    """Security 4624 on ``host``; returns the new logon id."""
    lid = tel.logon_id(host)
    process = (
        (tel.state(host).base["lsass"].pid, "C:\\Windows\\System32\\lsass.exe")
        if logon_type in (2, 10, 11)
        else (0, "-")
    )
    data = security.logon(
        f"{host.name}$",
        tel.env.netbios,
        user.sam,
        tel.env.netbios,
        user.sid,
        lid,
        logon_type,
        ip,
        port,
        workstation,
        package,
        process,
    )
    emit(tel, host, "Security", 4624, t, data, label)
    return lid


def failed_logon(
    tel: Telemetry,
    host: Host,
    t: float,
    user: str,
    logon_type: int,
    ip: str,
    port: int,
    workstation: str,
    label: Label | None = None,
) -> None:
    data = security.failed_logon(user, tel.env.netbios, logon_type, ip, port, workstation)
    emit(tel, host, "Security", 4625, t, data, label, failure=True)


def session(tel: Telemetry, user: User, logon_id: str) -> Process:
    """A pseudo-process standing for a network logon session (subject of 5140/5145/4697)."""
    return Process("", 4, "System", "", f"{tel.env.netbios}\\{user.sam}", logon_id, user.sid, "High")


def service_ticket(
    tel: Telemetry,
    dc: Host,
    t: float,
    user: User,
    service: User | Host,
    enc: str,
    ip: str,
    label: Label | None = None,
) -> None:
    if isinstance(service, Host):
        name, sid = f"{service.name}$", f"{tel.env.domain_sid}-{1000 + sum(map(ord, service.name))}"
    else:
        name, sid = service.sam, service.sid
    data = security.service_ticket(user.sam, tel.env.domain.upper(), name, sid, enc, ip, tel.port(dc))
    emit(tel, dc, "Security", 4769, t, data, label)


def share_access(
    tel: Telemetry,
    host: Host,
    t: float,
    who: Process,
    ip: str,
    port: int,
    share: str,
    target: str | None,
    label: Label | None = None,
) -> None:
    local = {"ADMIN$": "\\??\\C:\\Windows", "C$": "\\??\\C:\\", "IPC$": ""}.get(
        share, f"\\??\\D:\\Shares\\{share}"
    )
    if target is None:
        emit(tel, host, "Security", 5140, t, security.share_access(who, ip, port, share, local, None), label)
    else:
        emit(
            tel, host, "Security", 5145, t, security.share_access(who, ip, port, share, local, target), label
        )


def install_service(
    tel: Telemetry,
    host: Host,
    t: float,
    who: Process,
    name: str,
    path: str,
    command_line: str,
    label: Label | None = None,
) -> Process:
    """4697 + 7045, then services.exe starts the service binary (Sysmon 1 + 4688)."""
    emit(tel, host, "Security", 4697, t, security.service_installed_security(who, name, path), label)
    emit(
        tel,
        host,
        "System",
        7045,
        t + 0.001,
        security.service_installed_system(name, path),
        label,
        user_sid=who.user_sid,
    )
    services = tel.state(host).base["services"]
    return spawn(
        tel,
        host,
        t + 0.3,
        services,
        path.replace("%SystemRoot%", "C:\\Windows"),
        command_line,
        label=label,
        integrity="System",
    )


def create_task(
    tel: Telemetry,
    host: Host,
    t: float,
    who: Process,
    name: str,
    command: str,
    arguments: str,
    label: Label | None = None,
) -> None:
    emit(tel, host, "Security", 4698, t, security.task_created(who, name, command, arguments), label)


def directory_access(
    tel: Telemetry, dc: Host, t: float, who: Process, properties: str, label: Label | None = None
) -> None:
    emit(tel, dc, "Security", 4662, t, security.directory_access(who, properties), label)


def clear_logs(tel: Telemetry, host: Host, t: float, who: Process, label: Label | None = None) -> None:
    """1102 (Security cleared) and 104 (System cleared)."""
    emit(
        tel,
        host,
        "Security",
        1102,
        t,
        security.log_cleared(who),
        label,
        user_data="LogFileCleared",
        provider=("Microsoft-Windows-Eventlog", "{fc65ddd8-d6ef-4962-83d5-6e5cfe9ce148}"),
    )
    emit(
        tel,
        host,
        "System",
        104,
        t + 0.2,
        security.system_log_cleared(who),
        label,
        user_data="LogFileCleared",
        provider=("Microsoft-Windows-Eventlog", "{fc65ddd8-d6ef-4962-83d5-6e5cfe9ce148}"),
        user_sid=who.user_sid,
    )
