"""`chainbreaker frameworks [killchain|attack|ukc]` and `chainbreaker explain ID`."""

from __future__ import annotations

from dataclasses import asdict
from enum import StrEnum
from typing import Any

import typer
from rich.table import Table

from chainbreaker.cli.app import FORMAT_OPTION, OutputFormat, app
from chainbreaker.cli.render import print_json, stderr, stdout
from chainbreaker.errors import UnknownIdError
from chainbreaker.frameworks import KILLCHAIN_PHASES, UKC_PHASES, Explanation, attack, explain, mapping


class Model(StrEnum):
    killchain = "killchain"
    attack = "attack"
    ukc = "ukc"


def _fail(exc: UnknownIdError) -> typer.Exit:
    """Print the error and return the exit to raise: works under CliRunner, where ``main`` is not used."""
    stderr.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
    return typer.Exit(exc.exit_code)


def _killchain_json() -> dict[str, Any]:
    return {"model": "lockheed-martin-cyber-kill-chain", "phases": [asdict(p) for p in KILLCHAIN_PHASES]}


def _ukc_json() -> dict[str, Any]:
    return {"model": "unified-kill-chain", "phases": [asdict(p) for p in UKC_PHASES]}


def attack_json() -> dict[str, Any]:
    """All tactics and every current (non-deprecated, non-revoked) technique and sub-technique."""
    data = attack()
    return {
        "attack_version": data.version,
        "tactics": [{"id": t.id, "short_name": t.short_name, "name": t.name} for t in data.tactics],
        "techniques": [
            {
                "id": t.id,
                "name": t.name,
                "tactics": list(t.tactics),
                "platforms": list(t.platforms),
                "is_subtechnique": t.is_subtechnique,
                "parent": t.parent,
            }
            for t in data.current_techniques()
        ],
    }


def _killchain_table() -> Table:
    table = Table(title="Lockheed Martin Cyber Kill Chain", show_lines=True)
    for col in ("#", "phase", "typical attacks", "countermeasures"):
        table.add_column(col)
    for p in KILLCHAIN_PHASES:
        table.add_row(
            str(p.ocsf_id),
            f"{p.name}\n[dim]{p.id}[/]",
            "\n".join(p.typical_attacks),
            "\n".join(p.countermeasures),
        )
    return table


def _ukc_table() -> Table:
    table = Table(title="Unified Kill Chain")
    for col in ("#", "group", "phase", "id", "ATT&CK tactics", "technique overrides"):
        table.add_column(col)
    table_map = mapping()
    for p in UKC_PHASES:
        tactics = ", ".join(t for t, row in table_map.tactics.items() if p.id in row.ukc)
        techniques = ", ".join(t for t, o in table_map.overrides.items() if p.id in o.phases.ukc)
        table.add_row(str(p.order), p.group, p.name, p.id, tactics, techniques)
    return table


def _attack_tables() -> list[Table]:
    data = attack()
    current = data.current_techniques()
    tactics = Table(title=f"MITRE ATT&CK Enterprise {data.version}: tactics")
    for col in ("id", "short name", "name", "techniques", "kill chain", "UKC"):
        tactics.add_column(col)
    for t in data.tactics:
        row = mapping().tactics[t.short_name]
        count = sum(1 for tech in current if t.short_name in tech.tactics)
        tactics.add_row(t.id, t.short_name, t.name, str(count), ", ".join(row.killchain), ", ".join(row.ukc))
    techniques = Table(title=f"techniques and sub-techniques ({len(current)})")
    for col in ("id", "name", "tactics", "platforms"):
        techniques.add_column(col)
    for tech in current:
        techniques.add_row(tech.id, tech.name, ", ".join(tech.tactics), ", ".join(tech.platforms))
    return [tactics, techniques]


@app.command()
def frameworks(
    model: Model = typer.Argument(Model.killchain, help="Which model to list."),
    output: OutputFormat = FORMAT_OPTION,
) -> None:
    """List the phases of the kill chain or the UKC, or every ATT&CK tactic and technique."""
    if output is OutputFormat.json:
        builders = {Model.killchain: _killchain_json, Model.ukc: _ukc_json, Model.attack: attack_json}
        print_json(builders[model]())
        return
    tables = {
        Model.killchain: [_killchain_table()],
        Model.ukc: [_ukc_table()],
        Model.attack: _attack_tables(),
    }
    for table in tables[model]:
        stdout.print(table)


def render_explanation(found: Explanation) -> None:
    """Print an explanation as a short chain: item -> tactics -> kill chain -> UKC -> countermeasures."""
    title = f"[bold]{found.id}[/] {found.details.get('full_name', found.name)}  [dim]({found.kind})[/]"
    stdout.print(title)
    if found.description:
        stdout.print(found.description)
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    if found.details.get("platforms"):
        grid.add_row("platforms", ", ".join(found.details["platforms"]))
    grid.add_row("ATT&CK tactics", ", ".join(f"{t['name']} ({t['id']})" for t in found.tactics) or "-")
    grid.add_row("kill chain", " -> ".join(f"{p.ocsf_id}. {p.name}" for p in found.killchain) or "-")
    grid.add_row("UKC", " -> ".join(f"{p.order}. {p.name} [dim]({p.group})[/]" for p in found.ukc) or "-")
    stdout.print(grid)
    if found.countermeasures:
        stdout.print("[bold]break the chain:[/]")
        for item in found.countermeasures:
            stdout.print(f"  - {item}", highlight=False)


@app.command(name="explain")
def explain_cmd(
    identifier: str = typer.Argument(
        ..., metavar="ID", help="Technique (T1059.001), tactic (TA0005) or phase."
    ),
    output: OutputFormat = FORMAT_OPTION,
) -> None:
    """Explain an ATT&CK technique, tactic or kill-chain phase and how to break the chain there."""
    try:
        found = explain(identifier)
    except UnknownIdError as exc:
        raise _fail(exc) from exc
    if output is OutputFormat.json:
        print_json(found.to_dict())
    else:
        render_explanation(found)
