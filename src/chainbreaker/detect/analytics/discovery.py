"""Discovery: a burst of distinct reconnaissance commands on one host (whoami, net, nltest, ...)."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from chainbreaker.alerts import Level
from chainbreaker.detect.analytics.base import Params, param
from chainbreaker.detect.analytics.common import SelectorAnalytic
from chainbreaker.detect.analytics.host import (
    PROCESS_COLUMNS,
    PROCESS_ROWS,
    PROCESS_SOURCES,
    is_process_creation,
    with_process_names,
)
from chainbreaker.detect.analytics.registry import register

#: Programs whose main use is learning about the host, the domain or the network.
DISCOVERY_IMAGES = (
    "whoami.exe", "net.exe", "net1.exe", "nltest.exe", "ipconfig.exe", "systeminfo.exe", "hostname.exe",
    "quser.exe", "qwinsta.exe", "tasklist.exe", "arp.exe", "route.exe", "netstat.exe", "nslookup.exe",
    "dsquery.exe", "adfind.exe", "klist.exe", "setspn.exe", "nbtstat.exe", "query.exe", "cmdkey.exe",
    "getmac.exe", "ver.exe", "gpresult.exe", "csvde.exe", "ldifde.exe",
)  # fmt: skip

#: Command-line fragments of discovery through PowerShell / WMI (AD queries, WMI classes).
DISCOVERY_COMMANDS = (
    r"get-ad(user|computer|group|domain|trust|forest)|get-net(domain|user|computer|group)|get-domain"
    r"|adsisearcher|directorysearcher|win32_(computersystem|operatingsystem|useraccount|group|share)"
    r"|get-localgroup|get-localuser|nltest |domain_trusts|dclist"
)


@dataclass(frozen=True, slots=True)
class DiscoveryParams(Params):
    window: str = param("15m", "time bucket per host (Polars duration)")
    min_distinct: int = param(4, "distinct discovery programs/commands per host per bucket")


@register
class DiscoveryBurst(SelectorAnalytic):
    id = "discovery_burst"
    name = "Burst of discovery commands"
    phases = ("reconnaissance", "actions-on-objectives")
    techniques = ("T1033", "T1087", "T1016", "T1082", "T1482")
    tactics = ("discovery",)
    sources = PROCESS_SOURCES
    columns = PROCESS_COLUMNS
    rows = PROCESS_ROWS
    level = Level.medium
    params_type = DiscoveryParams
    group_by = ("host",)
    description = (
        "Several distinct discovery programs or AD/WMI queries started on one host within a short window "
        "(Sysmon 1 / Security 4688). Admins run one or two; hands-on-keyboard intruders run a series."
    )

    def prepare(self, events: pl.DataFrame) -> pl.DataFrame:
        events = with_process_names(events.filter(is_process_creation()))
        verb = pl.col("_cmd").str.extract(f"({DISCOVERY_COMMANDS})", 1)
        return events.with_columns(
            pl.when(pl.col("_image").is_in(DISCOVERY_IMAGES))
            .then(pl.col("_image").replace("net1.exe", "net.exe"))  # net.exe starts net1.exe: one command
            .otherwise(verb)
            .alias("_what")
        )

    def selector(self) -> pl.Expr:
        return pl.col("_what").is_not_null()

    def aggs(self) -> list[pl.Expr]:
        return [pl.col("_what").unique().sort().alias("_whats")]

    def having(self) -> pl.Expr:
        assert isinstance(self.params, DiscoveryParams)
        return pl.col("_whats").list.len() >= self.params.min_distinct

    def explain(self) -> pl.Expr:
        return pl.format(
            "{} distinct discovery commands on {} within {}: {}",
            pl.col("_whats").list.len(),
            pl.col("host"),
            pl.lit(getattr(self.params, "window", "")),
            pl.col("_whats").list.join(", "),
        )
