"""`chainbreaker hunt PATH... [--sigma DIR] [--json FILE]`: detect, and write the result document."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

import orjson
import typer
from rich.table import Table

from chainbreaker.alerts import Level
from chainbreaker.cli.app import FORMAT_OPTION, OutputFormat, app
from chainbreaker.cli.hunt_rules import check_rule_paths, check_selection, report_rules
from chainbreaker.cli.render import ReadingBar, print_json, print_read_warnings, stderr, stdout
from chainbreaker.config import load_config
from chainbreaker.correlate.summary import render_incidents
from chainbreaker.detect.sigma.selection import Selection, parse_logsource, read_exclusions
from chainbreaker.detect.sigma.update import CACHE_ENV, cache_root
from chainbreaker.errors import UsageError
from chainbreaker.pipeline import HuntOptions, hunt, result_document

ALERT_ROWS_SHOWN = 30


def _selection(
    min_level: str,
    status: list[str],
    tag: list[str],
    rule_id: list[str],
    logsource: list[str],
    exclude: Path | None,
) -> Selection:
    try:
        level = Level.parse(min_level)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return Selection(
        min_level=level,
        statuses=frozenset(s.lower() for s in status) or None,
        tags=frozenset(t.lower() for t in tag),
        rule_ids=frozenset(rule_id),
        logsources=tuple(parse_logsource(v) for v in logsource),
        excluded_ids=read_exclusions(exclude) if exclude else frozenset(),
    )


@app.command("hunt")
def hunt_command(
    paths: list[Path] = typer.Argument(..., help="Log files, folders (recursive) or archives."),
    sigma: list[Path] = typer.Option(
        [],
        "--sigma",
        "-s",
        help=(
            "Sigma rule folder or file (repeatable). Default: the set `rules update` installed in"
            f" ${CACHE_ENV}, else $XDG_CACHE_HOME/chainbreaker/sigma, else ~/.cache/chainbreaker/sigma"
            f" (here: {cache_root() / 'current'}), when present, plus the shipped rules."
        ),
    ),
    json_file: Path | None = typer.Option(None, "--json", help="Write the result document to this file."),
    store: str | None = typer.Option(
        None, "--store", help="Also save the run in this result store (file, folder or postgresql:// URL)."
    ),
    min_level: str = typer.Option("informational", "--min-level", help="Lowest rule level to run."),
    status: list[str] = typer.Option(
        [], "--status", help="Rule statuses to run (repeatable). Default: all but deprecated/unsupported."
    ),
    tag: list[str] = typer.Option([], "--tag", help="Only rules with this tag or tag prefix (attack.t1059)."),
    rule_id: list[str] = typer.Option([], "--rule-id", help="Only these rule ids (repeatable)."),
    logsource: list[str] = typer.Option(
        [], "--logsource", help="Only rules of this log source (product:windows)."
    ),
    exclude: Path | None = typer.Option(None, "--exclude", help="File of rule ids to skip, one a line."),
    placeholders: Path | None = typer.Option(None, "--placeholders", help="YAML: expand placeholder values."),
    profile_rules: bool = typer.Option(
        False,
        "--profile-rules",
        help="Time each rule; the 20 slowest: a table and stats.rule_profile.",
    ),
    no_cache: bool = typer.Option(False, "--no-cache", help="Compile rules afresh."),
    workers: int = typer.Option(2, "--workers", "-w", min=1, help="Reader processes."),
    out_dir: Path | None = typer.Option(
        None,
        "--out",
        "-o",
        help="Write the outputs (report.html, stix.json... see `chainbreaker outputs`) here.",
    ),
    output: list[str] = typer.Option([], "--output", help="Only these outputs (repeatable); default: all."),
    no_correlate: bool = typer.Option(False, "--no-correlate", help="Do not group alerts into incidents."),
    intel: list[Path] = typer.Option(
        [], "--intel", help="Indicator file: STIX 2.1 bundle, MISP JSON, CSV or text list (repeatable)."
    ),
    no_analytics: bool = typer.Option(False, "--no-analytics", help="Do not run the behavioural analytics."),
    no_verdicts: bool = typer.Option(
        False, "--no-verdicts", help="Do not turn Suricata alerts and Zeek notices into alerts."
    ),
    config: Path | None = typer.Option(
        None,
        "--config",
        "-c",
        help=(
            "TOML config: \\[analytics.<id>], \\[correlate], \\[assets], \\[intel], \\[output]"
            " (README: Configuration)."
        ),
    ),
    engine: str = typer.Option(
        "embedded",
        "--engine",
        help="embedded (Polars, this machine) or spark (PATHS: ingest's Parquet output).",
    ),
    master: str = typer.Option(
        "local[2]", "--master", help="Spark master: local[N], spark://HOST:7077, yarn..."
    ),
    spark_conf: list[str] = typer.Option(
        [], "--spark-conf", help="Extra Spark setting KEY=VALUE (repeatable)."
    ),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Run Sigma rules (and the other detectors) over logs; print a summary, write the result as JSON."""
    settings = load_config(config)
    check_rule_paths(sigma)
    out_dir = out_dir if out_dir is not None else settings.output_dir()
    output = output or settings.outputs()
    options = HuntOptions(
        sigma=sigma,
        selection=_selection(min_level, status, tag, rule_id, logsource, exclude),
        profile_rules=profile_rules,
        placeholders=placeholders,
        use_cache=not no_cache,
        workers=workers,
        correlate=not no_correlate,
        analytics=not no_analytics,
        verdicts=not no_verdicts,
        intel=[*intel, *settings.intel_feeds()],
        config=settings.data if config is not None else None,
    )
    if engine not in ("spark", "embedded"):
        raise UsageError(f"unknown engine {engine!r}: embedded or spark")
    if options.selection.rule_ids or options.selection.tags:  # checked on the rules the hunt loads
        options.rule_check = partial(check_selection, options.selection)
    if engine == "spark":  # docs/SCALE.md
        from chainbreaker.engines.spark.hunt import spark_hunt

        conf = dict(item.split("=", 1) for item in spark_conf if "=" in item)
        result = spark_hunt(paths, options, master=master, conf=conf)
    else:
        bar = ReadingBar()
        options.progress = bar
        with bar.progress:
            result = hunt(paths, options)
    document = result_document(result)
    if json_file is not None:
        json_file.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS))
    if store is not None:  # the workbench's store (chainbreaker.store, docs/WORKBENCH.md)
        from chainbreaker.store import save_result

        meta = {"inputs": [str(p) for p in paths], "options": {"sigma": [str(p) for p in sigma]}}
        stderr.print(f"stored as run {save_result(store, document, meta)}", highlight=False)
    written = _write_outputs(document, out_dir, output) if out_dir is not None else {}
    if fmt == OutputFormat.json:
        print_json(document)
    else:
        _print_summary(document)
        if document["incidents"]:
            stdout.print(render_incidents(document["incidents"]))
        for name, files in written.items():
            stdout.print(f"[bold]{name}[/]: {', '.join(str(p) for p in files)}")
        print_read_warnings(result.read.warnings)
    report_rules(result, sigma, options.selection)
    if profile_rules:
        table = Table(title="Slowest rules")
        for column in ("seconds", "rule id", "title"):
            table.add_column(column)
        for rid, title, seconds in result.rule_seconds:
            table.add_row(f"{seconds:.4f}", rid, title)
        (stderr if fmt == OutputFormat.json else stdout).print(table)


