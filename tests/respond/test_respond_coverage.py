"""Coverage over rules the real Sigma engine loads (written here) and the real analytics registry."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from chainbreaker.cli import app
from chainbreaker.errors import UsageError
from chainbreaker.respond.coverage import coverage, detection

RULE = """title: {title}
id: {id}
status: test
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        Image|endswith: '\\\\{image}'
    condition: selection
level: high
tags:
    - {tag}
"""


def _rules(folder: Path) -> Path:
    folder.mkdir()
    rules = [
        ("Dump tool", "0b7b5e36-0000-4000-8000-000000000001", "procdump.exe", "attack.t1003.001"),
        ("Macro child", "0b7b5e36-0000-4000-8000-000000000002", "winword.exe", "attack.t1566.001"),
    ]
    for title, rid, image, tag in rules:
        (folder / f"{image}.yml").write_text(RULE.format(title=title, id=rid, image=image, tag=tag))
    return folder


def test_phase_gaps_and_counts() -> None:
    dets = [
        detection("sigma", "a", "a", ["T1003.001"]),
        detection("sigma", "b", "b", ["T1566.001"]),
        detection("analytic", "c", "c", ["T1046"], ["discovery"]),
    ]
    report = coverage(dets)
    phases = {row["phase"]: row for row in report["killchain"]}
    assert phases["delivery"]["sigma"] == 1 and not phases["delivery"]["gap"]
    assert phases["weaponization"]["gap"] and phases["installation"]["gap"]
    assert phases["delivery"]["techniques_covered"] == 1
    assert "T1566.001" not in phases["delivery"]["missing_techniques"]
    assert phases["delivery"]["missing_total"] == phases["delivery"]["techniques_total"] - 1
    tactics = {row["tactic"]: row for row in report["tactics"]}
    assert tactics["discovery"]["analytics"] == 1 and tactics["credential-access"]["sigma"] == 1
    assert tactics["exfiltration"]["gap"]
    assert report["techniques"]["T1003.001"] == {"name": "LSASS Memory", "sigma": 1, "analytics": 0}


def test_coverage_command_with_rules_and_navigator(tmp_path: Path) -> None:
    rules = _rules(tmp_path / "rules")
    layer_file = tmp_path / "cov.json"
    runner = CliRunner()
    result = runner.invoke(
        app, ["coverage", "--sigma", str(rules), "--navigator", str(layer_file), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    report = orjson.loads(result.stdout)
    assert report["sigma_rules"] == 2 and report["analytics"] > 0
    phases = {row["phase"]: row for row in report["killchain"]}
    assert phases["delivery"]["sigma"] == 1
    layer = orjson.loads(layer_file.read_bytes())
    assert layer["versions"]["layer"] == "4.5"
    ids = {t["techniqueID"] for t in layer["techniques"]}
    assert {"T1003.001", "T1566.001"} <= ids
    table = runner.invoke(app, ["coverage", "--sigma", str(rules), "--no-analytics"])
    assert table.exit_code == 0 and "Delivery" in table.stdout and "GAP" in table.stdout


def test_coverage_command_rejects_missing_folder(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["coverage", "--sigma", str(tmp_path / "nope")])
    assert isinstance(result.exception, UsageError) and result.exception.exit_code == 2
    assert "no such rule file or folder" in str(result.exception)


@pytest.mark.slow
def test_sigmahq_rules_cover_every_phase(dataset) -> None:  # type: ignore[no-untyped-def]
    from chainbreaker.cli.coverage_cmd import sigma_detections

    rules = dataset("sigma") / "sigma" / "rules"
    dets, loaded = sigma_detections([rules])
    assert len(dets) == loaded["loaded"] > 1000
    report = coverage(dets)
    assert all(row["sigma"] > 0 for row in report["killchain"])
    assert report["techniques_covered"] > 200
