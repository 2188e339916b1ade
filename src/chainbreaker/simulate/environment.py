"""The simulated organisation: hosts, addresses, accounts and the external services they use.

Addresses are stable per host across every source (Security 4624 IpAddress, Sysmon 3 SourceIp,
Zeek id.orig_h, Suricata src_ip), so correlation can join network records to hosts.
Internal addresses are RFC 1918; the organisation's public address is RFC 5737 TEST-NET-1.
"""

from __future__ import annotations

import random

from chainbreaker.simulate.model import Environment, Host, SimConfig, Site, User

DOMAIN = "corp.example"
NETBIOS = "CORP"
PUBLIC_IP = "192.0.2.10"

#: Fictional staff (first, last). Account names are first initial + last name.
_PEOPLE = (
    ("Amelia", "Hart"),
    ("Bruno", "Silva"),
    ("Chen", "Wei"),
    ("Dara", "Okafor"),
    ("Elena", "Petrova"),
    ("Farid", "Haddad"),
    ("Grace", "Lindqvist"),
    ("Hugo", "Marchetti"),
    ("Ines", "Moreau"),
    ("Jonas", "Becker"),
    ("Kiri", "Tane"),
    ("Laila", "Rahimi"),
    ("Marek", "Novak"),
    ("Nora", "Quinn"),
    ("Omar", "Saleh"),
    ("Priya", "Nair"),
    ("Quentin", "Dubois"),
    ("Rosa", "Alvarez"),
    ("Sven", "Olsen"),
    ("Tomoko", "Ito"),
    ("Uma", "Reddy"),
    ("Victor", "Kowalski"),
    ("Wen", "Zhao"),
    ("Yusuf", "Demir"),
)

#: Benign external services. Domains are the real services ordinary endpoints reach; the addresses
#: are fixed so that output is deterministic.
SITES = (
    Site("www.microsoft.com", "23.45.120.12"),
    Site("login.microsoftonline.com", "20.190.160.20"),
    Site("outlook.office365.com", "52.97.146.162", kind="mail"),
    Site("teams.microsoft.com", "52.113.194.132"),
    Site("www.google.com", "142.250.74.36"),
    Site("fonts.gstatic.com", "142.250.74.67"),
    Site("www.wikipedia.org", "185.15.58.224"),
    Site("github.com", "140.82.121.4"),
    Site("www.bbc.co.uk", "151.101.0.81"),
    Site("cdn.jsdelivr.net", "151.101.1.229"),
    Site("slack.com", "52.85.61.45"),
    Site("zoom.us", "170.114.52.2"),
    Site("www.linkedin.com", "13.107.42.14"),
    Site("weather.com", "23.64.112.49"),
    Site("ctldl.windowsupdate.com", "93.184.221.240", port=80, kind="update"),
    Site("settings-win.data.microsoft.com", "20.42.65.92", kind="update"),
    Site("time.windows.com", "168.61.215.74", port=123, kind="ntp"),
)


def _sid(domain_sid: str, rid: int) -> str:
    return f"{domain_sid}-{rid}"


def build_environment(config: SimConfig, roles: tuple[str, ...] = ()) -> Environment:
    """Hosts for ``config.hosts`` Windows machines: a DC, a file server, the extra ``roles`` a scenario
    needs (mft, terminal), workstations for the rest, and one Linux admin/monitoring server."""
    rng = random.Random(f"environment:{config.seed}")
    domain_sid = "S-1-5-21-" + "-".join(str(rng.randrange(10**9, 4 * 10**9)) for _ in range(3))
    people = list(_PEOPLE)
    rng.shuffle(people)
    users: list[User] = []
    n_workstations = config.hosts - 2 - len(roles)
    if n_workstations < 1:
        raise ValueError(f"{config.hosts} hosts leave no workstation next to the roles {roles}")
    for i in range(max(n_workstations + (1 if "terminal" in roles else 0), 1)):
        first, last = people[i % len(people)]
        suffix = "" if i < len(people) else str(i // len(people) + 1)
        users.append(
            User(f"{first[0].lower()}{last.lower()}{suffix}", f"{first} {last}", _sid(domain_sid, 1104 + i))
        )
    admin = User("adm.okafor", "Dara Okafor (admin)", _sid(domain_sid, 1101), admin=True)
    services = (
        User("svc_sql", "SQL Service", _sid(domain_sid, 1102), spn="MSSQLSvc/sql01.corp.example:1433"),
        User("svc_backup", "Backup Service", _sid(domain_sid, 1103), spn="HTTP/backup01.corp.example"),
    )
    hosts: list[Host] = []

    def add(name: str, ip: str, role: str, user: User | None = None, os: str = "windows") -> None:
        prefix = f"{rng.getrandbits(32):08X}"
        hosts.append(Host(name, ip, role, os, DOMAIN, user, prefix))

    add("DC-01", "10.10.0.10", "dc")
    add("FS-01", "10.10.0.20", "fileserver")
    if "mft" in roles:
        add("MFT-01", "10.20.0.5", "mft")
    if "terminal" in roles:
        add("TS-01", "10.10.0.40", "terminal", users[-1])
    for i in range(n_workstations):
        add(f"WKS-{i + 1:02d}", f"10.10.{1 + (i // 250)}.{11 + i % 250}", "workstation", users[i])
    add("lnx-mon01", "10.10.0.30", "linux", None, os="linux")
    return Environment(
        domain=DOMAIN,
        netbios=NETBIOS,
        domain_sid=domain_sid,
        hosts=tuple(hosts),
        users=(admin, *services, *users),
        public_ip=PUBLIC_IP,
        sites=SITES,
    )
