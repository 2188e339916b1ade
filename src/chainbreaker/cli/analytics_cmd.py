"""`chainbreaker analytics`: list the behavioural analytics, their phases, data needs and parameters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from chainbreaker.cli.app import FORMAT_OPTION, OutputFormat, app
from chainbreaker.cli.render import print_json, stdout
from chainbreaker.config import load_config
from chainbreaker.detect.analytics import build_analytics
from chainbreaker.detect.analytics.base import describe_params


def analytics_listing(config: Path | None = None, only: list[str] | None = None) -> list[dict[str, Any]]:
    """Registry entries with each parameter's default and its effective value under ``config``."""
    listing = []
    loaded = load_config(config)
    enabled = {a.id: a for a in build_analytics(loaded, only)}
    for analytic in build_analytics(None, only):
        entry = analytic.info()
        active = enabled.get(analytic.id)
        entry["enabled"] = active is not None
        values = {p["name"]: p["default"] for p in describe_params(active.params)} if active else {}
        for parameter in entry["parameters"]:
            parameter["value"] = values.get(parameter["name"], parameter["default"])
        listing.append(entry)
    return listing


def _format(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value[:4])) + (", ..." if len(value) > 4 else "") + "]"
    return str(value)


@app.command()
def analytics(
    ids: list[str] = typer.Argument(None, help="Only these analytic ids (default: all)."),
    config: Path = typer.Option(
        None, "--config", "-c", help="TOML config whose \\[analytics.<id>] overrides to show."
    ),
    output: OutputFormat = FORMAT_OPTION,
) -> None:
    """List the behavioural analytics: phases, techniques, data sources needed and parameters."""
    listing = analytics_listing(config, ids or None)
    if output == OutputFormat.json:
        print_json(listing)
        return
    table = Table(title=f"{len(listing)} analytics", show_lines=True)
    for column in ("id", "name / phases / techniques", "sources", "parameters (value; default)"):
        table.add_column(column, overflow="fold")
    for entry in listing:
        params = "\n".join(
            f"{p['name']} = {_format(p['value'])}"
            + ("" if p["value"] == p["default"] else f" (default {_format(p['default'])})")
            for p in entry["parameters"]
        )
        what = f"{entry['name']}\n[dim]{', '.join(entry['phases'])}\n{', '.join(entry['techniques'])}[/]"
        status = entry["id"] if entry["enabled"] else f"{entry['id']} [red](disabled)[/]"
        table.add_row(status, what, "\n".join(entry["sources"]), escape(params) or "-")
    stdout.print(table)
