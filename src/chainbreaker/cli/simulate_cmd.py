"""`chainbreaker simulate`: write an attack scenario's telemetry and ground truth."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from chainbreaker.cli.app import FORMAT_OPTION, OutputFormat, app
from chainbreaker.cli.render import print_json, stdout
from chainbreaker.errors import UsageError
from chainbreaker.simulate import (
    DEFAULT_NOISE,
    DEFAULT_START,
    SimConfig,
    get_scenario,
    scenario_names,
    simulate,
)


@app.command("simulate")
def simulate_command(
    scenario: str = typer.Argument(None, help=f"Scenario: {', '.join(scenario_names())}."),
    out: Path = typer.Option(None, "--out", "-o", help="Output folder (logs/ and ground_truth.* go here)."),
    hosts: int = typer.Option(
        6, "--hosts", help="Windows hosts (DC, file server, scenario servers, workstations)."
    ),
    days: float = typer.Option(
        1.0, "--days", help="Length of the simulated window in days (fractions allowed)."
    ),
    noise: float = typer.Option(
        DEFAULT_NOISE, "--noise", help="Benign activities per Windows host per hour."
    ),
    seed: int = typer.Option(1, "--seed", help="Random seed; the same seed gives byte-identical output."),
    start: str = typer.Option(
        DEFAULT_START.isoformat(), "--start", help="Start of the window (ISO 8601, UTC)."
    ),
    force: bool = typer.Option(False, "--force", help="Replace an existing logs/ folder in OUT."),
    list_scenarios: bool = typer.Option(False, "--list-scenarios", help="List the scenarios and exit."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Simulate SCENARIO: Windows, Zeek, Suricata and auth.log telemetry with noise, plus ground truth."""
    if list_scenarios:
        _list(fmt)
        return
    if scenario is None or out is None:
        raise UsageError("give a SCENARIO and --out DIR (or --list-scenarios)")
    get_scenario(scenario)  # unknown names fail here with suggestions
    try:
        begin = datetime.fromisoformat(start.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--start {start!r} is not an ISO 8601 time") from None
    if begin.tzinfo is None:
        raise UsageError("--start needs a time zone (e.g. 2026-01-05T07:00:00Z)")
    config = SimConfig(hosts=hosts, days=days, noise=noise, seed=seed, start=begin)
    result = simulate(scenario, out, config, force=force)
    if fmt == OutputFormat.json:
        print_json(result.as_dict())
        return
    table = Table(
        title=f"{scenario}: {result.events:,} events, {result.malicious:,} malicious, {result.seconds:.1f} s"
    )
    table.add_column("file")
    table.add_column("records", justify="right")
    for name, count in result.files.items():
        table.add_row(name, f"{count:,}")
    stdout.print(table)
    stdout.print(f"ground truth: {out / 'ground_truth.jsonl'} and {out / 'ground_truth.json'}")


def _list(fmt: OutputFormat) -> None:
    rows: list[dict[str, Any]] = []
    for name in scenario_names():
        sc = get_scenario(name)
        rows.append(
            {
                "name": name,
                "description": sc.description,
                "roles": list(sc.roles),
                "duration_minutes": round(sc.duration / 60),
            }
        )
    if fmt == OutputFormat.json:
        print_json(rows)
        return
    table = Table(title="scenarios")
    for column in ("name", "minutes", "extra hosts", "description"):
        table.add_column(column)
    for r in rows:
        table.add_row(r["name"], str(r["duration_minutes"]), ", ".join(r["roles"]) or "-", r["description"])
    stdout.print(table)
