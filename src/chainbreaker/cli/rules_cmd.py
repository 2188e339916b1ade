"""`chainbreaker rules ...`: the ``rules`` sub-app (``check`` here; ``update`` registers itself).

Other command modules add sub-commands with ``@rules_app.command()`` after importing ``rules_app``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from chainbreaker.cli.app import FORMAT_OPTION, OutputFormat, app
from chainbreaker.cli.render import print_json, stdout
from chainbreaker.detect.sigma.loader import load_rules
from chainbreaker.detect.sigma.rules import RuleSet

rules_app = typer.Typer(name="rules", help="Sigma rule sets: check them, update them.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")

FAILURES_SHOWN = 50


@rules_app.command("check")
def check(
    paths: list[Path] = typer.Argument(..., help="Rule files or folders (read recursively)."),
    placeholders: Path | None = typer.Option(None, "--placeholders", help="YAML: expand placeholder values."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Compile afresh, ignoring the compiled cache."),
    strict: bool = typer.Option(
        False, "--strict", help="Exit with code 1 when a rule failed (a gate for rule repositories' CI)."
    ),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Load and compile rules; report every rule that fails or needs a source chainbreaker does not read."""
    ruleset = load_rules(paths, placeholders, use_cache=not no_cache)
    report = ruleset.report()
    report["seconds"] = round(ruleset.load_seconds, 3)
    report["from_cache"] = ruleset.from_cache
    if fmt == OutputFormat.json:
        print_json(report)
    else:
        _print_report(ruleset, report)
    if strict and ruleset.failed:  # unsupported rules (a source we do not read) are not failures
        raise typer.Exit(1)


def _print_report(ruleset: RuleSet, report: dict[str, Any]) -> None:
    summary = Table(title="Sigma rules", show_header=False)
    for key in ("files", "total", "loaded", "failed", "unsupported", "correlation_files", "seconds"):
        summary.add_row(key, str(report[key]))
    stdout.print(summary)
    if ruleset.failed:
        table = Table(title=f"Failures ({len(ruleset.failed)})")
        table.add_column("file (name; --format json gives the path)", no_wrap=True)
        table.add_column("reason")
        for problem in ruleset.failed[:FAILURES_SHOWN]:
            table.add_row(Path(problem.file).name, problem.reason)
        stdout.print(table)
    if ruleset.unsupported:
        reasons = Counter(p.reason for p in ruleset.unsupported)
        table = Table(title=f"Unsupported ({len(ruleset.unsupported)})")
        table.add_column("rules", justify="right")
        table.add_column("reason")
        for reason, count in reasons.most_common():
            table.add_row(str(count), reason)
        stdout.print(table)
