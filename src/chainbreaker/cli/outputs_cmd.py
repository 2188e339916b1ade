"""`chainbreaker outputs`: list the registered outputs, or write them from a saved result document."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import typer
from rich.table import Table

from chainbreaker.cli.app import FORMAT_OPTION, OutputFormat, app
from chainbreaker.cli.render import print_json, stdout
from chainbreaker.errors import UsageError
from chainbreaker.outputs import registered_outputs, write_outputs


@app.command("outputs")
def outputs_command(
    result: Path | None = typer.Argument(
        None, help="A result document (chainbreaker.json from `hunt --json`) to write outputs from."
    ),
    out_dir: Path = typer.Option(Path("chainbreaker-out"), "--out", "-o", help="Folder to write into."),
    only: list[str] = typer.Option(["all"], "--output", help="Output name (repeatable); default: all."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """List the outputs (the --list-outputs of chainbreaker), or write them from RESULT."""
    if result is None:
        rows: list[dict[str, Any]] = [
            {"name": o.name, "description": o.description, "files": list(o.files)}
            for o in registered_outputs()
        ]
        if fmt is OutputFormat.json:
            print_json(rows)
            return
        table = Table(title="Outputs")
        for column in ("name", "files", "description"):
            table.add_column(column)
        for row in rows:
            table.add_row(row["name"], "\n".join(row["files"]), row["description"])
        stdout.print(table)
        return
    try:
        document = orjson.loads(result.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise UsageError(f"cannot read result document: {exc}", str(result)) from None
    if not isinstance(document, dict) or "alerts" not in document:
        raise UsageError("not a chainbreaker result document (no 'alerts')", str(result))
    written = write_outputs(only, document, out_dir)
    files = {name: [str(p) for p in paths] for name, paths in written.items()}
    if fmt is OutputFormat.json:
        print_json(files)
        return
    for name, paths in files.items():
        stdout.print(f"[bold]{name}[/]: {', '.join(paths)}")
