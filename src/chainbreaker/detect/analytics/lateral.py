"""Lateral movement: logon fan-out, PsExec-like services, admin shares, remote WMI / WinRM / SVCCTL."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from chainbreaker.alerts import Level
from chainbreaker.detect.analytics.base import Params, param
from chainbreaker.detect.analytics.common import SelectorAnalytic, col_or_null, event_codes
from chainbreaker.detect.analytics.host import PROCESS_COLUMNS, is_process_creation, with_process_names
from chainbreaker.detect.analytics.registry import register


@dataclass(frozen=True, slots=True)
class FanOutParams(Params):
    window: str = param("1h", "time bucket (Polars duration)")
    min_hosts: int = param(5, "distinct hosts one account logs on to over the network per bucket")
    logon_types: tuple[str, ...] = param(
        ("3", "10"), "LogonType values counted (network, remote interactive)"
    )


@register
class LogonFanOut(SelectorAnalytic):
    id = "logon_fan_out"
    name = "One account logs on to many hosts"
    phases = ("actions-on-objectives",)
    techniques = ("T1021", "T1078")
    tactics = ("lateral-movement",)
    sources = frozenset({"windows.security"})
    columns = ("event_code", "host", "user", "TargetUserName", "LogonType", "IpAddress")
    rows = event_codes({"windows.security": (4624,)})
    level = Level.medium
    params_type = FanOutParams
    group_by = ("user",)
    description = (
        "Security 4624 network/RDP logons (types 3 and 10) of one account on many distinct hosts within a "
        "window; computer accounts and ANONYMOUS LOGON are ignored."
    )

    def prepare(self, events: pl.DataFrame) -> pl.DataFrame:
        return events.filter(pl.col("event_code") == 4624).with_columns(
            pl.coalesce(col_or_null(events, "TargetUserName"), pl.col("user"))
            .str.to_lowercase()
            .alias("user")
        )

    def selector(self) -> pl.Expr:
        assert isinstance(self.params, FanOutParams)
        return (
            pl.col("LogonType").is_in(list(self.params.logon_types))
            & ~pl.col("user").str.ends_with("$")
            & ~pl.col("user").is_in(["anonymous logon", "-", ""])
        )

    def aggs(self) -> list[pl.Expr]:
        return [pl.col("host").unique().sort().alias("_hosts")]

    def having(self) -> pl.Expr:
        assert isinstance(self.params, FanOutParams)
        return pl.col("_hosts").list.len() >= self.params.min_hosts

    def explain(self) -> pl.Expr:
        return pl.format(
            "{} logged on over the network to {} hosts: {}",
            pl.col("user"),
            pl.col("_hosts").list.len(),
            pl.col("_hosts").list.head(10).list.join(", "),
        )


#: Service binaries of remote-execution tools, or service images started from an admin share or
#: straight from the Windows folder with a random-looking name.
PSEXEC_SERVICE = r"(?i)psexe|paexe|remcom|csexec|winexesvc|\\admin\$\\|%systemroot%\\[a-z0-9]{6,8}\.exe$"


@register
class PsexecService(SelectorAnalytic):
    id = "psexec_like_service"
    name = "Remote-execution service installed (PsExec-like)"
    phases = ("actions-on-objectives", "installation")
    techniques = ("T1569.002", "T1021.002")
    tactics = ("lateral-movement", "execution")
    sources = frozenset({"windows.system", "windows.security", "windows.sysmon"})
    columns = ("event_code", "host", "user", "ServiceName", "ImagePath", "ServiceFileName", "PipeName",
               "RelativeTargetName")  # fmt: skip
    rows = event_codes(
        {"windows.system": (7045,), "windows.security": (4697, 5145), "windows.sysmon": (17, 18)}
    )
    level = Level.high
    group_by = ("host",)
    description = (
        "A service whose name or binary looks like a remote-execution tool (PsExec, PAExec, RemCom...) or "
        "runs from ADMIN$ (7045/4697), or the tool's named pipes (Sysmon 17/18, Security 5145)."
    )

    def prepare(self, events: pl.DataFrame) -> pl.DataFrame:
        what = pl.concat_str(
            [col_or_null(events, c) for c in ("ServiceName", "ImagePath", "ServiceFileName")],
            separator=" ",
            ignore_nulls=True,
        )
        pipe = pl.coalesce(col_or_null(events, "PipeName"), col_or_null(events, "RelativeTargetName"))
        return events.with_columns(what.alias("_service"), pipe.alias("_pipe"))

    def selector(self) -> pl.Expr:
        source, code = pl.col("source"), pl.col("event_code")
        installed = ((source == "windows.system") & (code == 7045)) | (
            (source == "windows.security") & (code == 4697)
        )
        opened = ((source == "windows.sysmon") & code.is_in([17, 18])) | (
            (source == "windows.security") & (code == 5145)
        )
        service = installed & pl.col("_service").str.contains(PSEXEC_SERVICE)
        pipe = opened & pl.col("_pipe").str.contains(
            r"(?i)psexesvc|paexec|remcom_communicat|csexecsvc|-(stdin|stdout|stderr)$"
        )
        return service | pipe

    def aggs(self) -> list[pl.Expr]:
        return [
            pl.coalesce(pl.col("_service").replace("", None), pl.col("_pipe"))
            .drop_nulls()
            .first()
            .alias("_what")
        ]

    def explain(self) -> pl.Expr:
        return pl.format("remote-execution service or pipe on {}: {}", pl.col("host"), pl.col("_what"))


@register
class AdminShareAccess(SelectorAnalytic):
    id = "admin_share_access"
    name = "Administrative share accessed over the network"
    phases = ("actions-on-objectives",)
    techniques = ("T1021.002",)
    tactics = ("lateral-movement",)
    sources = frozenset({"windows.security"})
    columns = (
        "event_code",
        "host",
        "user",
        "ShareName",
        "IpAddress",
        "SubjectUserName",
        "RelativeTargetName",
    )
    rows = event_codes({"windows.security": (5140, 5145)})
    level = Level.medium
    group_by = ("host", "user", "src_ip")
    description = (
        "Security 5140/5145: ADMIN$ or a drive share (C$...) opened from another machine by a user account "
        "(computer accounts ignored)."
    )

    def prepare(self, events: pl.DataFrame) -> pl.DataFrame:
        return events.filter(pl.col("event_code").is_in([5140, 5145])).with_columns(
            pl.coalesce(col_or_null(events, "SubjectUserName"), pl.col("user")).alias("user"),
            col_or_null(events, "IpAddress").str.replace(r"^::ffff:", "").alias("src_ip"),
        )

    def selector(self) -> pl.Expr:
        share = pl.col("ShareName").str.contains(r"(?i)\\(admin\$|[a-z]\$)$")
        return share & ~pl.col("user").str.ends_with("$") & ~pl.col("src_ip").is_in(["127.0.0.1", "::1"])

    def aggs(self) -> list[pl.Expr]:
        return [pl.col("ShareName").unique().sort().alias("_shares")]

    def explain(self) -> pl.Expr:
        return pl.format(
            "{} opened {} on {} from {} ({} event(s))",
            pl.col("user"),
            pl.col("_shares").list.join(", "),
            pl.col("host"),
            pl.col("src_ip").fill_null("?"),
            pl.col("count"),
        )


#: Remote-execution providers: WMI (WmiPrvSE), WinRM (wsmprovhost) and what they start.
REMOTE_PARENTS = ("wmiprvse.exe", "wsmprovhost.exe", "winrshost.exe", "mmc.exe")
#: Hosts of incoming remote sessions: PowerShell remoting and WinRS start these for each session.
REMOTE_HOSTS = ("wsmprovhost.exe", "winrshost.exe")
#: Named pipes of remote service and task control, opened over SMB (Security 5145 on IPC$).
REMOTE_PIPES = ("svcctl", "atsvc", "ntsvcs")
REMOTE_CHILDREN = ("cmd.exe", "powershell.exe", "pwsh.exe", "rundll32.exe", "regsvr32.exe", "mshta.exe",
                   "cscript.exe", "wscript.exe", "certutil.exe", "bitsadmin.exe")  # fmt: skip
#: DCE/RPC interfaces and operations of remote execution (WMI, service control, task scheduler).
REMOTE_RPC = (
    r"(?i)^(IWbemServices::ExecMethod|svcctl::(CreateServiceW|StartServiceW)"
    r"|ITaskSchedulerService::SchRpcRegisterTask|atsvc::JobAdd)$"
)


@register
class RemoteExecution(SelectorAnalytic):
    id = "remote_wmi_winrm"
    name = "Remote execution through WMI, WinRM or RPC"
    phases = ("actions-on-objectives",)
    techniques = ("T1047", "T1021.006")
    tactics = ("lateral-movement", "execution")
    sources = frozenset({"windows.sysmon", "windows.security", "zeek.dce_rpc"})
    columns = (*PROCESS_COLUMNS, "src_ip", "dst_ip", "endpoint", "operation", "RelativeTargetName")
    # process creations and the 5145 pipe check (on any Windows source, as selector() does); every
    # zeek.dce_rpc row
    rows = event_codes({"windows.sysmon": (1, 5145), "windows.security": (4688, 5145)})
    level = Level.medium
    group_by = ("host", "src_ip", "dst_ip")
    description = (
        "WmiPrvSE.exe, WinRM hosts or DCOM MMC starting a shell or LOLBin, a WinRM session host starting "
        "(wsmprovhost/winrshost), the svcctl/atsvc pipes opened over SMB (5145), or Zeek dce_rpc calls "
        "that execute remotely (IWbemServices::ExecMethod, svcctl CreateService, SchRpcRegisterTask, atsvc)."
    )

    def prepare(self, events: pl.DataFrame) -> pl.DataFrame:
        call = pl.concat_str(
            [col_or_null(events, "endpoint"), col_or_null(events, "operation")], separator="::"
        )
        pipe = col_or_null(events, "RelativeTargetName")
        return with_process_names(events).with_columns(call.alias("_call"), pipe.alias("_pipe"))

    def selector(self) -> pl.Expr:
        process = is_process_creation() & (
            (pl.col("_parent").is_in(REMOTE_PARENTS) & pl.col("_image").is_in(REMOTE_CHILDREN))
            | pl.col("_image").is_in(REMOTE_HOSTS)
        )
        rpc = (pl.col("source") == "zeek.dce_rpc") & pl.col("_call").str.contains(REMOTE_RPC)
        pipe = (pl.col("event_code") == 5145) & pl.col("_pipe").str.to_lowercase().is_in(REMOTE_PIPES)
        return process | rpc | pipe

    def aggs(self) -> list[pl.Expr]:
        how = pl.coalesce(
            pl.format("{} -> {}", pl.col("_parent"), pl.col("_image")),
            pl.col("_call"),
            pl.format("pipe \\{} over SMB", pl.col("_pipe")),
        )
        return [how.drop_nulls().unique().sort().alias("_how")]

    def explain(self) -> pl.Expr:
        where = pl.coalesce(pl.col("host"), pl.format("{} -> {}", pl.col("src_ip"), pl.col("dst_ip")))
        return pl.format("remote execution on {}: {}", where, pl.col("_how").list.join(", "))
