"""Installation: new services, scheduled tasks, Run keys, WMI event subscriptions, new local admins."""

from __future__ import annotations

import polars as pl

from chainbreaker.alerts import Level
from chainbreaker.detect.analytics.common import SelectorAnalytic, col_or_null, event_codes
from chainbreaker.detect.analytics.host import cmdline, image, is_process_creation
from chainbreaker.detect.analytics.registry import register


@register
class NewService(SelectorAnalytic):
    id = "new_service"
    name = "New service installed"
    phases = ("installation",)
    techniques = ("T1543.003",)
    tactics = ("persistence", "privilege-escalation")
    sources = frozenset({"windows.system", "windows.security"})
    columns = ("event_code", "host", "user", "ServiceName", "ImagePath", "ServiceFileName", "AccountName",
               "ServiceAccount", "StartType", "ServiceStartType")  # fmt: skip
    rows = event_codes({"windows.system": (7045,), "windows.security": (4697,)})
    level = Level.low
    group_by = ("host", "_service")
    description = "System 7045 / Security 4697: a service was installed (persistence or remote execution)."

    def prepare(self, events: pl.DataFrame) -> pl.DataFrame:
        code = pl.col("event_code")
        service = (pl.col("source") == "windows.system") & (code == 7045)
        service = service | ((pl.col("source") == "windows.security") & (code == 4697))
        return events.filter(service).with_columns(
            col_or_null(events, "ServiceName").alias("_service"),
            pl.coalesce(col_or_null(events, "ImagePath"), col_or_null(events, "ServiceFileName")).alias(
                "_path"
            ),
        )

    def selector(self) -> pl.Expr:
        return pl.lit(True)

    def aggs(self) -> list[pl.Expr]:
        return [pl.col("_path").drop_nulls().first()]

    def explain(self) -> pl.Expr:
        return pl.format(
            "service {} installed on {} ({}); binary: {}",
            pl.col("_service").fill_null("?"),
            pl.col("host"),
            pl.col("count"),
            pl.col("_path").fill_null("?"),
        )


@register
class NewScheduledTask(SelectorAnalytic):
    id = "new_scheduled_task"
    name = "Scheduled task created"
    phases = ("installation",)
    techniques = ("T1053.005",)
    tactics = ("persistence", "execution")
    sources = frozenset({"windows.security", "windows.sysmon"})
    columns = ("event_code", "host", "user", "TaskName", "process_image", "process_command_line")
    rows = event_codes({"windows.security": (4698, 4688), "windows.sysmon": (1,)})
    level = Level.low
    group_by = ("host", "_task")
    description = (
        "Security 4698 (task registered) or schtasks /create in a process creation (Sysmon 1, 4688)."
    )

    def prepare(self, events: pl.DataFrame) -> pl.DataFrame:
        code = pl.col("event_code")
        registered = (pl.col("source") == "windows.security") & (code == 4698)
        created = is_process_creation() & (image() == "schtasks.exe") & cmdline().str.contains(r"[/-]create")
        return events.filter(registered | created).with_columns(
            pl.coalesce(
                col_or_null(events, "TaskName"),
                pl.col("process_command_line")
                .str.extract(r"(?i)[/-]tn\s+(\"[^\"]+\"|\S+)", 1)
                .str.strip_chars('"'),
            ).alias("_task")
        )

    def selector(self) -> pl.Expr:
        return pl.lit(True)

    def explain(self) -> pl.Expr:
        return pl.format("scheduled task {} created on {}", pl.col("_task").fill_null("?"), pl.col("host"))


#: Registry autostart extension points (ASEPs): Run keys, Winlogon, IFEO debuggers and silent-exit
#: monitors, startup-folder redirection, COM server hijacks under the user's Classes, application shims,
#: LSA security / notification packages, print monitors and netsh helpers.
RUN_KEYS = (
    r"(?i)\\currentversion\\(run|runonce|runonceex|runservices|policies\\explorer\\run)\\"
    r"|\\winlogon\\(userinit|shell|notify)|\\session manager\\(bootexecute|setupexecute)"
    r"|\\image file execution options\\.*\\(debugger|globalflag)|\\silentprocessexit\\.*\\monitorprocess"
    r"|\\currentversion\\windows\\(load|run|appinit_dlls)|\\user shell folders\\(common )?startup"
    r"|^hk(u|cu)\\.*\\classes\\clsid\\.*\\(inprocserver32|localserver32)"
    r"|\\appcompatflags\\(custom|installedsdb)\\|\\control\\lsa\\(security packages|notification packages)"
    r"|\\control\\print\\monitors\\|\\microsoft\\netsh\\"
)


