"""Lateral movement through logon sessions and explicit credentials.

``remote_task_or_service`` joins Security 4624 network logons (type 3) with what the same logon session
did on the same host (``SubjectLogonId`` of the action = ``TargetLogonId`` of the logon): a scheduled
task registered or updated (4698/4702) or a service installed (4697) from another machine.
"""

from __future__ import annotations

import polars as pl

from chainbreaker.alerts import Level
from chainbreaker.detect.analytics.base import Analytic
from chainbreaker.detect.analytics.common import (
    SelectorAnalytic,
    col_or_null,
    empty_findings,
    event_codes,
    evidence_aggs,
    explained,
    lower_base,
    short_host,
)
from chainbreaker.detect.analytics.registry import register

#: Actions worth attributing to a network session: task registered / updated, service installed.
ACTIONS = {4698: "registered task", 4702: "updated task", 4697: "installed service"}


@register
class RemoteSessionPersistence(Analytic):
    id = "remote_task_or_service"
    name = "Scheduled task or service created over a network logon"
    phases = ("actions-on-objectives", "installation")
    techniques = ("T1053.005", "T1543.003", "T1021")
    tactics = ("lateral-movement", "persistence", "execution")
    sources = frozenset({"windows.security"})
    columns = ("event_code", "host", "user", "LogonType", "TargetLogonId", "SubjectLogonId", "TargetUserName",
               "SubjectUserName", "IpAddress", "TaskName", "ServiceName")  # fmt: skip
    rows = event_codes({"windows.security": (4624, *ACTIONS)})
    level = Level.high
    description = (
        "A scheduled task registered/updated (4698/4702) or a service installed (4697) by a logon session "
        "that came in over the network (4624 type 3 from a remote address, same host, same logon id): "
        "remote task or service creation, as schtasks /s, PsExec-like tools and Impacket do."
    )

    def run(self, events: pl.DataFrame) -> pl.DataFrame:
        logons = events.filter(
            (pl.col("event_code") == 4624)
            & (pl.col("LogonType") == "3")
            & ~col_or_null(events, "IpAddress").is_in(["-", "::1", "127.0.0.1", ""]).fill_null(True)
            & ~col_or_null(events, "TargetUserName").str.ends_with("$").fill_null(False)
        ).select(
            "host",
            pl.col("TargetLogonId").str.to_lowercase().alias("_session"),
            pl.col("IpAddress").str.replace(r"^::ffff:", "").alias("_src"),
            pl.col("TargetUserName").alias("_logon_user"),
            pl.col("event_ref").alias("_logon_ref"),
        )
        actions = events.filter(pl.col("event_code").is_in(list(ACTIONS))).with_columns(
            pl.col("SubjectLogonId").str.to_lowercase().alias("_session"),
            pl.col("event_code").replace_strict(ACTIONS, return_dtype=pl.String).alias("_what"),
            pl.coalesce(col_or_null(events, "TaskName"), col_or_null(events, "ServiceName")).alias("_name"),
        )
        if logons.is_empty() or actions.is_empty():
            return empty_findings()
        joined = actions.join(logons.unique(["host", "_session"]), on=["host", "_session"], how="inner")
        if joined.is_empty():
            return empty_findings()
        found = joined.group_by("host", "_session").agg(
            *evidence_aggs(),
            pl.col("_src").first().alias("src_ip"),
            pl.col("_logon_user").first().alias("user"),
            pl.format("{} {}", pl.col("_what"), pl.col("_name").fill_null("?"))
            .unique()
            .sort()
            .alias("_actions"),
        )
        return explained(
            found,
            "{} logged on to {} over the network from {} and {}",
            pl.col("user"),
            pl.col("host"),
            pl.col("src_ip"),
            pl.col("_actions").list.join(", "),
        )


#: Programs that take other credentials to run something on another machine.
REMOTE_TOOLS = (
    "wmic.exe", "powershell.exe", "pwsh.exe", "cmd.exe", "mmc.exe", "net.exe", "net1.exe", "sc.exe",
    "schtasks.exe", "winrs.exe", "psexec.exe", "psexec64.exe", "paexec.exe", "reg.exe", "at.exe",
)  # fmt: skip


@register
class ExplicitCredentialsRemote(SelectorAnalytic):
    id = "explicit_credentials_remote"
    name = "Other account's credentials used against a remote host"
    phases = ("actions-on-objectives",)
    techniques = ("T1078", "T1021")
    tactics = ("lateral-movement", "stealth")
    sources = frozenset({"windows.security"})
    columns = (
        "event_code",
        "host",
        "user",
        "SubjectUserName",
        "TargetUserName",
        "TargetServerName",
        "ProcessName",
    )
    rows = event_codes({"windows.security": (4648,)})
    level = Level.medium
    group_by = ("host", "user", "_server")
    description = (
        "Security 4648: an administration tool (wmic, PowerShell, sc, schtasks, winrs, PsExec...) logs on to "
        "another machine with explicit credentials of a different account (runas /netonly, /user: options)."
    )

    def prepare(self, events: pl.DataFrame) -> pl.DataFrame:
        server = col_or_null(events, "TargetServerName").str.to_lowercase()
        return events.filter(pl.col("event_code") == 4648).with_columns(
            col_or_null(events, "SubjectUserName").alias("user"),
            server.alias("_server"),
            lower_base("ProcessName").alias("_tool"),
            col_or_null(events, "TargetUserName").alias("_as"),
        )

    def selector(self) -> pl.Expr:
        own = short_host(pl.col("host"))
        server = pl.col("_server").str.split(".").list.first()
        return (
            pl.col("_tool").is_in(REMOTE_TOOLS)
            & ~pl.col("_server").is_in(["localhost", "-", "", "127.0.0.1", "::1"])
            & (server != own)
            & (pl.col("_as").str.to_lowercase() != pl.col("user").str.to_lowercase())
        )

    def aggs(self) -> list[pl.Expr]:
        return [pl.col("_tool").unique().sort().alias("_tools"), pl.col("_as").first()]

    def explain(self) -> pl.Expr:
        return pl.format(
            "{} on {} used {}'s credentials against {} with {}",
            pl.col("user"),
            pl.col("host"),
            pl.col("_as"),
            pl.col("_server"),
            pl.col("_tools").list.join(", "),
        )
