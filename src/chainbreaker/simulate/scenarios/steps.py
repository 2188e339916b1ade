"""Attack techniques as reusable steps; each emits every record the technique leaves, labelled."""

from __future__ import annotations

import base64
import random

from chainbreaker.simulate import hostactions as act
from chainbreaker.simulate import network as net
from chainbreaker.simulate.model import Host, Label, User
from chainbreaker.simulate.telemetry import Process, Telemetry

CMD = "C:\\Windows\\System32\\cmd.exe"
POWERSHELL = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"
RUNDLL32 = "C:\\Windows\\System32\\rundll32.exe"

# Labels of the steps several intrusions take alike: one definition, so every scenario's ground
# truth words (and maps) them the same way.
L_WHOAMI = Label("discovery: whoami", "actions-on-objectives", "T1033", "discovery")
L_GROUPS = Label("discovery: domain admins group", "actions-on-objectives", "T1069.002", "discovery")
L_DCLIST = Label("discovery: domain controllers", "actions-on-objectives", "T1018", "discovery")
L_LATERAL = Label("lateral movement over ADMIN$", "actions-on-objectives", "T1021.002", "lateral-movement")
# The payload a remote service runs is execution, which our framework places at exploitation.
L_REMOTE_EXEC = Label("remote service execution", "exploitation", "T1569.002", "execution")
L_ENCRYPT = Label("files encrypted", "actions-on-objectives", "T1486", "impact")

SCAN_SIG = net.Signature(
    9100101,
    "ET SCAN Inbound TCP port sweep from external host",
    "Attempted Information Leak",
    2,
    "T1595.001",
    "Scanning IP Blocks",
    "TA0043",
    "Reconnaissance",
)


def encode_ps(script: str) -> str:
    """PowerShell -EncodedCommand value (UTF-16LE, base64)."""
    return base64.b64encode(script.encode("utf-16-le")).decode()


def external_scan(
    tel: Telemetry,
    t: float,
    attacker: str,
    targets: list[tuple[Host, str]],
    ports: tuple[int, ...],
    label: Label,
    rng: random.Random,
    open_ports: dict[str, set[int]] | None = None,
) -> None:
    """A port sweep: S0/REJ rows in Zeek conn (SF for open ports) and one Suricata alert per sweep.

    ``targets`` pairs each scanned address with the host behind it; addresses of the public range
    that no host of ours answers on are attributed to no host in the ground truth.
    """
    at = t
    for host, ip in targets:
        owner = host.name if ip == host.ip else ""
        for port in ports:
            at += rng.uniform(0.02, 0.3)
            is_open = open_ports is not None and port in open_ports.get(ip, set())
            net.connect(
                tel,
                at,
                host,
                ip,
                port,
                src_ip=attacker,
                src_port=rng.randrange(40000, 65000),
                state="SF" if is_open else rng.choice(("S0", "REJ")),
                duration=0.01,
                orig_bytes=0,
                resp_bytes=0,
                label=label,
                flow=False,
                truth_host=owner,
            )
    host0, ip0 = targets[0]
    net.eve_alert(
        tel,
        t + 5.0,
        host0.name if ip0 == host0.ip else "",
        SCAN_SIG,
        attacker,
        rng.randrange(40000, 65000),
        ip0,
        ports[0],
        label,
    )


def discovery_burst(
    tel: Telemetry, host: Host, t: float, parent: Process, commands: list[tuple[str, str, Label]]
) -> float:
    """cmd.exe /c <command> for each command, a few seconds apart; returns the time after the burst."""
    for image, args, label in commands:
        cmd = act.spawn(tel, host, t, parent, CMD, f"cmd.exe /c {args}", label=label)
        act.spawn(tel, host, t + 0.05, cmd, image, args, label=label)
        t += tel.rng.uniform(3, 12)
    return t


def lsass_access(
    tel: Telemetry, host: Host, t: float, source: Process, label: Label, access: str = "0x1010"
) -> None:
    act.process_access(tel, host, t, source, tel.state(host).base["lsass"], access, label)


def kerberoast(
    tel: Telemetry, dc: Host, t: float, user: User, targets: list[User], client_ip: str, label: Label
) -> None:
    """TGS requests with RC4 (0x17) for service accounts, seconds apart."""
    for i, target in enumerate(targets):
        act.service_ticket(tel, dc, t + i * 0.7, user, target, "0x17", client_ip, label)


