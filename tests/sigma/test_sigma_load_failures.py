"""Files that are no Sigma rules, and correlation rules whose references do not resolve: each is a
failure with file and reason in the load report (``rules check``); the rest of the folder loads and
a hunt runs (issue 4: "every rule that cannot be loaded is reported, never silently dropped")."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from chainbreaker.cli import app
from chainbreaker.detect.sigma.loader import load_correlations, load_rules
from chainbreaker.pipeline import HuntOptions, hunt

runner = CliRunner()

BASE = """\
title: Base {name}
id: 10000000-0000-4000-8000-00000000000{n}
name: {name}
status: test
logsource: {{category: process_creation, product: windows}}
detection:
  sel: {{CommandLine|contains: '{needle}'}}
  condition: sel
level: low
"""

COUNT = """\
title: Count of {ref}
id: 20000000-0000-4000-8000-00000000000{n}
name: {name}
status: test
correlation:
  type: event_count
  rules: [{ref}]
  group-by: [Computer]
  timespan: 5m
  condition: {{gte: 2}}
level: high
"""


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAINBREAKER_CACHE_DIR", str(tmp_path / "cache"))


def _events(path: Path, needles: list[str]) -> Path:
    """Sysmon process creations on one host, a minute apart, one per needle."""
    lines = [
        {
            "EventID": 1,
            "Channel": "Microsoft-Windows-Sysmon/Operational",
            "Computer": "wks-1",
            "TimeCreated": f"2024-01-01T00:0{i}:00Z",
            "CommandLine": f"run {needle}",
            "Image": "C:\\x.exe",
        }
        for i, needle in enumerate(needles)
    ]
    path.write_bytes(b"\n".join(orjson.dumps(line) for line in lines) + b"\n")
    return path


@pytest.fixture
def not_rules(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "good.yml").write_text(BASE.format(name="good", n=1, needle="alpha"))
    (folder / "list.yml").write_text("- title: a list\n- of things\n")
    (folder / "scalar.yml").write_text("just a sentence\n")
    (folder / "dashes.yml").write_text("---\n")
    (folder / "zero.yaml").write_text("")
    (folder / "second_doc_list.yml").write_text(BASE.format(name="x", n=2, needle="beta") + "---\n- 1\n")
    return folder


def test_files_without_a_rule_mapping_are_failures_with_reasons(not_rules: Path) -> None:
    ruleset = load_rules([not_rules], use_cache=False)
    assert [r.name for r in ruleset.rules] == ["good"]
    reasons = {Path(p.file).name: p.reason for p in ruleset.failed}
    assert reasons == {
        "list.yml": "not a Sigma rule: top-level YAML is a list",
        "scalar.yml": "not a Sigma rule: top-level YAML is a scalar",
        "dashes.yml": "no rule in file",
        "zero.yaml": "no rule in file",
        "second_doc_list.yml": "not a Sigma rule: top-level YAML (document 2) is a list",
    }
    report = ruleset.report()
    assert report["files"] == 6 and report["loaded"] == 1 and report["failed"] == 5
    assert report["total"] == report["loaded"] + report["failed"] + report["unsupported"]


def test_trailing_document_separator_is_not_a_failure(tmp_path: Path) -> None:
    (tmp_path / "r.yml").write_text(BASE.format(name="good", n=1, needle="alpha") + "---\n")
    ruleset = load_rules([tmp_path], use_cache=False)
    assert len(ruleset.rules) == 1 and not ruleset.problems


def test_rules_check_and_hunt_report_instead_of_crashing(not_rules: Path, tmp_path: Path) -> None:
    check = runner.invoke(app, ["rules", "check", str(not_rules), "--no-cache", "--format", "json"])
    assert check.exit_code == 0, check.output
    report = json.loads(check.stdout)
    assert report["loaded"] == 1 and report["failed"] == 5
    assert {Path(f["file"]).name for f in report["failures"]} >= {"list.yml", "scalar.yml", "dashes.yml"}
    assert all(f["reason"] for f in report["failures"])
    events = _events(tmp_path / "ev.jsonl", ["alpha"])
    args = ["hunt", str(events), "--sigma", str(not_rules), "--no-cache", "--format", "json"]
    hunted = runner.invoke(app, [*args, "--no-analytics", "--no-verdicts", "--no-correlate"])
    assert hunted.exit_code == 0, hunted.output
    doc = json.loads(hunted.stdout)
    assert [a["title"] for a in doc["alerts"]] == ["Base good"]
    assert doc["stats"]["rules_failed"] == 5


def test_rules_check_strict_fails_on_failed_rules_only(not_rules: Path, tmp_path: Path) -> None:
    """--strict gates a rule repository's CI: exit 1 with failures, 0 when every rule loads (a rule
    of a source chainbreaker does not read is unsupported, not failed)."""
    broken = runner.invoke(app, ["rules", "check", str(not_rules), "--no-cache", "--strict"])
    assert broken.exit_code == 1 and "Failures (5)" in broken.stdout
    as_json = runner.invoke(app, ["rules", "check", str(not_rules), "--no-cache", "--strict", "-f", "json"])
    assert as_json.exit_code == 1 and json.loads(as_json.stdout)["failed"] == 5
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "good.yml").write_text(BASE.format(name="good", n=1, needle="alpha"))
    unsupported = BASE.format(name="mac", n=2, needle="beta").replace("product: windows", "product: macos")
    (clean / "mac.yml").write_text(unsupported)
    passed = runner.invoke(app, ["rules", "check", str(clean), "--no-cache", "--strict", "-f", "json"])
    assert passed.exit_code == 0, passed.output
    report = json.loads(passed.stdout)
    assert report["failed"] == 0 and report["unsupported"] == 1 and report["loaded"] == 1


@pytest.fixture
def broken_correlations(tmp_path: Path) -> Path:
    """Two base rules; a good count on each; one to a missing rule; a loop; one chained on the loop."""
    folder = tmp_path / "corr"
    folder.mkdir()
    bases = BASE.format(name="base_a", n=1, needle="alpha") + "---\n"
    bases += BASE.format(name="base_b", n=2, needle="beta")
    (folder / "bases.yml").write_text(bases)
    (folder / "good.yml").write_text(
        COUNT.format(n=1, name="count_a", ref="base_a")
        + "---\n"
        + COUNT.format(n=2, name="count_b", ref="base_b")
    )
    (folder / "missing.yml").write_text(COUNT.format(n=3, name="count_missing", ref="no_such_rule"))
    loop = (
        COUNT.format(n=4, name="loop_x", ref="loop_y")
        + "---\n"
        + COUNT.format(n=5, name="loop_y", ref="loop_x")
    )
    (folder / "loop.yml").write_text(loop + "---\n" + COUNT.format(n=6, name="self_loop", ref="self_loop"))
    (folder / "on_loop.yml").write_text(COUNT.format(n=7, name="on_loop", ref="loop_x"))
    return folder


def test_unresolved_correlation_references_are_failures(broken_correlations: Path) -> None:
    ruleset = load_rules([broken_correlations], use_cache=False)
    reasons = {(Path(p.file).name, p.title): p.reason for p in ruleset.failed}
    assert reasons == {
        (
            "missing.yml",
            "Count of no_such_rule",
        ): "correlation refers to 'no_such_rule': no such rule is loaded",
        (
            "loop.yml",
            "Count of loop_y",
        ): "correlation rules refer to each other in a loop: loop_x -> loop_y -> loop_x",
        (
            "loop.yml",
            "Count of loop_x",
        ): "correlation rules refer to each other in a loop: loop_x -> loop_y -> loop_x",
        (
            "loop.yml",
            "Count of self_loop",
        ): "correlation rules refer to each other in a loop: self_loop -> self_loop",
        ("on_loop.yml", "Count of loop_x"): "correlation refers to correlation 'loop_x', which is left out",
    }
    assert all(p.rule_id for p in ruleset.failed)
    assert [Path(f).name for f in ruleset.correlation_files] == ["good.yml"]
    kept = load_correlations(ruleset.correlation_files, ruleset)
    assert sorted(c.name for c in kept) == ["count_a", "count_b"]


def test_load_correlations_with_the_ruleset_leaves_unresolved_ones_out(broken_correlations: Path) -> None:
    ruleset = load_rules([broken_correlations], use_cache=False)
    every_file = [str(p) for p in sorted(broken_correlations.glob("*.yml")) if p.name != "bases.yml"]
    assert len(load_correlations(every_file)) == 7  # without a rule set nothing is checked
    assert sorted(c.name for c in load_correlations(every_file, ruleset)) == ["count_a", "count_b"]


def test_hunt_with_broken_correlations_runs_the_good_ones(broken_correlations: Path, tmp_path: Path) -> None:
    events = _events(tmp_path / "ev.jsonl", ["alpha", "alpha", "beta", "beta", "beta"])
    options = HuntOptions(sigma=[broken_correlations], use_cache=False, workers=1, correlate=False)
    options.analytics = options.verdicts = False
    result = hunt([events], options)  # a loop used to raise RuleError here, at the end of the hunt
    fired = sorted((a.title, a.count) for a in result.alerts if a.detector == "sigma-correlation")
    assert fired == [("Count of base_a", 2), ("Count of base_b", 3)]
    assert not [a for a in result.alerts if a.detector == "sigma"]  # both bases feed a correlation


def test_rules_check_lists_the_broken_correlations(broken_correlations: Path) -> None:
    check = runner.invoke(app, ["rules", "check", str(broken_correlations), "--no-cache", "--format", "json"])
    assert check.exit_code == 0, check.output
    report = json.loads(check.stdout)
    assert report["failed"] == 5 and report["loaded"] == 2 and report["correlation_files"] == 1
    assert {Path(f["file"]).name for f in report["failures"]} == {"missing.yml", "loop.yml", "on_loop.yml"}
