"""Benign activity on Windows hosts: browsing, applications, mail, file shares, logons, admin scripts.

Each activity takes (telemetry, host, time, rng) and emits what an ordinary user or server leaves.
``WORKSTATION`` and ``SERVER`` weight them per host role.
"""

from __future__ import annotations

import math
import random

from chainbreaker.simulate import hostactions as act
from chainbreaker.simulate import network as net
from chainbreaker.simulate.model import Host
from chainbreaker.simulate.telemetry import Process, Telemetry

_APPS = (
    (
        "C:\\Program Files\\Microsoft Office\\root\\Office16\\EXCEL.EXE",
        '"{img}" "C:\\Users\\{u}\\Documents\\budget-2026.xlsx"',
    ),
    (
        "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE",
        '"{img}" /n "C:\\Users\\{u}\\Documents\\minutes.docx"',
    ),
    ("C:\\Windows\\System32\\notepad.exe", '"{img}" C:\\Users\\{u}\\Desktop\\todo.txt'),
    (
        "C:\\Users\\{u}\\AppData\\Local\\Microsoft\\Teams\\current\\Teams.exe",
        '"{img}" --processStart "Teams.exe"',
    ),
    (
        "C:\\Program Files\\Adobe\\Acrobat DC\\Acrobat\\Acrobat.exe",
        '"{img}" "C:\\Users\\{u}\\Downloads\\report.pdf"',
    ),
    ("C:\\Windows\\System32\\mspaint.exe", '"{img}"'),
    ("C:\\Windows\\System32\\SnippingTool.exe", '"{img}"'),
)
#: (parent process key, image, command line) of background work, each under the parent Windows
#: starts it from: COM servers under the DCOM launcher, scheduled tasks under the Task Scheduler's
#: svchost, search filter hosts under SearchIndexer, service hosts under services.exe (every real
#: svchost.exe is a child of services.exe).
_SYSTEM_TASKS = (
    (
        "dcomlaunch",
        "C:\\Windows\\System32\\backgroundTaskHost.exe",
        '"C:\\Windows\\system32\\backgroundTaskHost.exe" -ServerName:BackgroundTaskHost.WebAccountProvider',
    ),
    (
        "taskeng",
        "C:\\Windows\\System32\\taskhostw.exe",
        "taskhostw.exe -RegisterDevice -ProtectionStateChanged -FreeNetworkOnly",
    ),
    (
        "searchindexer",
        "C:\\Windows\\System32\\SearchProtocolHost.exe",
        '"C:\\Windows\\system32\\SearchProtocolHost.exe" '
        "Global\\UsGthrFltPipeMssGthrPipe1_ Global\\UsGthrCtrlFltPipeMssGthrPipe1",
    ),
    (
        "taskeng",
        "C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.24090.11-0\\MpCmdRun.exe",
        '"C:\\ProgramData\\Microsoft\\Windows '
        'Defender\\Platform\\4.18.24090.11-0\\MpCmdRun.exe" -SignatureUpdate -ScheduleJob',
    ),
    (
        "dcomlaunch",
        "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe",
        "C:\\Windows\\system32\\wbem\\wmiprvse.exe -secured -Embedding",
    ),
    (
        "services",
        "C:\\Windows\\System32\\svchost.exe",
        "C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s wuauserv",
    ),
)
#: A per-user service host, started by services.exe in the signed-in user's context.
_USER_SERVICE = (
    "C:\\Windows\\System32\\svchost.exe",
    "C:\\Windows\\system32\\svchost.exe -k UnistackSvcGroup -s CDPUserSvc",
)
_SHARES = ("Projects", "Finance", "HR", "Public")
_URIS = ("/", "/index.html", "/news", "/static/app.js", "/api/v1/status", "/favicon.ico")
_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)


def _size(rng: random.Random, median: int, floor: int) -> int:
    """Bytes of one web or mail exchange: heavy-tailed (log-normal) like real transfer sizes, not uniform."""
    return max(floor, int(rng.lognormvariate(math.log(median), 1.1)))


