"""`chainbreaker simulate` and the bundled demo set."""

from __future__ import annotations

from pathlib import Path

import orjson
from typer.testing import CliRunner

from chainbreaker.cli import app
from chainbreaker.errors import UnknownIdError, UsageError
from chainbreaker.simulate.demo import DEMO_SETS, default_demo_dir, regenerate

runner = CliRunner()


def test_simulate_json_summary(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "simulate",
            "clop",
            "-o",
            str(tmp_path),
            "--hosts",
            "4",
            "--days",
            "0.15",
            "--noise",
            "10",
            "--seed",
            "3",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    doc = orjson.loads(result.stdout)
    assert doc["scenario"] == "clop"
    assert doc["events"] == sum(doc["files"].values())
    assert doc["malicious_events"] == len((tmp_path / "ground_truth.jsonl").read_bytes().splitlines())
    assert (tmp_path / "logs/windows/MFT-01/Sysmon.jsonl").is_file()


def test_simulate_table_output(tmp_path: Path) -> None:
    result = runner.invoke(app, ["simulate", "benign", "-o", str(tmp_path), "--hosts", "3", "--days", "0.05"])
    assert result.exit_code == 0, result.output
    assert "logs/zeek/conn.log" in result.output
    assert (tmp_path / "ground_truth.jsonl").read_bytes() == b""


def test_list_scenarios() -> None:
    result = runner.invoke(app, ["simulate", "--list-scenarios", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in orjson.loads(result.stdout)}
    assert set(rows) == {"benign", "blackcat", "clop", "lockbit"}
    assert rows["clop"]["roles"] == ["mft"] and rows["lockbit"]["duration_minutes"] == 160
    assert "lockbit" in runner.invoke(app, ["simulate", "--list-scenarios"]).output


def test_scenario_and_out_are_required(tmp_path: Path) -> None:
    assert isinstance(runner.invoke(app, ["simulate", "lockbit"]).exception, UsageError)


def test_unknown_scenario_is_an_unknown_id_with_suggestion(tmp_path: Path) -> None:
    # chainbreaker.cli.main maps the error to its exit code (2); the runner shows the exception itself.
    result = runner.invoke(app, ["simulate", "lockbyt", "-o", str(tmp_path)])
    assert isinstance(result.exception, UnknownIdError)
    assert result.exception.exit_code == 2
    assert "did you mean lockbit" in str(result.exception)


def test_bad_option_values_are_usage_errors(tmp_path: Path) -> None:
    for args in (["--hosts", "1"], ["--start", "yesterday"], ["--days", "0"]):
        result = runner.invoke(app, ["simulate", "benign", "-o", str(tmp_path), *args])
        assert isinstance(result.exception, UsageError), args
        assert result.exception.exit_code == 2


def test_committed_demo_is_what_the_simulator_generates(tmp_path: Path) -> None:
    """demo/ must be regenerated (python -m chainbreaker.simulate.demo) whenever the simulator changes."""
    demo = default_demo_dir()
    regenerate(tmp_path)
    total = 0
    for name in DEMO_SETS:
        fresh = sorted(p.relative_to(tmp_path) for p in (tmp_path / name).rglob("*") if p.is_file())
        committed = sorted(p.relative_to(demo) for p in (demo / name).rglob("*") if p.is_file())
        assert fresh == committed
        for rel in fresh:
            data = (demo / rel).read_bytes()
            total += len(data)
            assert data == (tmp_path / rel).read_bytes(), rel
    assert total < 3 * 1024 * 1024