@register
class RunKeyPersistence(SelectorAnalytic):
    id = "autostart_registry"
    name = "Autostart registry value set"
    phases = ("installation",)
    techniques = ("T1547.001", "T1546.012", "T1546.015", "T1546.011", "T1547.005")
    tactics = ("persistence", "privilege-escalation")
    sources = frozenset({"windows.sysmon"})
    columns = ("event_code", "host", "user", "TargetObject", "Details", "process_image")
    rows = event_codes({"windows.sysmon": (12, 13, 14)})
    level = Level.medium
    group_by = ("host", "TargetObject")
    description = (
        "Sysmon 12/13/14: an autostart registry value is created or set (Run/RunOnce, Winlogon, IFEO and "
        "silent-exit monitors, startup folder, user COM hijacks, shims, LSA packages, print monitors)."
    )

    def selector(self) -> pl.Expr:
        return pl.col("event_code").is_in([12, 13, 14]) & pl.col("TargetObject").str.contains(RUN_KEYS)

    def aggs(self) -> list[pl.Expr]:
        return [
            pl.col("Details").drop_nulls().first(),
            pl.col("process_image").drop_nulls().first().alias("_by"),
        ]

    def explain(self) -> pl.Expr:
        return pl.format(
            "{} set autostart value {} = {} on {}",
            pl.col("_by").fill_null("?"),
            pl.col("TargetObject"),
            pl.col("Details").fill_null("?"),
            pl.col("host"),
        )


@register
class WmiSubscription(SelectorAnalytic):
    id = "wmi_subscription"
    name = "WMI event subscription"
    phases = ("installation",)
    techniques = ("T1546.003",)
    tactics = ("persistence", "privilege-escalation")
    sources = frozenset({"windows.sysmon"})
    columns = ("event_code", "host", "user", "Name", "Destination", "Consumer", "Operation")
    rows = event_codes({"windows.sysmon": (19, 20, 21)})
    level = Level.high
    group_by = ("host",)
    description = "Sysmon 19/20/21: a WMI event filter, consumer or binding was registered."

    def selector(self) -> pl.Expr:
        return pl.col("event_code").is_in([19, 20, 21])

    def aggs(self) -> list[pl.Expr]:
        return [pl.col("Name").drop_nulls().unique().head(5).alias("_names")]

    def explain(self) -> pl.Expr:
        return pl.format(
            "{} WMI filter/consumer/binding event(s) on {}: {}",
            pl.col("count"),
            pl.col("host"),
            pl.col("_names").list.join(", "),
        )


@register
class BitsJobPersistence(SelectorAnalytic):
    id = "bits_job_persistence"
    name = "BITS job that runs a program"
    phases = ("installation",)
    techniques = ("T1197",)
    tactics = ("persistence", "stealth")
    sources = frozenset({"windows.sysmon", "windows.security"})
    columns = ("event_code", "host", "user", "process_image", "process_command_line")
    rows = event_codes({"windows.sysmon": (1,), "windows.security": (4688,)})
    level = Level.medium
    group_by = ("host",)
    description = (
        "bitsadmin /SetNotifyCmdLine or /AddFile+/Resume chains (Sysmon 1 / 4688): a BITS job as a launcher."
    )

    def prepare(self, events: pl.DataFrame) -> pl.DataFrame:
        return events.filter(is_process_creation()).with_columns(cmdline().alias("_cmd"))

    def selector(self) -> pl.Expr:
        return pl.col("_cmd").str.contains(
            r"bitsadmin(\.exe)?\W.*[/-]setnotifycmdline|set-bitstransfer.*-notifycmdline"
        )

    def explain(self) -> pl.Expr:
        return pl.format("{} BITS notify-command job(s) set on {}", pl.col("count"), pl.col("host"))
