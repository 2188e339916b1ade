"""The whole hunt (real readers, Sigma engine, analytics) with correlation on the bundled demo
scenario, judged against the scenario's own ground truth file (not against numbers written here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parents[2] / "demo" / "lockbit"


@pytest.mark.skipif(not (DEMO / "ground_truth.json").exists(), reason="demo data not present")
def test_demo_intrusion_is_one_incident_on_the_attacked_hosts() -> None:
    from chainbreaker.detect.analytics import AnalyticsDetector
    from chainbreaker.pipeline import HuntOptions, hunt

    truth = json.loads((DEMO / "ground_truth.json").read_text())
    (expected,) = truth["incidents"]
    # hunt() learns address -> host pairs from the batches and correlates (HuntOptions.correlate).
    result = hunt([DEMO / "logs"], HuntOptions(workers=1), extra_detectors=[AnalyticsDetector()])
    assert result.incidents, "the intrusion opens an incident"
    top = result.incidents[0]  # ranked by score
    assert set(top["hosts"]) == set(expected["hosts"])
    assert set(top["killchain_phases"]) <= set(expected["phases"])
    assert top["break_at"] == min(top["killchain_phases"], key=expected["phases"].index)
    assert top["first_seen"] >= expected["first_event"][:19]
    # Whatever the scenario's noise raised stays out of the intrusion's incident.
    attacked = {h.lower() for h in expected["hosts"]}
    for alert in result.alerts:
        if alert.id in top["alert_ids"] and alert.host:
            assert alert.host.split(".")[0].lower() in attacked


@pytest.mark.skipif(not (DEMO / "ground_truth.json").exists(), reason="demo data not present")
def test_hunt_cli_writes_incidents_and_every_output(tmp_path: Path) -> None:
    import jsonschema
    from typer.testing import CliRunner

    from chainbreaker.cli import app
    from chainbreaker.outputs import registered_outputs

    out, doc_file = tmp_path / "out", tmp_path / "result.json"
    cli = CliRunner().invoke(
        app, ["hunt", str(DEMO / "logs"), "--workers", "1", "--json", str(doc_file), "--out", str(out)]
    )
    assert cli.exit_code == 0, cli.output
    doc = json.loads(doc_file.read_text())
    schema_file = Path(__file__).resolve().parents[2] / "src/chainbreaker/outputs/result.schema.json"
    jsonschema.validate(doc, json.loads(schema_file.read_text()), format_checker=jsonschema.FormatChecker())
    assert doc["incidents"] and doc["stats"]["incidents"] == len(doc["incidents"])
    top = doc["incidents"][0]
    assert top["id"] in cli.output and "■" in cli.output  # the terminal summary with its kill-chain bar
    for cls in registered_outputs():
        for name in cls.files:
            assert (out / name.replace("<incident>", top["id"])).is_file(), name
    report = (out / "report.html").read_text()
    assert top["title"].split(":")[0] in report and "raw event" in report  # evidence fetched from the logs
    hosts = (out / "containment" / "hosts.txt").read_text().split()
    assert set(top["hosts"]) <= set(hosts)


@pytest.mark.skipif(not (DEMO / "ground_truth.json").exists(), reason="demo data not present")
def test_hunt_cli_takes_correlation_settings_from_the_config(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from chainbreaker.cli import app
    from chainbreaker.errors import ConfigError

    bad = tmp_path / "bad.toml"
    bad.write_text('[correlate]\nwindow = "soon"\n')
    result = CliRunner().invoke(app, ["hunt", str(DEMO / "logs"), "-w", "1", "--config", str(bad)])
    assert isinstance(result.exception, ConfigError) and "window" in str(result.exception)
    strict = tmp_path / "strict.toml"
    strict.write_text('[correlate]\nmin_level = "critical"\n')
    result = CliRunner().invoke(app, ["hunt", str(DEMO / "logs"), "-w", "1", "-c", str(strict), "-f", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["incidents"] and {i["level"] for i in doc["incidents"]} == {"critical"}
