from __future__ import annotations

import pytest

from chainbreaker.correlate.entities import normalise_address, normalise_host, normalise_user


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("WKS-05", "wks-05"),
        ("wks-05.corp.example", "wks-05"),
        ("WKS-05.CORP.EXAMPLE.", "wks-05"),
        ("  FS-01 ", "fs-01"),
        ("10.0.0.5", None),  # an address is not a host name
        ("-", None),
        ("NULL", None),
        ("", None),
        (None, None),
    ],
)
def test_host_keys(raw: str | None, key: str | None) -> None:
    assert normalise_host(raw) == key


@pytest.mark.parametrize(
    ("raw", "host", "key"),
    [
        ("CORP\\alice", "wks-05", "alice"),
        ("alice@corp.example", "wks-05", "alice"),
        ("CORP.EXAMPLE\\alice@CORP.EXAMPLE", "wks-05", "alice"),
        ("Alice", None, "alice"),
        ("CORP\\WKS-05$", "wks-05", None),  # machine account
        ("NT AUTHORITY\\SYSTEM", "wks-05", None),
        ("NT AUTHORITY\\NETWORK SERVICE", "wks-05", None),
        ("S-1-5-18", None, None),  # well-known SID: LocalSystem
        ("S-1-5-32-544", None, None),  # builtin Administrators
        (
            "S-1-5-21-1004336348-1177238915-682003330-1104",
            None,
            "s-1-5-21-1004336348-1177238915-682003330-1104",
        ),
        ("WKS-05\\helpdesk", "wks-05", "wks-05\\helpdesk"),  # local account: its domain is the host
        ("Administrator", "fs-01", "fs-01\\administrator"),  # exists on every host
        ("CORP\\Administrator", "fs-01", "corp\\administrator"),  # the domain's: links across hosts
        ("FS-01\\Administrator", "fs-01", "fs-01\\administrator"),
        ("root", None, None),
        ("-", "wks-05", None),
    ],
)
def test_account_keys(raw: str, host: str | None, key: str | None) -> None:
    assert normalise_user(raw, host) == key


def test_ignored_accounts_from_config() -> None:
    assert normalise_user("CORP\\svc_backup", "fs-01", ("svc_backup",)) is None


@pytest.mark.parametrize(
    ("raw", "ip"),
    [
        ("10.0.0.5", "10.0.0.5"),
        ("::ffff:10.0.0.5", "10.0.0.5"),
        ("[fe80::1%12]", "fe80::1"),
        ("-", None),
        ("0.0.0.0", None),
        ("224.0.0.251", None),
        ("not-an-ip", None),
    ],
)
def test_address_keys(raw: str, ip: str | None) -> None:
    assert normalise_address(raw) == ip
