"""`chainbreaker eval`: score a hunt against ground truth, per kill-chain phase and ATT&CK tactic."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from chainbreaker.cli.app import FORMAT_OPTION, OutputFormat, app
from chainbreaker.cli.render import print_json, stdout
from chainbreaker.errors import UsageError
from chainbreaker.evaluate import evaluate, load_findings, load_labels
from chainbreaker.evaluate.findings import hunt_findings
from chainbreaker.evaluate.metrics import Evaluation, Score


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f}%"


def _table(title: str, unit: str, rows: tuple[Score, ...]) -> Table:
    table = Table(title=title)
    # truth: labelled units; found: of them detected; alerts (for file labels: files with an alert):
    # predictions; TP: predictions that are right; TTD: time to detect in seconds.
    for name in (
        "",
        unit + "s",
        "found",
        "recall",
        "alerts" if unit == "event" else "files hit",
        "TP",
        "prec.",
        "F1",
        "TTD s",
    ):
        table.add_column(name, justify="left" if not name else "right")
    for s in rows:
        ttd = "-" if s.time_to_detect_s is None else f"{s.time_to_detect_s:,.0f}"
        table.add_row(
            s.key,
            str(s.truth),
            str(s.detected),
            _pct(s.recall),
            str(s.alerts),
            str(s.true_alerts),
            _pct(s.precision),
            _pct(s.f1),
            ttd,
        )
    return table


def _render(result: Evaluation) -> None:
    unit = result.unit
    stdout.print(_table(f"overall ({result.labels_format} labels, per {unit})", unit, (result.overall,)))
    stdout.print(_table("per kill-chain phase", unit, result.phases))
    stdout.print(_table("per ATT&CK tactic", unit, result.tactics))
    if result.techniques:
        stdout.print(_table("per ATT&CK technique", unit, result.techniques))
    inc = result.incidents
    if inc:
        stdout.print(
            f"incidents: {inc['found']} of {inc['expected']} expected found; "
            f"{inc['result_incidents']} in the result, {inc['false_incidents']} without malicious events"
        )
        for d in inc["details"]:
            best = d.get("best_incident") or {}
            stdout.print(
                f"  {d['id']}: {'found' if d['found'] else 'missed'} in {d.get('matched', 0)} incident(s)"
                f"{' (one incident)' if d.get('one_incident') else ''}; hosts {len(d['hosts_found'])}/"
                f"{len(d['hosts_expected'])}; best incident {best.get('id', '-')}: phases "
                f"{len(best.get('phases_found', []))}/{len(d['phases_expected'])} claimed, "
                f"{len(best.get('phases_confirmed', []))} confirmed"
            )
    stdout.print(f"alerts citing no labelled {unit}: {result.unmatched_alerts}")


@app.command("eval")
def eval_command(
    paths: list[Path] = typer.Argument(None, help="Inputs to hunt (omit with --result)."),
    labels: Path = typer.Option(
        ..., "--labels", help="ground_truth.jsonl (or its folder), a tactic-folder tree, or OTRF metadata."
    ),
    result: Path | None = typer.Option(
        None, "--result", help="Evaluate this result document instead of running the hunt."
    ),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Compare findings with ground truth: recall, precision, F1, incidents, time to detect."""
    truth = load_labels(labels)
    if result is not None:
        if paths:
            raise UsageError("give either input PATHs to hunt or --result, not both")
        findings = load_findings(result)
    elif paths:
        findings = hunt_findings(paths)
    else:
        raise UsageError("nothing to evaluate: give input PATHs or --result RESULT.json")
    evaluation = evaluate(truth, findings)
    if fmt == OutputFormat.json:
        print_json(evaluation.as_dict())
    else:
        _render(evaluation)
