"""`chainbreaker ingest`, `chainbreaker stats` and `chainbreaker readers`.

``ingest`` writes a Parquet *dataset folder* (``-o events.parquet`` creates the folder
``events.parquet/`` with ``part-TTTTTT-SSSSS.parquet`` files in read order, one per batch frame;
Windows batches come as one frame per channel). Frames have different original columns (Sysmon,
Security, Zeek... each bring their own), so one Parquet schema cannot be fixed up front without
holding the whole input; part files keep memory flat and let the workers write in parallel.
Read the folder back with
``chainbreaker.readers.scan_parquet_parts("events.parquet")`` (a Polars LazyFrame) or DuckDB
``read_parquet('events.parquet/*.parquet', union_by_name=true)``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import polars as pl
import typer
from rich.table import Table

from chainbreaker.cli.app import FORMAT_OPTION, OutputFormat, app
from chainbreaker.cli.render import ReadingBar, print_json, print_read_warnings, stdout
from chainbreaker.errors import UsageError
from chainbreaker.readers import DEFAULT_BATCH_SIZE, ReadReport, read_paths, write_parquet_parts
from chainbreaker.readers.registry import registered_readers

PATHS_ARGUMENT = typer.Argument(..., help="Files, folders (read recursively) or archives (.gz, .bz2, .zip).")
BATCH_OPTION = typer.Option(DEFAULT_BATCH_SIZE, "--batch-size", min=1, help="Records per batch (at most).")
WORKERS_OPTION = typer.Option(2, "--workers", "-w", min=1, help="Reader processes.")


@app.command()
def ingest(
    paths: list[Path] = PATHS_ARGUMENT,
    output: Path = typer.Option(..., "--output", "-o", help="Parquet dataset folder to create."),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace the part files of an existing output."
    ),
    batch_size: int = BATCH_OPTION,
    workers: int = WORKERS_OPTION,
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Normalise logs to a Parquet dataset folder (one part file per batch frame)."""
    old_parts = sorted(output.glob("part-*.parquet")) if output.is_dir() else []
    if output.exists() and not output.is_dir():
        raise UsageError(f"output {output} exists and is not a folder")
    if old_parts and not overwrite:
        raise UsageError(f"output {output} already holds part files; pass --overwrite to replace them")
    for part in old_parts:
        part.unlink()
    report = ReadReport()
    started = time.perf_counter()
    bar = ReadingBar()
    with bar.progress:
        parts = write_parquet_parts(paths, output, report, batch_size, workers, progress=bar)
    summary = report.as_dict() | {
        "output": str(output),
        "parts": len(parts),
        "seconds": round(time.perf_counter() - started, 3),
    }
    if fmt == OutputFormat.json:
        print_json(summary)
        return
    _print_summary(summary, report)


@app.command()
def stats(
    paths: list[Path] = PATHS_ARGUMENT,
    batch_size: int = BATCH_OPTION,
    workers: int = WORKERS_OPTION,
    top: int = typer.Option(20, "--top", min=1, help="Rows per table (JSON lists everything)."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Count records per source, channel, event id and host, and the time range (log metrics)."""
    report = ReadReport()
    counts: dict[str, list[pl.DataFrame]] = {key: [] for key in _GROUPS}
    first: Any = None
    last: Any = None
    bar = ReadingBar()
    with bar.progress:
        for batch in read_paths(paths, report, batch_size, workers, progress=bar):
            for key, columns in _GROUPS.items():
                counts[key].append(batch.group_by(columns).len("records"))
            low, high = batch["timestamp"].min(), batch["timestamp"].max()
            first = low if first is None or (low is not None and low < first) else first
            last = high if last is None or (high is not None and high > last) else last
    result = report.as_dict() | {
        "first": first.isoformat() if first is not None else None,
        "last": last.isoformat() if last is not None else None,
    }
    for key, columns in _GROUPS.items():
        result[key] = _total(counts[key], columns)
    if fmt == OutputFormat.json:
        print_json(result)
        return
    _print_summary(result, report)
    for key, columns in _GROUPS.items():
        table = Table(*columns, "records", title=key.replace("_", " "), title_justify="left")
        for row in result[key][:top]:
            table.add_row(
                *(str(row[c]) if row[c] is not None else "-" for c in columns), f"{row['records']:,}"
            )
        stdout.print(table)


_GROUPS: dict[str, list[str]] = {
    "sources": ["source"],
    "channels": ["channel"],
    "event_ids": ["channel", "event_code"],
    "hosts": ["host"],
}


def _total(parts: list[pl.DataFrame], columns: list[str]) -> list[dict[str, Any]]:
    if not parts:
        return []
    totals = pl.concat(parts).group_by(columns).agg(pl.col("records").sum())
    return totals.sort(
        ["records", *columns], descending=[True] + [False] * len(columns), nulls_last=True
    ).to_dicts()


@app.command("readers")
def readers_command(fmt: OutputFormat = FORMAT_OPTION) -> None:
    """List the registered readers, in the order they are tried."""
    rows = [
        {"name": r.name, "priority": r.priority, "description": r.description} for r in registered_readers()
    ]
    if fmt == OutputFormat.json:
        print_json(rows)
        return
    table = Table(
        "name", "priority", "description", title="readers (tried in this order)", title_justify="left"
    )
    for cls in registered_readers():
        table.add_row(cls.name, str(cls.priority), cls.description)
    stdout.print(table)


def _print_summary(summary: dict[str, Any], report: ReadReport) -> None:
    table = Table("", "", show_header=False, box=None)
    table.add_row("records read", f"{summary['records']:,}")
    table.add_row("records skipped", f"{summary['skipped']:,}")
    table.add_row("files", f"{len(report.files):,}")
    table.add_row("warnings", f"{len(report.warnings):,}")
    for key in ("first", "last", "output", "parts", "seconds"):
        if key in summary:
            table.add_row(key, str(summary[key]))
    stdout.print(table)
    print_read_warnings(report.warnings)
