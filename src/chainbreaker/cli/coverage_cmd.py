"""`chainbreaker coverage`: what the loaded Sigma rules and the analytics can see, and the gaps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import typer
from rich.table import Table

from chainbreaker.cli.app import FORMAT_OPTION, OutputFormat, app
from chainbreaker.cli.render import print_json, stdout
from chainbreaker.errors import UsageError
from chainbreaker.respond.coverage import Detection, coverage, detection


def default_rule_dirs() -> list[Path]:
    """The rules `hunt` uses without --sigma (the `rules update` set and the shipped rules)."""
    from chainbreaker.pipeline import default_rule_paths

    return default_rule_paths()


def sigma_detections(dirs: list[Path]) -> tuple[list[Detection], dict[str, Any]]:
    """Detections of every rule the Sigma engine loads and compiles (what a hunt would run)."""
    from chainbreaker.detect.sigma.loader import load_rules

    ruleset = load_rules(dirs)
    found = [
        detection("sigma", r.id, r.title, r.techniques, r.tactics, r.killchain_phases, r.ukc_phases)
        for r in ruleset.rules
    ]
    report = ruleset.report()
    return found, {k: report[k] for k in ("total", "loaded", "failed", "unsupported") if k in report}


def analytic_detections() -> list[Detection]:
    from chainbreaker.detect.analytics import registered_analytics

    return [
        detection("analytic", a.id, a.name, a.techniques, a.tactics, a.phases) for a in registered_analytics()
    ]


def _table(report: dict[str, Any]) -> Table:
    table = Table(title="Kill-chain coverage (Lockheed Martin)")
    for column in ("phase", "sigma rules", "analytics", "techniques covered", "gap"):
        table.add_column(column, justify="right" if column not in ("phase", "gap") else "left")
    for row in report["killchain"]:
        table.add_row(
            row["name"],
            str(row["sigma"]),
            str(row["analytics"]),
            f"{row['techniques_covered']}/{row['techniques_total']}",
            "[bold red]GAP[/]" if row["gap"] else f"{row['missing_total']} technique(s) unseen",
        )
    return table


def _tactics_table(report: dict[str, Any]) -> Table:
    table = Table(title="ATT&CK tactics")
    for column in ("tactic", "sigma rules", "analytics", "techniques covered"):
        table.add_column(column, justify="left" if column == "tactic" else "right")
    for row in report["tactics"]:
        style = "red" if row["gap"] else ""
        table.add_row(
            f"[{style}]{row['name']}[/]" if style else row["name"],
            str(row["sigma"]),
            str(row["analytics"]),
            f"{row['techniques_covered']}/{row['techniques_total']}",
        )
    return table


@app.command("coverage")
def coverage_command(
    sigma: list[Path] = typer.Option(
        [], "--sigma", help="Sigma rule file or folder (repeatable); default: the rules hunt uses."
    ),
    no_analytics: bool = typer.Option(False, "--no-analytics", help="Leave the behavioural analytics out."),
    navigator: Path | None = typer.Option(
        None, "--navigator", help="Also write an ATT&CK Navigator layer (4.5) of the coverage to FILE."
    ),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Which kill-chain phases, tactics and techniques the rules and analytics see; gaps per phase."""
    from chainbreaker.outputs.navigator import layer

    for path in sigma:
        if not path.exists():
            raise UsageError(f"no such rule file or folder: {path}")
    dirs = list(sigma) or default_rule_dirs()
    detections, rules_report = sigma_detections(dirs) if dirs else ([], {})
    if not no_analytics:
        detections += analytic_detections()
    report = coverage(detections)
    report["rules"] = rules_report
    report["rule_paths"] = [str(d) for d in dirs]
    if navigator is not None:
        scores = {t: v["sigma"] + v["analytics"] for t, v in report["techniques"].items()}
        comments = {
            t: [f"{v['sigma']} Sigma rule(s), {v['analytics']} analytic(s)"]
            for t, v in report["techniques"].items()
        }
        doc = layer(
            "chainbreaker coverage", "Techniques the loaded rules and analytics detect", scores, comments
        )
        navigator.parent.mkdir(parents=True, exist_ok=True)
        navigator.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
        report["navigator"] = str(navigator)
    if fmt is OutputFormat.json:
        print_json(report)
        return
    stdout.print(
        f"{report['sigma_rules']} Sigma rule(s), {report['analytics']} analytic(s); "
        f"{report['techniques_covered']} of {report['techniques_total']} ATT&CK {report['attack_version']} "
        "techniques covered"
    )
    stdout.print(_table(report))
    stdout.print(_tactics_table(report))
    gaps = [r["name"] for r in report["ukc"] if r["gap"]]
    if gaps:
        stdout.print(f"Unified Kill Chain phases without detection: {', '.join(gaps)}")
    if navigator is not None:
        stdout.print(f"Navigator layer written to {navigator}")