def _write_outputs(document: dict[str, Any], out_dir: Path, names: list[str]) -> dict[str, list[Path]]:
    """Run the outputs; raw events for the HTML report come from the readers' fetch."""
    from chainbreaker.outputs import write_outputs
    from chainbreaker.readers import fetch_record

    def fetch(ref: Mapping[str, Any]) -> dict[str, Any] | None:
        return fetch_record(str(ref.get("file")), int(ref.get("record") or 0))

    return write_outputs(names or ["all"], document, out_dir, fetch)


def _print_summary(document: dict[str, object]) -> None:
    alerts: list[dict[str, object]] = document["alerts"]  # type: ignore[assignment]
    counts = Counter((a["level"], a["title"]) for a in alerts)
    order = {level.name: level.value for level in Level}
    table = Table(title=f"Alerts by rule ({len(alerts)} alerts)")
    table.add_column("level")
    table.add_column("rule")
    table.add_column("alerts", justify="right")
    ranked = sorted(counts.items(), key=lambda kv: (-order.get(str(kv[0][0]), 0), -kv[1], str(kv[0][1])))
    for (level, title), count in ranked[:ALERT_ROWS_SHOWN]:
        table.add_row(str(level), str(title), str(count))
    stdout.print(table)
    stats = Table(title="Run", show_header=False)
    for key, value in document["stats"].items():  # type: ignore[attr-defined]
        if not isinstance(value, list | dict):  # rule_profile: the "Slowest rules" table
            stats.add_row(str(key), str(value))
    stdout.print(stats)