def _base(tel: Telemetry, host: Host, key: str, t: float, image: str, cmd: str) -> Process:
    """A long-lived user process (chrome, outlook), started with records the first time it is needed."""
    st = tel.state(host)
    p = st.base.get(key)
    if p is None:
        p = act.spawn(tel, host, t, st.base["explorer"], image, cmd)
        st.base[key] = p
    return p


def _browse(tel: Telemetry, host: Host, t: float, rng: random.Random) -> None:
    site = rng.choice([s for s in tel.env.sites if s.kind == "web"])
    chrome = _base(
        tel,
        host,
        "chrome",
        t,
        "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
        '"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe"',
    )
    net.resolve(tel, t, host, site.domain, [site.ip], proc=chrome, sysmon=rng.random() < 0.3)
    t1 = t + 0.05
    if rng.random() < 0.15:
        net.connect(
            tel,
            t1,
            host,
            site.ip,
            80,
            proc=chrome,
            service="http",
            dst_name=site.domain,
            duration=rng.uniform(0.1, 2),
            orig_bytes=rng.randrange(300, 900),
            resp_bytes=rng.randrange(2000, 90000),
            http=net.Http("GET", site.domain, rng.choice(_URIS), _UA, 200, 0, rng.randrange(2000, 90000)),
            sysmon=rng.random() < 0.3,
        )
    else:
        net.https(
            tel,
            t1,
            host,
            site.ip,
            site.domain,
            chrome,
            duration=rng.uniform(0.2, 40),
            orig_bytes=_size(rng, 3_000, 800),
            resp_bytes=_size(rng, 60_000, 3_000),
            sysmon=rng.random() < 0.3,
        )


def _app(tel: Telemetry, host: Host, t: float, rng: random.Random) -> None:
    user = host.user.sam if host.user else "Public"
    image, cmd = rng.choice(_APPS)
    image = image.replace("{u}", user)
    p = act.spawn(
        tel,
        host,
        t,
        tel.state(host).base["explorer"],
        image,
        cmd.replace("{img}", image).replace("{u}", user),
    )
    if rng.random() < 0.3:
        act.file_create(
            tel,
            host,
            t + rng.uniform(5, 120),
            p,
            f"C:\\Users\\{user}\\Documents\\notes-{rng.randrange(100, 999)}.txt",
        )


def _system_task(tel: Telemetry, host: Host, t: float, rng: random.Random) -> None:
    base = tel.state(host).base
    session = base.get("explorer")
    if session is not None and rng.random() < 1 / (len(_SYSTEM_TASKS) + 1):
        image, cmd = _USER_SERVICE
        user = (session.user, session.logon_id, session.user_sid)
        act.spawn(tel, host, t, base["services"], image, cmd, integrity="Medium", user=user)
        return
    parent, image, cmd = rng.choice(_SYSTEM_TASKS)
    act.spawn(tel, host, t, base[parent], image, cmd, integrity="System")


def _registry(tel: Telemetry, host: Host, t: float, rng: random.Random) -> None:
    """Explorer's own bookkeeping: recent documents and program-launch counters (Sysmon 13)."""
    explorer = tel.state(host).base["explorer"]
    user = host.user
    assert user is not None
    hive = f"HKU\\{user.sid}\\Software\\Microsoft\\Windows\\CurrentVersion\\Explorer"
    key, details = rng.choice(
        (
            (f"{hive}\\RecentDocs\\.docx\\{rng.randrange(0, 20)}", "Binary Data"),
            (f"{hive}\\RecentDocs\\.xlsx\\MRUListEx", "Binary Data"),
            (
                f"{hive}\\UserAssist\\{{CEBFF5CD-ACE2-4F4F-9178-9926F41749EA}}\\Count\\HRZR_PGYFRFFVBA",
                "Binary Data",
            ),
            (
                f"{hive}\\FeatureUsage\\AppSwitched\\Microsoft.Office.EXCEL.EXE.15",
                f"DWORD (0x{rng.randrange(1, 400):08x})",
            ),
        )
    )
    act.registry(tel, host, t, explorer, key, details)


