"""Detection pass 5, lateral movement and command and control (d6): each d6 correlation rule on a
positive and a negative stream.

The streams are built here from the technique (a WAR deployed through the Tomcat manager, then
POSTs to a JSP page; an inbound SMB connection, then the host's SMB client connecting back to the
caller; WinRM authentications of one account) and go through the real Sigma detector with every
shipped rule loaded; the negative stream is the near miss (another client, too late, another
peer, failed authentications).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from test_shipped_correlation_rules import at, names_of, run, stream_tests, sysmon

from chainbreaker.alerts import Alert
from chainbreaker.readers.windows_fields import channel_source

Stream = list[dict[str, Any]]

WEB = {"source": "web.access", "channel": "access"}
WINRM = "Microsoft-Windows-WinRM/Operational"


def winrm(seconds: float, event_id: int, **fields: Any) -> dict[str, Any]:
    return at(
        seconds,
        source=channel_source(WINRM),
        channel=WINRM,
        Channel=WINRM,
        Provider_Name="Microsoft-Windows-WinRM",
        event_code=event_id,
        EventID=str(event_id),
        Computer="WKS-01",
        **fields,
    )


def winrm_authentications(event_id: int, users: list[str], step: float = 0.4) -> Stream:
    """A remote command: each account authenticates three times within about a second."""
    return [
        winrm(i * step, event_id, username=user, authenticationMechanism="NTLM")
        for user in users
        for i in range(3)
    ]


def request(seconds: float, client: str, method: str, stem: str, status: str = "200") -> dict[str, Any]:
    return at(
        seconds,
        **WEB,
        **{"c-ip": client, "cs-method": method, "cs-uri-stem": stem, "c-uri": stem, "sc-status": status},
    )


def deploy_then_post(poster: str, delay: float) -> Stream:
    """A WAR uploaded through the manager by 10.20.0.41, then ``poster`` POSTs to a JSP ``delay`` s later."""
    return [
        request(0, "10.20.0.41", "POST", "/manager/html/upload"),
        request(delay, poster, "GET", "/reports/cmd.jsp"),
        request(delay + 5, poster, "POST", "/reports/cmd.jsp"),
    ]


def post_then_deploy() -> Stream:
    """The same client POSTs to a JSP first and deploys afterwards: not a shell being driven."""
    return [
        request(0, "10.20.0.41", "POST", "/reports/cmd.jsp"),
        request(60, "10.20.0.41", "POST", "/manager/html/upload"),
    ]


def smb_callback(peer: str, delay: float, local_first: bool = False) -> Stream:
    """10.20.0.41 connects to this host's SMB server, then System connects to ``peer``:445.

    ``local_first``: the inbound connection reported local-address-first (older Sysmon)."""
    client = {"SourceIp": "10.20.0.41", "SourcePort": "50312"}
    server = {"SourceIp": "10.20.0.5", "SourcePort": "445"}
    first, second = (server, client) if local_first else (client, server)
    inbound = {
        **first,
        "DestinationIp": second["SourceIp"],
        "DestinationPort": second["SourcePort"],
    }
    return [
        sysmon(0, 3, Image="System", Initiated="false", **inbound),
        sysmon(
            delay,
            3,
            Image="System",
            Initiated="true",
            SourceIp="10.20.0.5",
            SourcePort="62733",
            DestinationIp=peer,
            DestinationPort="445",
        ),
    ]


CASES: dict[str, tuple[Callable[[], Stream], Callable[[], Stream]]] = {
    # Three authentications of one account -> one alert; three failed ones (161) -> none.
    "winrm_inbound_authenticated_session": (
        lambda: winrm_authentications(169, ["CORP\\j.admin"]),
        lambda: winrm_authentications(161, ["CORP\\j.admin"]),
    ),
    # The deploying client POSTs to a JSP 20 minutes later -> fires; another client does -> not.
    "webshell_operated_after_manager_deploy": (
        lambda: deploy_then_post("10.20.0.41", 1200),
        lambda: deploy_then_post("10.20.0.77", 1200),
    ),
    # System calls back the host that connected, a fraction of a second later -> fires;
    # it connects to a third host (its file server) -> does not.
    "smb_coerced_authentication_callback": (
        lambda: smb_callback("10.20.0.41", 0.05),
        lambda: smb_callback("10.20.0.9", 0.05),
    ),
    "smb_coerced_authentication_callback_local_source": (
        lambda: smb_callback("10.20.0.41", 0.05, local_first=True),
        lambda: smb_callback("10.20.0.41", 120, local_first=True),
    ),
}


test_positive_stream_fires, test_negative_stream_does_not_fire = stream_tests(CASES)


def test_deploy_must_come_first_and_within_the_hour() -> None:
    assert "webshell_operated_after_manager_deploy" not in names_of(run(post_then_deploy()))
    late = deploy_then_post("10.20.0.41", 2 * 3600)
    assert "webshell_operated_after_manager_deploy" not in names_of(run(late))


def test_winrm_authentications_are_reported_once_per_account_and_episode() -> None:
    two_accounts = names_of(run(winrm_authentications(169, ["CORP\\j.admin", "CORP\\svc.deploy"])))
    assert len(two_accounts["winrm_inbound_authenticated_session"]) == 2
    later = winrm(3 * 3600, 169, username="CORP\\j.admin", authenticationMechanism="NTLM")
    hours_apart = [*winrm_authentications(169, ["CORP\\j.admin"]), later]
    assert len(names_of(run(hours_apart))["winrm_inbound_authenticated_session"]) == 2
    titles = {a.title for a in run(winrm_authentications(169, ["CORP\\j.admin"]))}
    assert "Client Authenticated to the WinRM Service" not in titles


def test_feeders_stay_silent_and_tactics_follow_attack() -> None:
    alerts: list[Alert] = run(deploy_then_post("10.20.0.41", 60) + smb_callback("10.20.0.41", 0.05))
    titles = {a.title for a in alerts}
    assert "Successful POST to a Java Server Page or Web Application Root" not in titles
    assert "Tomcat manager deploy step of the web-shell chain" not in titles
    assert "Inbound SMB Connection Accepted by the SMB Server (System)" not in titles
    fired = names_of(alerts)
    assert "command-and-control" in fired["webshell_operated_after_manager_deploy"][0].tactics
    assert tuple(fired["smb_coerced_authentication_callback"][0].tactics) == ("credential-access",)
    # The alerting Tomcat deploy rule is not referenced by a correlation, so it still alerts.
    assert "Application Deployed Through The Tomcat Manager" in titles
