"""Shared views over Windows host events (Sysmon and Security) for the host analytics."""

from __future__ import annotations

from typing import ClassVar

import polars as pl

from chainbreaker.detect.analytics.common import SelectorAnalytic, event_codes, lower_base

#: Process-creation events: Sysmon 1 and Security 4688.
PROCESS_SOURCES = frozenset({"windows.sysmon", "windows.security"})
#: The rows of PROCESS_SOURCES that :func:`is_process_creation` selects (``Analytic.rows``).
PROCESS_ROWS = event_codes({"windows.sysmon": (1,), "windows.security": (4688,)})
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


class ParentStartsChild(SelectorAnalytic):
    """A process of one family (``parents``) starting a process of another (``children``), counted per
    host, parent and child name, with an example command line (Sysmon 1 / Security 4688)."""

    parents: ClassVar[tuple[str, ...]]
    children: ClassVar[tuple[str, ...]]
    sources = PROCESS_SOURCES
    columns = PROCESS_COLUMNS
    rows = PROCESS_ROWS
    group_by = ("host", "_parent", "_image")

    def prepare(self, events: pl.DataFrame) -> pl.DataFrame:
        return with_process_names(events.filter(is_process_creation()))

    def selector(self) -> pl.Expr:
        return pl.col("_parent").is_in(self.parents) & pl.col("_image").is_in(self.children)

    def aggs(self) -> list[pl.Expr]:
        return [pl.col("process_command_line").drop_nulls().first().alias("_example")]

    def explain(self) -> pl.Expr:
        return pl.format(
            "{} started {} {} time(s) on {}; e.g. {}",
            pl.col("_parent"),
            pl.col("_image"),
            pl.col("count"),
            pl.col("host"),
            pl.col("_example").fill_null("(no command line)"),
        )
