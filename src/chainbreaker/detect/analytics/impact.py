"""Actions on objectives: recovery inhibition, mass file writes, log clearing, large outbound transfers."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from chainbreaker.alerts import Level
from chainbreaker.detect.analytics.base import MAX_REFS, Analytic, Params, param
from chainbreaker.detect.analytics.common import (
    SelectorAnalytic,
    empty_findings,
    event_codes,
    evidence_aggs,
    explained,
    is_private,
)
from chainbreaker.detect.analytics.host import (
    PROCESS_COLUMNS,
    PROCESS_ROWS,
    PROCESS_SOURCES,
    is_process_creation,
    with_process_names,
)
from chainbreaker.detect.analytics.network import CONN_COLUMNS, CONN_SOURCES, connections
from chainbreaker.detect.analytics.registry import register

#: Commands that destroy backups or disable recovery before encryption.
INHIBIT_RECOVERY = (
    r"vssadmin(\.exe)?\W.*(delete\s+shadows|resize\s+shadowstorage)|shadowcopy\s+delete|win32_shadowcopy.*(delete|remove)"
    r"|bcdedit(\.exe)?\W.*(recoveryenabled\s+(no|off)|bootstatuspolicy\s+ignoreallfailures)"
    r"|wbadmin(\.exe)?\W.*delete\s+(catalog|systemstatebackup|backup)|diskshadow.*delete"
)


@register
class InhibitRecovery(SelectorAnalytic):
    id = "inhibit_recovery"
    name = "Shadow copies deleted or recovery disabled"
    phases = ("actions-on-objectives",)
    techniques = ("T1490",)
    tactics = ("impact",)
    sources = PROCESS_SOURCES
    columns = PROCESS_COLUMNS
    rows = PROCESS_ROWS
    level = Level.critical
    group_by = ("host",)
    description = (
        "vssadmin/wmic/PowerShell deleting shadow copies, bcdedit disabling recovery, wbadmin deleting "
        "backups (Sysmon 1 / 4688): ransomware preparing the ground."
    )

    def prepare(self, events: pl.DataFrame) -> pl.DataFrame:
        return with_process_names(events.filter(is_process_creation()))

    def selector(self) -> pl.Expr:
        return pl.col("_cmd").str.contains(INHIBIT_RECOVERY)

    def aggs(self) -> list[pl.Expr]:
        return [pl.col("process_command_line").unique().head(5).alias("_cmds")]

    def explain(self) -> pl.Expr:
        return pl.format("{} recovery-inhibiting command(s) on {}: {}", pl.col("count"), pl.col("host"),
                         pl.col("_cmds").list.join(" | "))  # fmt: skip


@dataclass(frozen=True, slots=True)
class MassFileParams(Params):
    window: str = param("5m", "time bucket (Polars duration)")
    min_files: int = param(500, "files created/deleted by one process per bucket")
    min_directories: int = param(10, "distinct directories touched")


@register
class MassFileChanges(SelectorAnalytic):
    id = "mass_file_changes"
    name = "Mass file creation or deletion by one process"
    phases = ("actions-on-objectives",)
    techniques = ("T1486", "T1485")
    tactics = ("impact",)
    sources = frozenset({"windows.sysmon"})
    columns = ("event_code", "host", "user", "process_image", "TargetFilename")
    rows = event_codes({"windows.sysmon": (11, 23, 26)})
    level = Level.high
    params_type = MassFileParams
    group_by = ("host", "process_image")
    description = (
        "One process creating or deleting hundreds of files across many directories within minutes "
        "(Sysmon 11/23/26): encryption or wiping."
    )

    def selector(self) -> pl.Expr:
        return pl.col("event_code").is_in([11, 23, 26])

    def aggs(self) -> list[pl.Expr]:
        folder = pl.col("TargetFilename").str.replace(r"[\\/][^\\/]*$", "")
        extension = pl.col("TargetFilename").str.extract(r"\.([^.\\/]{1,12})$", 1).str.to_lowercase()
        return [folder.n_unique().alias("_dirs"), extension.drop_nulls().mode().first().alias("_ext")]

    def having(self) -> pl.Expr:
        assert isinstance(self.params, MassFileParams)
        return (pl.col("count") >= self.params.min_files) & (pl.col("_dirs") >= self.params.min_directories)

    def explain(self) -> pl.Expr:
        return pl.format("{} wrote/deleted {} files in {} directories on {} (most common extension .{})",
                         pl.col("process_image"), pl.col("count"), pl.col("_dirs"), pl.col("host"),
                         pl.col("_ext").fill_null("?"))  # fmt: skip


@register
class LogCleared(SelectorAnalytic):
    id = "log_cleared"
    name = "Event log cleared"
    phases = ("actions-on-objectives",)
    techniques = ("T1070.001",)
    tactics = ("stealth",)
    sources = frozenset({"windows.security", "windows.system", "windows.sysmon"})
    columns = PROCESS_COLUMNS
    rows = event_codes({"windows.security": (1102, 4688), "windows.system": (104,), "windows.sysmon": (1,)})
    level = Level.high
    group_by = ("host",)
    description = "Security 1102, System 104, or wevtutil cl / Clear-EventLog in a process creation."

    def prepare(self, events: pl.DataFrame) -> pl.DataFrame:
        return with_process_names(events)

    def selector(self) -> pl.Expr:
        code = pl.col("event_code")
        logged = ((pl.col("source") == "windows.security") & (code == 1102)) | (
            (pl.col("source") == "windows.system") & (code == 104)
        )
        command = is_process_creation() & pl.col("_cmd").str.contains(
            r"wevtutil(\.exe)?\W+(cl|clear-log)\b|clear-eventlog|remove-eventlog|\.clear\(\)"
        )
        return logged | command

    def explain(self) -> pl.Expr:
        return pl.format("{} log-clearing event(s) on {}", pl.col("count"), pl.col("host"))


@dataclass(frozen=True, slots=True)
class ExfilParams(Params):
    min_bytes: int = param(100_000_000, "bytes sent from one internal host to one external destination")
    min_ratio: float = param(10.0, "times the host's median outbound volume per OTHER external destination")
    min_upload_share: float = param(0.8, "share of the pair's bytes that went out (upload-heavy)")


def with_median_of_others(frame: pl.DataFrame, value: str, keys: tuple[str, ...]) -> pl.DataFrame:
    """``frame`` with ``_baseline``: each row's median of ``value`` over the OTHER rows of its ``keys``
    group (leave-one-out; null for a row alone in its group), and ``_others``, how many rows that is.

    Sorted by keys then value, a group's values lie in order from its first row; taking out the row of
    rank r shifts the ranks above r down by one, so the others' median is read at two positions of the
    sorted column. Written out because Polars has no leave-one-out median, and a self-join on the keys
    would build n² rows for a host with n destinations (a NAT gateway has thousands).
    """
    frame = frame.sort(*keys, value).with_row_index("_i")
    row = pl.col("_i").cast(pl.Int64)
    first = row.min().over(keys)
    rank = row - first
    others = pl.len().over(keys).cast(pl.Int64) - 1

    def at(k: pl.Expr) -> pl.Expr:  # the k-th smallest of the others, k in 0..others-1
        index = first + k + (k >= rank).cast(pl.Int64)
        return pl.col(value).cast(pl.Float64).gather(index.clip(0, frame.height - 1))

    median = (at((others - 1).floordiv(2)) + at(others.floordiv(2))) / 2
    return frame.with_columns(
        pl.when(others > 0).then(median).alias("_baseline"), others.alias("_others")
    ).drop("_i")


@register
class LargeOutbound(Analytic):
    id = "large_outbound_transfer"
    name = "Large outbound transfer against the host's baseline"
    phases = ("actions-on-objectives",)
    techniques = ("T1048", "T1041")
    tactics = ("exfiltration",)
    sources = CONN_SOURCES
    columns = CONN_COLUMNS
    level = Level.medium
    params_type = ExfilParams
    description = (
        "An internal host sent far more to one external destination than it usually sends to one "
        "destination (the median over its other external destinations; with no other destination, "
        "the size floor alone), and the pair's traffic is mostly upload (Zeek orig_bytes / Suricata "
        "bytes_toserver)."
    )

    def run(self, events: pl.DataFrame) -> pl.DataFrame:
        p = self.params
        assert isinstance(p, ExfilParams)
        conns = connections(events).filter(is_private("src_ip") & ~is_private("dst_ip"))
        if conns.is_empty():
            return empty_findings()
        # Per sensor: Zeek and Suricata logging one transfer are two views of it, and adding them up
        # would double its bytes (and let a 60 MB upload pass a 100 MB floor).
        host = ("source", "src_ip")
        pairs = conns.group_by(*host, "dst_ip").agg(
            *evidence_aggs(),
            pl.col("out_bytes").sum().alias("_out"),
            pl.col("in_bytes").sum().alias("_in"),
        )
        # The baseline leaves the pair under test out: with it in, a host with two destinations has the
        # mean of its transfer and the other as its "usual", and a 700 MB upload is only ~2x that.
        pairs = with_median_of_others(pairs, "_out", host)
        above_usual = pl.col("_baseline").is_null() | (
            pl.col("_out") >= p.min_ratio * pl.col("_baseline").clip(lower_bound=1)
        )
        found = pairs.filter(
            (pl.col("_out") >= p.min_bytes)
            & above_usual
            & (pl.col("_out") / (pl.col("_out") + pl.col("_in")).clip(lower_bound=1) >= p.min_upload_share)
        )
        # One finding per transfer: the figures of the sensor that counted the most bytes, the
        # references of every sensor that saw it (that one's first).
        found = (
            found.sort("_out", "source", descending=[True, False])
            .group_by("src_ip", "dst_ip", maintain_order=True)
            .agg(pl.all().exclude("refs").first(), pl.col("refs").explode().head(MAX_REFS))
        )
        against = (
            pl.when(pl.col("_baseline").is_null())
            .then(pl.lit("its only external destination in the data: no baseline, size floor only"))
            .otherwise(
                pl.format(
                    "{}x its median of {} kB over its {} other external destination(s)",
                    (pl.col("_out") / pl.col("_baseline").clip(lower_bound=1)).round(0),
                    (pl.col("_baseline") / 1e3).round(1),
                    pl.col("_others"),
                )
            )
        )
        return explained(
            found,
            "{} sent {} MB to {} ({}; {} kB received)",
            pl.col("src_ip"),
            (pl.col("_out") / 1e6).round(1),
            pl.col("dst_ip"),
            against,
            (pl.col("_in") / 1e3).round(1),
        )
