"""`chainbreaker demo`: the real hunt on the bundled demo set, one incident with all seven phases,
every output written; installed away from the repository it generates the set first."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chainbreaker.cli import app, demo_cmd
from chainbreaker.simulate.model import KILLCHAIN_PHASE_IDS

runner = CliRunner()


@pytest.mark.skipif(demo_cmd.find_demo_set() is None, reason="demo data not present")
def test_demo_hunts_the_bundled_set_and_writes_the_report(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["demo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"Report: {out / 'report.html'}" in result.stdout
    assert "■■■■■■■" in result.stdout  # the kill-chain bar of the incident: every phase reached
    assert (out / "report.html").stat().st_size > 10_000
    doc = json.loads((out / "chainbreaker.json").read_text())
    (incident,) = doc["incidents"]
    assert incident["killchain_phases"] == list(KILLCHAIN_PHASE_IDS)
    truth = json.loads((demo_cmd.find_demo_set() / "ground_truth.json").read_text())  # type: ignore[operator]
    assert set(incident["hosts"]) == set(truth["incidents"][0]["hosts"])


def test_demo_json_lists_incidents_and_outputs(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--out", str(tmp_path), "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert len(doc["incidents"]) == 1
    assert str(tmp_path / "report.html") in doc["outputs"]["html"]


def test_demo_generates_the_set_when_the_package_has_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo_cmd, "find_demo_set", lambda scenario=demo_cmd.DEMO_SCENARIO: None)
    document, written = demo_cmd.run_demo(tmp_path, workers=1)
    (incident,) = document["incidents"]
    assert incident["killchain_phases"] == list(KILLCHAIN_PHASE_IDS)
    assert (tmp_path / "report.html").is_file() and written["html"]
