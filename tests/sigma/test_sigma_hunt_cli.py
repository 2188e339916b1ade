"""`chainbreaker hunt` and `chainbreaker rules check` end to end, on real EVTX and SigmaHQ rules."""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from chainbreaker.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAINBREAKER_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cli-cache"))


@pytest.fixture(scope="module")
def samples(dataset: Callable[[str], Path]) -> Path:
    return dataset("evtx-attack-samples") / "EVTX-ATTACK-SAMPLES" / "Credential Access"


@pytest.fixture(scope="module")
def rule_dirs(dataset: Callable[[str], Path]) -> list[Path]:
    windows = dataset("sigma") / "sigma" / "rules" / "windows"
    return [windows / "process_access", windows / "builtin" / "security", windows / "process_creation"]


def _hunt(samples: Path, rule_dirs: list[Path], *extra: str) -> dict:  # type: ignore[type-arg]
    args = [
        "hunt",
        str(samples),
        *[a for d in rule_dirs for a in ("--sigma", str(d))],
        "--format",
        "json",
        "--no-analytics",  # these tests are about the Sigma engine and its selection options
        "--no-verdicts",
        *extra,
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_hunt_writes_a_valid_result_document(samples: Path, rule_dirs: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    doc = _hunt(samples, rule_dirs, "--json", str(out))
    assert json.loads(out.read_text()) == doc
    schema = json.loads(resources.files("chainbreaker.outputs").joinpath("result.schema.json").read_text())
    jsonschema.validate(doc, schema)
    stats = doc["stats"]
    assert stats["records"] > 500 and stats["files"] >= 38
    assert stats["alerts"] == len(doc["alerts"]) > 20
    assert stats["rules_loaded"] > 500 and stats["rules_failed"] == 0
    titles = {a["title"] for a in doc["alerts"]}
    assert any("LSASS" in t for t in titles)  # the folder is full of credential dumping
    lsass = next(a for a in doc["alerts"] if "LSASS" in a["title"])
    assert lsass["detector"] == "sigma" and lsass["techniques"] and lsass["killchain_phases"]
    assert lsass["event_ref"]["file"].endswith(".evtx") and lsass["event_ref"]["record"] > 0
    assert lsass["matched"]  # the fields that made it fire
    assert doc["skipped_reasons"] == []  # every selected rule's log source occurs in the folder


def test_selection_options_narrow_the_rules(samples: Path, rule_dirs: list[Path], tmp_path: Path) -> None:
    everything = _hunt(samples, rule_dirs)
    high = _hunt(samples, rule_dirs, "--min-level", "high")
    assert 0 < high["stats"]["rules_selected"] < everything["stats"]["rules_selected"]
    assert {a["level"] for a in high["alerts"]} <= {"high", "critical"}
    some = everything["alerts"][0]
    only = _hunt(samples, rule_dirs, "--rule-id", some["rule_id"])
    assert only["stats"]["rules_selected"] == 1 and {a["rule_id"] for a in only["alerts"]} == {
        some["rule_id"]
    }
    exclusions = tmp_path / "noisy.txt"
    exclusions.write_text(f"# noisy\n{some['rule_id']}\n")
    without = _hunt(samples, rule_dirs, "--exclude", str(exclusions))
    assert some["rule_id"] not in {a["rule_id"] for a in without["alerts"]}
    tagged = _hunt(samples, rule_dirs, "--tag", "attack.t1003")
    assert tagged["alerts"] and all(
        any(t.startswith("T1003") for t in a["techniques"]) for a in tagged["alerts"]
    )
    security = _hunt(samples, rule_dirs, "--logsource", "service:security")
    assert 0 < security["stats"]["rules_selected"] < everything["stats"]["rules_selected"]


def test_rules_check_reports_every_failure_with_file_and_reason(tmp_path: Path) -> None:
    header = "title: {t}\nid: {i}\nstatus: test\nlevel: low\n"
    (tmp_path / "good.yml").write_text(
        header.format(t="good", i="0e6c3c1a-0000-4000-8000-000000000001")
        + "logsource: {product: windows, service: security}\n"
        + "detection: {sel: {EventID: 4625}, condition: sel}\n"
    )
    (tmp_path / "bad_modifier.yml").write_text(
        header.format(t="bad", i="0e6c3c1a-0000-4000-8000-000000000002")
        + "logsource: {product: windows, service: security}\n"
        + "detection: {sel: {EventID|nosuchmodifier: 4625}, condition: sel}\n"
    )
    (tmp_path / "no_source.yml").write_text(
        header.format(t="cloud", i="0e6c3c1a-0000-4000-8000-000000000003")
        + "logsource: {product: aws, service: cloudtrail}\n"
        + "detection: {sel: {eventName: x}, condition: sel}\n"
    )
    (tmp_path / "broken.yml").write_text("title: [unclosed\n")
    result = runner.invoke(app, ["rules", "check", str(tmp_path), "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["total"], report["loaded"], report["failed"], report["unsupported"]) == (4, 1, 2, 1)
    failures = {Path(f["file"]).name: f["reason"] for f in report["failures"]}
    assert set(failures) == {"bad_modifier.yml", "broken.yml"}
    assert "nosuchmodifier" in failures["bad_modifier.yml"]
    assert (
        report["unsupported_rules"][0]["reason"]
        == "unsupported: no source for product:aws service:cloudtrail"
    )
    table = runner.invoke(app, ["rules", "check", str(tmp_path)])
    assert table.exit_code == 0 and "bad_modifier.yml" in table.stdout


def test_unknown_level_is_a_usage_error(samples: Path, rule_dirs: list[Path]) -> None:
    result = runner.invoke(app, ["hunt", str(samples), "--sigma", str(rule_dirs[0]), "--min-level", "severe"])
    assert result.exit_code != 0