def _share(tel: Telemetry, host: Host, t: float, rng: random.Random) -> None:
    env = tel.env
    fs, dc = env.first("fileserver"), env.dc
    assert host.user is not None
    act.service_ticket(tel, dc, t, host.user, fs, "0x12", host.ip)
    port = tel.port(host)
    net.connect(
        tel,
        t + 0.01,
        host,
        fs.ip,
        445,
        src_port=port,
        service="smb,gssapi",
        duration=rng.uniform(1, 60),
        orig_bytes=rng.randrange(2000, 60000),
        resp_bytes=rng.randrange(5000, 4_000_000),
        sysmon=False,
    )
    lid = act.logon(tel, fs, t + 0.02, host.user, 3, host.ip, port, host.name)
    act.share_access(
        tel, fs, t + 0.03, act.session(tel, host.user, lid), host.ip, port, rng.choice(_SHARES), None
    )


def _mail(tel: Telemetry, host: Host, t: float, rng: random.Random) -> None:
    site = next(s for s in tel.env.sites if s.kind == "mail")
    outlook = _base(
        tel,
        host,
        "outlook",
        t,
        "C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE",
        '"C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE"',
    )
    net.https(
        tel,
        t,
        host,
        site.ip,
        site.domain,
        outlook,
        duration=rng.uniform(1, 30),
        orig_bytes=_size(rng, 6_000, 2_000),
        resp_bytes=_size(rng, 40_000, 5_000),
        sysmon=rng.random() < 0.2,
    )


def _failed_logon(tel: Telemetry, host: Host, t: float, rng: random.Random) -> None:
    assert host.user is not None
    act.failed_logon(tel, host, t, host.user.sam, 2, "127.0.0.1", 0, host.name)
    act.logon(tel, host, t + rng.uniform(4, 15), host.user, 2, "127.0.0.1", 0, host.name, package="Negotiate")


def _server_logon(tel: Telemetry, host: Host, t: float, rng: random.Random) -> None:
    """Service-account network logons and ticket requests that servers see all day."""
    env = tel.env
    client = rng.choice([h for h in env.windows_hosts if h.role == "workstation"])
    user = client.user or env.users[0]
    if host.role == "dc":
        act.service_ticket(
            tel,
            host,
            t,
            user,
            rng.choice([h for h in env.windows_hosts if h.role != "dc"]),
            "0x12",
            client.ip,
        )
    else:
        act.logon(tel, host, t, user, 3, client.ip, tel.port(client), client.name)


def _admin_script(tel: Telemetry, host: Host, t: float, rng: random.Random) -> None:
    svchost = tel.state(host).base["taskeng"]
    ps = act.spawn(
        tel,
        host,
        t,
        svchost,
        "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
        "powershell.exe -NoProfile -File C:\\Scripts\\inventory.ps1",
        integrity="System",
    )
    act.script_block(
        tel,
        host,
        t + 0.5,
        ps,
        rng.choice(
            (
                "Get-CimInstance Win32_LogicalDisk | Select-Object "
                "DeviceID, FreeSpace | Export-Csv C:\\Scripts\\disk.csv",
                "Get-Service | Where-Object { $_.Status -eq 'Stopped' -and $_.StartType -eq 'Automatic' }",
                "Get-HotFix | Sort-Object InstalledOn -Descending | Select-Object -First 5",
            )
        ),
    )


WORKSTATION = (
    (_browse, 40),
    (_registry, 5),
    (_app, 12),
    (_system_task, 15),
    (_share, 8),
    (_mail, 15),
    (_failed_logon, 1),
)
SERVER = ((_system_task, 30), (_server_logon, 50), (_admin_script, 3))
