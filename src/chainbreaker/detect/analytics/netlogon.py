"""Zerologon (CVE-2020-1472) seen from the domain controller: a Netlogon failure naming the DC itself.

NETLOGON 5805 ("The session setup from the computer %1 failed to authenticate") is routine on a
domain controller when a member's machine password is stale; %1 is then that member. The Zerologon
exploit authenticates to a controller *as the controller's own machine account*, and a controller
never sets up a Netlogon secure channel to itself, so a 5805 on host X naming X is the exploit (or a
tool testing for it).

Why an analytic and not a Sigma rule: the test compares parts of two fields of one event (the first
unnamed ``Data`` item and the first DNS label of ``Computer``); Sigma's ``fieldref`` modifier
compares whole values (equal, starts with, ends with), which cannot cut either side honestly.

No "burst of 5805" signal: Netlogon writes an identical event again only after its
``DuplicateEventlogTimeout`` (default four hours), so the exploit's hundreds of failed attempts log
one 5805 on a default controller (the public sample holds exactly one). A count threshold would
need that setting changed, and the self-naming test already fires on the first event.
"""

from __future__ import annotations

import polars as pl

from chainbreaker.alerts import Level
from chainbreaker.detect.analytics.common import SelectorAnalytic, col_or_null, event_codes, short_host
from chainbreaker.detect.analytics.registry import register

#: NetBIOS computer names are at most 15 characters: a longer DNS host label appears cut there.
NETBIOS_MAX = 15


def named_computer(data: pl.Expr) -> pl.Expr:
    """The computer a 5805 names (%1): the first unnamed ``Data`` item (the readers join several with
    ``", "``), trimmed, in its own spelling; null when absent."""
    first = data.str.split(", ").list.first().str.strip_chars()
    return pl.when(first != "").then(first)


def names_itself(named: pl.Expr, host: pl.Expr) -> pl.Expr:
    """True when the named computer is the logging host: its NetBIOS name equals the host's first DNS
    label, case-insensitively, or is that label cut at :data:`NETBIOS_MAX` characters."""
    name = named.str.to_lowercase().str.strip_suffix("$")
    label = short_host(host.str.strip_chars())
    cut = (name.str.len_chars() == NETBIOS_MAX) & (label.str.len_chars() > NETBIOS_MAX)
    return (name == label) | (cut & label.str.starts_with(name))


@register
class NetlogonSelfSession(SelectorAnalytic):
    id = "netlogon_self_session"
    name = "Domain controller's own account fails Netlogon session setup (Zerologon)"
    phases = ("exploitation",)
    techniques = ("T1212", "T1210")
    tactics = ("credential-access", "lateral-movement")
    sources = frozenset({"windows.system"})
    columns = ("event_code", "host", "provider", "Data")
    rows = event_codes({"windows.system": (5805,)})
    level = Level.high
    group_by = ("host",)
    description = (
        "NETLOGON 5805 (session setup failed to authenticate) on a host naming that host itself (first "
        "Data item = short name of Computer, case-insensitive): a domain controller never sets up a "
        "secure channel to itself, the Zerologon exploit (CVE-2020-1472) authenticates as the "
        "controller's own machine account. 5805s naming workstations or other controllers are ignored."
    )

    def prepare(self, events: pl.DataFrame) -> pl.DataFrame:
        named = named_computer(col_or_null(events, "Data"))
        return events.with_columns(named.alias("_named")).with_columns(
            pl.format("{}$", pl.col("_named").str.strip_suffix("$")).alias("user")
        )

    def selector(self) -> pl.Expr:
        netlogon = pl.col("provider").str.to_lowercase().eq("netlogon").fill_null(True)
        return (pl.col("event_code") == 5805) & netlogon & names_itself(pl.col("_named"), pl.col("host"))

    def explain(self) -> pl.Expr:
        return pl.format(
            "{} NETLOGON 5805 failure(s) on {} for session setup from {} (machine account {}): the "
            "controller's own account, which only the Zerologon exploit (CVE-2020-1472) presents to itself",
            pl.col("count"),
            pl.col("host"),
            pl.col("user").str.strip_suffix("$"),
            pl.col("user"),
        )
