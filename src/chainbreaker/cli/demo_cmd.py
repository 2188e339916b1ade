"""`chainbreaker demo`: the README's main job on the bundled demo data.

Runs the real hunt (shipped Sigma rules, analytics, Suricata/Zeek verdicts, the campaign's
threat-intel feed, correlation) over demo/lockbit, writes every output to ``out/demo`` (or
``--out``) and prints the incident summary and the report's path. The demo set is looked up next
to the package (a source checkout: ``<repo>/demo``) and in the current folder; when neither has it
(the package is installed elsewhere) it is generated into a temporary folder with the simulator,
from the same settings as the committed copy.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from chainbreaker.cli.app import FORMAT_OPTION, OutputFormat, app
from chainbreaker.cli.render import print_json, stderr, stdout
from chainbreaker.correlate.summary import render_incidents
from chainbreaker.frameworks import KILLCHAIN_PHASES
from chainbreaker.pipeline import HuntOptions, hunt, result_document

DEMO_SCENARIO = "lockbit"
DEFAULT_OUT = Path("out") / "demo"


def find_demo_set(scenario: str = DEMO_SCENARIO) -> Path | None:
    """``demo/<scenario>`` of the source tree or of the current folder, when its logs are there."""
    from chainbreaker.simulate.demo import default_demo_dir

    for root in (default_demo_dir(), Path.cwd() / "demo"):
        if (root / scenario / "logs").is_dir():
            return root / scenario
    return None


def _generate_demo_set(scenario: str, into: Path) -> Path:
    from chainbreaker.simulate.demo import DEMO_SETS
    from chainbreaker.simulate.engine import simulate

    return simulate(scenario, into / scenario, DEMO_SETS[scenario], force=True).out


def run_demo(out_dir: Path, workers: int | None = None) -> tuple[dict[str, Any], dict[str, list[Path]]]:
    """Hunt the demo set and write the outputs to ``out_dir``: (result document, files per output)."""
    from chainbreaker.outputs import write_outputs
    from chainbreaker.readers import fetch_record

    def fetch(ref: Mapping[str, Any]) -> dict[str, Any] | None:
        return fetch_record(str(ref.get("file")), int(ref.get("record") or 0))

    with tempfile.TemporaryDirectory(prefix="chainbreaker-demo-") as tmp:
        demo = find_demo_set() or _generate_demo_set(DEMO_SCENARIO, Path(tmp))
        feed = demo / "intel" / "campaign.json"
        options = HuntOptions(workers=workers, intel=[feed] if feed.is_file() else [])
        document = result_document(hunt([demo / "logs"], options))
        # Outputs are written while the (possibly temporary) logs still exist: the report quotes events.
        written = write_outputs(["all"], document, out_dir, fetch)
    return document, written


def _chain_table(incident: Mapping[str, Any]) -> Table:
    """The top incident's walk along the Lockheed Martin kill chain, and its ATT&CK techniques."""
    reached = {p["phase"]: p for p in incident["progression"]["killchain"]["phases"]}
    table = Table(title=f"Kill chain of {incident['id']}", caption=", ".join(incident["techniques"]))
    for column in ("phase", "first seen", "alerts"):
        table.add_column(column)
    for phase in KILLCHAIN_PHASES:
        got = reached.get(phase.id)
        table.add_row(phase.name, got["first_seen"] if got else "-", str(got["alerts"]) if got else "0")
    return table


@app.command()
def demo(
    out: Path = typer.Option(DEFAULT_OUT, "--out", "-o", help="Folder for the outputs (report.html...)."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Hunt the bundled LockBit-style intrusion end to end and write the report."""
    if fmt is OutputFormat.table:
        stderr.print("Hunting the bundled demo set (demo/lockbit)...", highlight=False)
    document, written = run_demo(out)
    report = next((p for p in written.get("html", []) if p.name == "report.html"), out / "report.html")
    if fmt is OutputFormat.json:
        print_json(
            {
                "incidents": document["incidents"],
                "outputs": {k: [str(p) for p in v] for k, v in written.items()},
            }
        )
        return
    alerts = document["alerts"]
    stdout.print(Text(f"{len(alerts)} alerts, {len(document['incidents'])} incident(s)", style="bold"))
    stdout.print(render_incidents(document["incidents"]))
    if document["incidents"]:
        stdout.print(_chain_table(document["incidents"][0]))
    # Paths are printed whole (soft wrap): a terminal may fold them, but they stay copyable.
    stdout.print(f"Outputs: {out}", highlight=False, soft_wrap=True)
    stdout.print(f"Report: {report}", highlight=False, soft_wrap=True)