def psexec_lateral(
    tel: Telemetry,
    src: Host,
    dst: Host,
    t: float,
    admin: User,
    service: str,
    lateral: Label,
    execution: Label,
) -> Process:
    """SMB to ADMIN$, copy a service binary, create and start a service (PsExec style). Returns it."""
    port = tel.port(src)
    net.connect(
        tel,
        t,
        src,
        dst.ip,
        445,
        src_port=port,
        service="smb,ntlm",
        duration=14.0,
        orig_bytes=312_000,
        resp_bytes=9_800,
        label=lateral,
        sysmon=False,
    )
    lid = act.logon(tel, dst, t + 0.05, admin, 3, src.ip, port, src.name, package="NTLM", label=lateral)
    who = act.session(tel, admin, lid)
    act.share_access(tel, dst, t + 0.1, who, src.ip, port, "ADMIN$", None, lateral)
    act.share_access(tel, dst, t + 0.2, who, src.ip, port, "ADMIN$", f"{service}.exe", lateral)
    act.file_create(tel, dst, t + 0.3, tel.state(dst).base["system"], f"C:\\Windows\\{service}.exe", lateral)
    return act.install_service(
        tel,
        dst,
        t + 1.0,
        who,
        service,
        f"%SystemRoot%\\{service}.exe",
        f"C:\\Windows\\{service}.exe",
        execution,
    )


def delete_shadows(tel: Telemetry, host: Host, t: float, parent: Process, label: Label) -> None:
    cmd = act.spawn(
        tel, host, t, parent, CMD, "cmd.exe /c vssadmin.exe delete shadows /all /quiet", label=label
    )
    act.spawn(
        tel,
        host,
        t + 0.1,
        cmd,
        "C:\\Windows\\System32\\vssadmin.exe",
        "vssadmin.exe delete shadows /all /quiet",
        label=label,
    )


_FOLDERS = ("Finance\\2025", "Finance\\2026", "HR\\contracts", "Projects\\alpha", "Projects\\beta", "Public")
_DOCS = (
    "Q{q}-report-{n:03d}.xlsx",
    "contract-{n:04d}.pdf",
    "design-{n:03d}.docx",
    "invoice-{n:05d}.pdf",
    "photo-{n:04d}.jpg",
)


def encrypt_files(
    tel: Telemetry,
    host: Host,
    t: float,
    proc: Process,
    root: str,
    count: int,
    extension: str,
    note: str,
    label: Label,
    rng: random.Random,
) -> float:
    """Mass renames to ``<name><extension>`` (Sysmon 11) and a ransom note per folder; returns end time."""
    done: set[str] = set()
    for i in range(count):
        folder = f"{root}\\{_FOLDERS[i % len(_FOLDERS)]}"
        name = rng.choice(_DOCS).format(q=rng.randrange(1, 5), n=rng.randrange(1, 99999))
        act.file_create(tel, host, t, proc, f"{folder}\\{name}{extension}", label)
        if folder not in done:
            done.add(folder)
            act.file_create(tel, host, t + 0.001, proc, f"{folder}\\{note}", label)
        t += rng.uniform(0.05, 0.6)
    return t


def clear_logs(tel: Telemetry, host: Host, t: float, parent: Process, label: Label) -> None:
    for i, log in enumerate(("Security", "System")):
        act.spawn(
            tel,
            host,
            t + i,
            parent,
            "C:\\Windows\\System32\\wevtutil.exe",
            f"wevtutil.exe cl {log}",
            label=label,
        )
    act.clear_logs(tel, host, t + 2.5, parent, label)


def beacon(
    tel: Telemetry,
    host: Host,
    t: float,
    proc: Process,
    c2_ip: str,
    c2_domain: str,
    label: Label,
    sysmon: bool,
) -> None:
    """One HTTPS check-in: small request, small answer (tasks), a Zeek conn + ssl pair and an EVE flow."""
    rng = tel.rng
    net.https(
        tel,
        t,
        host,
        c2_ip,
        c2_domain,
        proc,
        duration=rng.uniform(0.15, 0.6),
        orig_bytes=rng.randrange(180, 260),
        resp_bytes=rng.randrange(60, 120),
        label=label,
        sysmon=sysmon,
    )
