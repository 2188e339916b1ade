"""`chainbreaker eval` end to end: on a result document, and running the real hunt on simulated data."""

from __future__ import annotations

from pathlib import Path

import orjson
from typer.testing import CliRunner

from chainbreaker.cli import app
from chainbreaker.errors import UsageError
from chainbreaker.simulate import SimConfig, simulate

runner = CliRunner()


def _truth(folder: Path) -> list[dict]:
    return [orjson.loads(line) for line in (folder / "ground_truth.jsonl").read_bytes().splitlines()]


def test_eval_result_document_json(tmp_path: Path) -> None:
    sim = tmp_path / "sim"
    simulate("lockbit", sim, SimConfig(hosts=3, days=0.15, noise=5, seed=4))
    truth = _truth(sim)
    encrypt = [t for t in truth if t["technique"] == "T1486"]
    # one alert per encrypted file record on the file server, as a perfect ransomware detector would give
    alerts = [
        {
            "id": f"a{i}",
            "rule_id": "x",
            "time": t["time"],
            "tactics": ["impact"],
            "killchain_phases": ["actions-on-objectives"],
            "event_ref": {"file": str(sim / t["file"]), "record": t["record"]},
        }
        for i, t in enumerate(encrypt)
    ]
    alerts.append(
        {
            "id": "fp",
            "rule_id": "y",
            "time": truth[0]["time"],
            "tactics": ["impact"],
            "killchain_phases": ["actions-on-objectives"],
            "event_ref": {"file": str(sim / "logs/zeek/conn.log"), "record": 9_999_999},
        }
    )
    result_file = tmp_path / "result.json"
    result_file.write_bytes(orjson.dumps({"alerts": alerts, "incidents": []}))
    out = runner.invoke(app, ["eval", "--labels", str(sim), "--result", str(result_file), "--format", "json"])
    assert out.exit_code == 0, out.output
    doc = orjson.loads(out.stdout)
    impact = next(r for r in doc["tactics"] if r["key"] == "impact")
    n_impact = sum(1 for t in truth if t["tactic"] == "impact")
    assert impact["truth"] == n_impact
    assert impact["detected"] == len(encrypt)
    assert impact["alerts"] == len(encrypt) + 1 and impact["true_alerts"] == len(encrypt)
    assert doc["overall"]["recall"] == round(len(encrypt) / len(truth), 4)
    assert doc["unmatched_alerts"] == 1
    assert doc["incidents"]["expected"] == 1 and doc["incidents"]["found"] == 0
    table = runner.invoke(
        app, ["eval", "--labels", str(sim / "ground_truth.jsonl"), "--result", str(result_file)]
    )
    assert table.exit_code == 0 and "per kill-chain phase" in table.output


def test_eval_needs_paths_or_result(tmp_path: Path) -> None:
    sim = tmp_path / "sim"
    simulate("benign", sim, SimConfig(hosts=3, days=0.05, noise=5, seed=4))
    out = runner.invoke(app, ["eval", "--labels", str(sim)])
    assert isinstance(out.exception, UsageError)


def test_eval_runs_the_hunt_on_simulated_data(tmp_path: Path) -> None:
    """The real pipeline (readers + shipped Sigma rules) on a small lockbit run: some true detections."""
    sim = tmp_path / "sim"
    simulate("lockbit", sim, SimConfig(hosts=3, days=0.15, noise=5, seed=9))
    out = runner.invoke(app, ["eval", "--labels", str(sim), str(sim / "logs"), "--format", "json"])
    assert out.exit_code == 0, out.output
    doc = orjson.loads(out.stdout)
    assert doc["overall"]["truth"] == len(_truth(sim))
    assert doc["overall"]["detected"] > 0
    assert doc["overall"]["true_alerts"] > 0
