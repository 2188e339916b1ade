"""Credential dumping: LSASS memory access, dumping command lines, DCSync."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from chainbreaker.alerts import Level
from chainbreaker.detect.analytics.base import Params, param
from chainbreaker.detect.analytics.common import (
    SelectorAnalytic,
    as_hex,
    col_or_null,
    event_codes,
    lower_base,
)
from chainbreaker.detect.analytics.host import (
    PROCESS_COLUMNS,
    PROCESS_ROWS,
    PROCESS_SOURCES,
    is_process_creation,
    with_process_names,
)
from chainbreaker.detect.analytics.registry import register


@dataclass(frozen=True, slots=True)
class LsassParams(Params):
    window: str = param("1h", "time bucket (Polars duration)")
    access_masks: tuple[str, ...] = param(
        ("0x1010", "0x1410", "0x1438", "0x143a", "0x1fffff", "0x1f3fff", "0x1f1fff", "0x40", "0x1418"),
        "GrantedAccess values that allow reading LSASS memory",
    )
    allow_images: tuple[str, ...] = param(
        (
            "msmpeng.exe",
            "mssense.exe",
            "csrss.exe",
            "wininit.exe",
            "svchost.exe",
            "vmtoolsd.exe",
            "wmiprvse.exe",
            "sysmon.exe",
            "sysmon64.exe",
            "healthservice.exe",
            "monitoringhost.exe",
            "collectguestlogs.exe",
        ),
        "source image names allowed to open LSASS (security, monitoring and system processes)",
    )


@register
class LsassAccess(SelectorAnalytic):
    id = "lsass_access"
    name = "LSASS memory access"
    phases = ("actions-on-objectives",)
    techniques = ("T1003.001",)
    tactics = ("credential-access",)
    sources = frozenset({"windows.sysmon", "windows.security"})
    columns = ("event_code", "host", "user", "SourceImage", "TargetImage", "GrantedAccess", "process_image",
               "ObjectName", "ProcessName", "AccessMask")  # fmt: skip
    rows = event_codes({"windows.sysmon": (10,), "windows.security": (4656, 4663)})
    level = Level.high
    params_type = LsassParams
    group_by = ("host", "_source")
    description = (
        "Sysmon 10 (or Security 4656/4663 object access): a process opens lsass.exe with an access mask "
        "that allows reading its memory (credential dumping); known security and system processes are "
        "allowed (allow_images)."
    )

    def prepare(self, events: pl.DataFrame) -> pl.DataFrame:
        sysmon = (pl.col("source") == "windows.sysmon") & (pl.col("event_code") == 10)
        security = (pl.col("source") == "windows.security") & pl.col("event_code").is_in([4656, 4663])
        source = pl.coalesce(
            col_or_null(events, "SourceImage"), col_or_null(events, "ProcessName"), pl.col("process_image")
        )
        events = events.filter(sysmon | security).with_columns(
            source.alias("_source_path"),
            pl.coalesce(col_or_null(events, "TargetImage"), col_or_null(events, "ObjectName")).alias(
                "_target"
            ),
            pl.coalesce(col_or_null(events, "GrantedAccess"), col_or_null(events, "AccessMask")).alias(
                "_access"
            ),
        )
        return events.with_columns(lower_base("_source_path").alias("_source"))

    def selector(self) -> pl.Expr:
        assert isinstance(self.params, LsassParams)
        p = self.params
        sysmon = pl.col("_access").str.to_lowercase().is_in([m.lower() for m in p.access_masks])
        # Object access (4656/4663): the ReadData/ListDirectory bit (0x10) is what memory reading needs.
        security = pl.col("event_code").is_in([4656, 4663]) & ((as_hex("_access").fill_null(0) & 0x10) != 0)
        return (
            lower_base("_target").eq("lsass.exe")
            & (sysmon | security)
            & ~pl.col("_source").is_in([i.lower() for i in p.allow_images])
        )

    def aggs(self) -> list[pl.Expr]:
        return [pl.col("_access").unique().sort().alias("_masks"), pl.col("_source_path").first()]

    def explain(self) -> pl.Expr:
        return pl.format(
            "{} opened lsass.exe {} time(s) on {} with access {}",
            pl.col("_source_path").fill_null("?"),
            pl.col("count"),
            pl.col("host"),
            pl.col("_masks").list.join("/"),
        )


#: Directory replication rights: DS-Replication-Get-Changes(-All / -In-Filtered-Set).
REPLICATION_GUIDS = (
    "1131f6aa-9c07-11d1-f79f-00c04fc2dcd2",
    "1131f6ad-9c07-11d1-f79f-00c04fc2dcd2",
    "89e95b76-444d-4c62-991a-0facbeda640c",
)


@register
class DcSync(SelectorAnalytic):
    id = "dcsync"
    name = "DCSync (directory replication by a non-DC account)"
    phases = ("actions-on-objectives",)
    techniques = ("T1003.006",)
    tactics = ("credential-access",)
    sources = frozenset({"windows.security"})
    columns = ("event_code", "host", "user", "Properties", "SubjectUserName", "AccessMask")
    rows = event_codes({"windows.security": (4662,)})
    level = Level.critical
    group_by = ("host", "user")
    description = (
        "Security 4662 with a directory replication right (DS-Replication-Get-Changes...) used by an "
        "account that is not a computer account (domain controllers replicate as HOST$)."
    )

    def prepare(self, events: pl.DataFrame) -> pl.DataFrame:
        return events.filter(pl.col("event_code") == 4662).with_columns(
            pl.coalesce(col_or_null(events, "SubjectUserName"), pl.col("user")).alias("user")
        )

    def selector(self) -> pl.Expr:
        props = pl.col("Properties").str.to_lowercase()
        return props.str.contains("|".join(REPLICATION_GUIDS)) & ~pl.col("user").str.ends_with("$")

    def explain(self) -> pl.Expr:
        return pl.format(
            "{} used directory replication rights {} time(s) on {}",
            pl.col("user"),
            pl.col("count"),
            pl.col("host"),
        )


#: Command lines that dump credential stores: LSASS minidumps through comsvcs.dll, procdump or
#: rdrleakdiag, Mimikatz modules, NTDS.dit copies (ntdsutil IFM, shadow-copy paths), SAM/SECURITY hives.
DUMP_COMMANDS = (
    r"comsvcs(\.dll)?[\s,]+#?(minidump|24)|procdump(64)?(\.exe)?\s.*(-ma|/ma)\s.*lsass|rdrleakdiag.*fullmemdmp"
    r"|sekurlsa::|lsadump::|kerberos::golden|ntdsutil.*(ifm|create full)|\\windows\\ntds\\ntds\.dit"
    r"|reg(\.exe)?\s+save\s+hklm\\(sam|security)|out-minidump|invoke-mimikatz"
)


@register
class CredentialDumpCommand(SelectorAnalytic):
    id = "credential_dump_command"
    name = "Credential dumping command line"
    phases = ("actions-on-objectives",)
    techniques = ("T1003.001", "T1003.002", "T1003.003")
    tactics = ("credential-access",)
    sources = PROCESS_SOURCES
    columns = PROCESS_COLUMNS
    rows = PROCESS_ROWS
    level = Level.high
    group_by = ("host",)
    description = (
        "Process creations (Sysmon 1 / 4688) whose command line dumps LSASS (comsvcs MiniDump, procdump -ma "
        "lsass, rdrleakdiag), runs Mimikatz modules, copies NTDS.dit or saves the SAM/SECURITY hives."
    )

    def prepare(self, events: pl.DataFrame) -> pl.DataFrame:
        return with_process_names(events.filter(is_process_creation()))

    def selector(self) -> pl.Expr:
        return pl.col("_cmd").str.contains(DUMP_COMMANDS)

    def aggs(self) -> list[pl.Expr]:
        return [pl.col("process_command_line").unique().head(3).alias("_cmds")]

    def explain(self) -> pl.Expr:
        return pl.format(
            "{} credential-dumping command(s) on {}: {}",
            pl.col("count"),
            pl.col("host"),
            pl.col("_cmds").list.join(" | "),
        )
