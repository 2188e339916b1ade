"""Entity resolution: one key per host, account and address however the sources spell them.

* Hosts: ``WKS-05``, ``wks-05.corp.example`` and ``WKS-05.CORP.EXAMPLE`` are one host, keyed by the
  lower-case short name (the first DNS label). An IP literal in a host field stays an address.
* Accounts: ``CORP\\alice``, ``alice@corp.example`` and ``alice`` are one account, keyed by the
  lower-case user name. Accounts that cannot tell one intrusion from another are never used to link
  alerts: machine accounts (``WKS-05$``), well-known and service SIDs (S-1-5-18 SYSTEM, S-1-5-19/20,
  S-1-5-32-*, ...) and built-in service names. Local accounts (domain = the host) link only on
  their own host (``WKS-05\\Administrator`` on WKS-05 is not the same account as on FS-01; a bare
  ``Administrator`` is taken as local, ``CORP\\Administrator`` as the domain's).
* Addresses: IPv4/IPv6 literals in canonical form; ``-``, ``0.0.0.0`` and unparsable values dropped.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache

#: Account names that every Windows or Linux host has and that never identify an intruder's account.
SERVICE_ACCOUNTS = frozenset(
    {
        "system",
        "local system",
        "localsystem",
        "local service",
        "localservice",
        "network service",
        "networkservice",
        "anonymous logon",
        "anonymous",
        "nt authority\\system",
        "dwm-1",
        "umfd-0",
        "umfd-1",
        "-",
        "n/a",
        "",
    }
)
#: Names that exist separately on every host (linking them across hosts would merge strangers).
PER_HOST_ACCOUNTS = frozenset({"administrator", "root", "guest", "defaultaccount", "wdagutilityaccount"})

_SID = re.compile(r"^S-1-\d+(-\d+)*$", re.IGNORECASE)
# Domain SIDs (S-1-5-21-...) identify real accounts; other S-1-5-x (x < 21) are well-known principals.
_DOMAIN_SID = re.compile(r"^S-1-5-21-\d+-\d+-\d+-\d+$", re.IGNORECASE)
_NOT_AN_ADDRESS = frozenset({"", "-", "0.0.0.0", "::", "unknown"})
_NOT_A_HOST = frozenset({"", "-", "localhost", "null", "none", "unknown", "n/a", "(null)"})


@lru_cache(maxsize=65536)
def normalise_address(value: str | None) -> str | None:
    """Canonical text of an IP address (``::ffff:10.0.0.5`` -> ``10.0.0.5``), or None."""
    if value is None:
        return None
    text = str(value).strip().strip("[]")
    if text.lower() in _NOT_AN_ADDRESS:
        return None
    try:
        ip = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_unspecified or ip.is_multicast:
        return None
    return str(ip)


def is_loopback(address: str) -> bool:
    """True for 127.0.0.0/8 and ::1 (an already normalised address)."""
    return address.startswith("127.") or address == "::1"


def is_address(value: str | None) -> bool:
    return normalise_address(value) is not None


@lru_cache(maxsize=65536)
def normalise_host(value: str | None) -> str | None:
    """Host key: lower-case short name; None for empty values and address literals."""
    if value is None:
        return None
    text = str(value).strip().rstrip(".")
    if not text or text.lower() in _NOT_A_HOST or is_address(text):
        return None
    return text.split(".", 1)[0].lower() or None


def split_account(value: str) -> tuple[str | None, str]:
    """``CORP\\alice`` -> ("corp", "alice"); ``alice@corp.example`` -> ("corp", "alice")."""
    text = value.strip()
    if "\\" in text:
        domain, _, name = text.rpartition("\\")
        name = name.split("@", 1)[0]  # CORP.EXAMPLE\\alice@CORP.EXAMPLE (Kerberos client names)
        return domain.split(".", 1)[0].lower() or None, name.lower()
    if "@" in text:
        name, _, domain = text.partition("@")
        return domain.split(".", 1)[0].lower() or None, name.lower()
    return None, text.lower()


def normalise_user(
    value: str | None, host: str | None = None, ignore: frozenset[str] | tuple[str, ...] = ()
) -> str | None:
    """Account key used to link alerts, or None when the account must not link anything.

    ``host`` is the host key of the alert: an account whose domain is that host is local to it and
    keyed ``host\\name`` so it only links alerts on that host.
    """
    if value is None:
        return None
    text = str(value).strip()
    if _SID.match(text):
        return text.lower() if _DOMAIN_SID.match(text) else None
    domain, name = split_account(text)
    if not name or name.endswith("$") or name in SERVICE_ACCOUNTS or text.lower() in SERVICE_ACCOUNTS:
        return None
    if name in ignore or (domain in {"nt authority", "nt service", "font driver host", "window manager"}):
        return None
    local = domain is None or (host is not None and domain == host)
    if (name in PER_HOST_ACCOUNTS and local) or (domain is not None and domain == host):
        return f"{host}\\{name}" if host else None
    if name in PER_HOST_ACCOUNTS:  # the domain's own Administrator: one account on every host
        return f"{domain}\\{name}"
    return name
