"""`chainbreaker analytics`: the registry listing as a table and as JSON, with config overrides."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from chainbreaker.cli import app
from chainbreaker.detect.analytics import registered_analytics

runner = CliRunner()


def test_json_lists_every_analytic_with_parameters(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[analytics.beaconing]\nmin_score = 0.9\n[analytics.dcsync]\nenabled = false\n")
    result = runner.invoke(app, ["analytics", "--config", str(config), "--format", "json"])
    assert result.exit_code == 0, result.output
    listing = {entry["id"]: entry for entry in json.loads(result.output)}
    assert set(listing) == {cls.id for cls in registered_analytics()}
    beaconing = listing["beaconing"]
    assert beaconing["phases"] == ["command-and-control"] and beaconing["sources"] == [
        "suricata.flow",
        "zeek.conn",
    ]
    score = next(p for p in beaconing["parameters"] if p["name"] == "min_score")
    assert (score["default"], score["value"], score["type"]) == (0.8, 0.9, "float") and score["doc"]
    assert listing["dcsync"]["enabled"] is False and listing["brute_force"]["enabled"] is True


def test_table_and_errors() -> None:
    result = runner.invoke(app, ["analytics", "vertical_port_scan"])
    assert (
        result.exit_code == 0
        and "Vertical port scan" in result.output
        and "min_failed_targets" in result.output
    )
    # Errors go through chainbreaker.cli.main, which maps them to exit codes.
    unknown = subprocess.run(
        [sys.executable, "-m", "chainbreaker", "analytics", "beaconin"], capture_output=True, text=True
    )
    assert unknown.returncode == 2 and "did you mean beaconing" in unknown.stderr
