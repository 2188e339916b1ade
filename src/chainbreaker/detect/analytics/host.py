"""Shared views over Windows host events (Sysmon and Security) for the host analytics."""

from __future__ import annotations

import polars as pl

from chainbreaker.detect.analytics.common import lower_base

#: Process-creation events: Sysmon 1 and Security 4688.
PROCESS_SOURCES = frozenset({"windows.sysmon", "windows.security"})
PROCESS_COLUMNS: tuple[str, ...] = (
    "event_code",
    "host",
    "user",
    "process_image",
    "process_command_line",
    "process_guid",
    "parent_process_image",
    "parent_process_command_line",
)


def is_process_creation() -> pl.Expr:
    return ((pl.col("source") == "windows.sysmon") & (pl.col("event_code") == 1)) | (
        (pl.col("source") == "windows.security") & (pl.col("event_code") == 4688)
    )


def image() -> pl.Expr:
    """Lower-case file name of the new process."""
    return lower_base("process_image")


def parent() -> pl.Expr:
    """Lower-case file name of the parent process."""
    return lower_base("parent_process_image")


def cmdline() -> pl.Expr:
    """Lower-case command line ('' when absent)."""
    return pl.col("process_command_line").str.to_lowercase().fill_null("")


def with_process_names(events: pl.DataFrame) -> pl.DataFrame:
    return events.with_columns(image().alias("_image"), parent().alias("_parent"), cmdline().alias("_cmd"))
