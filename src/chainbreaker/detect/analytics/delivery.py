"""Delivery: documents, mail and browsers starting script hosts or LOLBins; executables fetched over HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import polars as pl

from chainbreaker.alerts import Level
from chainbreaker.detect.analytics.base import Params, param
from chainbreaker.detect.analytics.common import SelectorAnalytic, col_or_null
from chainbreaker.detect.analytics.host import ParentStartsChild
from chainbreaker.detect.analytics.http import UPDATE_HOSTS, host_in
from chainbreaker.detect.analytics.registry import register

#: Programs that open what arrives from outside: Office, mail clients, PDF readers, browsers.
USER_APPS = (
    "winword.exe", "excel.exe", "powerpnt.exe", "outlook.exe", "msaccess.exe", "mspub.exe", "onenote.exe",
    "visio.exe", "eqnedt32.exe", "thunderbird.exe", "acrord32.exe", "acrobat.exe", "foxitreader.exe",
    "chrome.exe", "firefox.exe", "msedge.exe", "iexplore.exe", "opera.exe", "brave.exe", "hxoutlook.exe",
)  # fmt: skip

#: Script hosts and signed binaries abused to run or fetch code (LOLBins).
SCRIPT_HOSTS_AND_LOLBINS = (
    "cmd.exe", "powershell.exe", "pwsh.exe", "wscript.exe", "cscript.exe", "mshta.exe", "rundll32.exe",
    "regsvr32.exe", "certutil.exe", "bitsadmin.exe", "msbuild.exe", "installutil.exe", "regasm.exe",
    "regsvcs.exe", "msiexec.exe", "cmstp.exe", "wmic.exe", "forfiles.exe", "hh.exe", "schtasks.exe",
    "curl.exe", "bash.exe", "scriptrunner.exe", "odbcconf.exe", "control.exe", "msxsl.exe",
)  # fmt: skip


@register
class UserAppSpawnsScriptHost(ParentStartsChild):
    id = "office_spawns_script_host"
    name = "Document, mail or browser process starts a script host or LOLBin"
    phases = ("delivery", "exploitation")
    techniques = ("T1566.001", "T1204.002", "T1059")
    tactics = ("initial-access", "execution")
    level = Level.high
    parents = USER_APPS
    children = SCRIPT_HOSTS_AND_LOLBINS
    description = (
        "An Office application, mail client, PDF reader or browser is the parent of a script host or a "
        "LOLBin (Sysmon 1 / Security 4688): the usual first step of a malicious attachment or download."
    )


#: File name endings and MIME types of Windows executables and scripts.
EXECUTABLE_SUFFIX = r"(?i)\.(exe|dll|scr|hta|ps1|vbs|vbe|jse|wsf|msi|bat|cmd|lnk|iso|jar)(\?|$)"
EXECUTABLE_MIME = r"(?i)application/(x-dosexec|x-msdownload|x-msdos-program|x-ms-installer|hta|java-archive)"


@dataclass(frozen=True, slots=True)
class DownloadParams(Params):
    window: str = param("1h", "time bucket per source/destination (Polars duration)")
    allow_hosts: tuple[str, ...] = param(
        UPDATE_HOSTS, "Host header suffixes never reported (update services)"
    )


@register
class ExecutableDownload(SelectorAnalytic):
    id = "executable_download"
    name = "Executable or script downloaded over HTTP"
    phases = ("delivery",)
    techniques = ("T1105", "T1204.002")
    tactics = ("command-and-control", "execution")
    sources = frozenset({"zeek.http", "zeek.files"})
    columns = ("src_ip", "dst_ip", "uri", "raw.host", "method", "resp_mime_types", "mime_type", "filename",
               "tx_hosts", "rx_hosts")  # fmt: skip
    level = Level.medium
    group_by = ("src_ip", "dst_ip")
    params_type: ClassVar[type[Params]] = DownloadParams
    description = (
        "Zeek http/files shows a Windows executable or script (x-dosexec MIME type, or .exe/.dll/.ps1/.hta/"
        "... in the URI or file name) transferred in clear text; OS/vendor update services are allowed "
        "(allow_hosts)."
    )

    def prepare(self, events: pl.DataFrame) -> pl.DataFrame:
        mime = pl.concat_str(
            [col_or_null(events, "resp_mime_types"), col_or_null(events, "mime_type")],
            separator=",",
            ignore_nulls=True,
        )
        name = pl.coalesce(col_or_null(events, "uri"), col_or_null(events, "filename"))
        # Zeek files.log names the receiving / sending hosts instead of the connection's endpoints.
        return events.with_columns(
            mime.alias("_mime"),
            name.alias("_name"),
            pl.coalesce(pl.col("src_ip"), col_or_null(events, "rx_hosts")).alias("src_ip"),
            pl.coalesce(pl.col("dst_ip"), col_or_null(events, "tx_hosts")).alias("dst_ip"),
        )

    def selector(self) -> pl.Expr:
        assert isinstance(self.params, DownloadParams)
        executable = pl.col("_mime").str.contains(EXECUTABLE_MIME) | pl.col("_name").str.contains(
            EXECUTABLE_SUFFIX
        )
        return executable & ~host_in("raw.host", self.params.allow_hosts)

    def aggs(self) -> list[pl.Expr]:
        return [pl.col("_name").drop_nulls().unique().head(5).alias("_names")]

    def explain(self) -> pl.Expr:
        return pl.format(
            "{} fetched {} executable/script transfer(s) from {}: {}",
            pl.col("src_ip"),
            pl.col("count"),
            pl.col("dst_ip"),
            pl.col("_names").list.join(", "),
        )
