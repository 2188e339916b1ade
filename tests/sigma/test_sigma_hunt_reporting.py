"""What `chainbreaker hunt` tells the user about its rules: rules that did not load (stderr and the
result's `rule_failures`), `--sigma` folders without rules, selections that name nothing
(`--rule-id`, `--tag`: exit 2 or a warning), `--profile-rules` in the JSON result, and where
`rules update` installs a set `hunt` will read.

Every hunt here is real (pySigma, the engine, the JSONL reader) over rule folders and a few Sysmon
events the tests write themselves.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner, Result

from chainbreaker.cli import app
from release_server import Release

runner = CliRunner()

GOOD_ID = "5f0c2a8e-1d3b-4c6a-9e2f-7a8b9c0d1e01"
RULE = """title: {title}
id: {id}
status: test
level: {level}
tags: [attack.execution, attack.t1059.001]
logsource: {{product: windows, category: process_creation}}
detection:
  sel: {{CommandLine|contains: '{needle}'}}
  condition: sel
"""
EVENT = {
    "EventID": 1,
    "Channel": "Microsoft-Windows-Sysmon/Operational",
    "Hostname": "ws1",
    "TimeCreated": "2024-01-01T03:05:00Z",
    "Image": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
    "CommandLine": "powershell -enc SQBFAFgA",
}


@pytest.fixture(autouse=True)
def _private_caches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A private compiled-rule cache, and no `rules update` set: only what each test gives."""
    monkeypatch.setenv("CHAINBREAKER_CACHE_DIR", str(tmp_path / "compiled-cache"))
    monkeypatch.setenv("CHAINBREAKER_SIGMA_CACHE", str(tmp_path / "no-update-set"))


@pytest.fixture
def events(tmp_path: Path) -> Path:
    path = tmp_path / "logs" / "sysmon.jsonl"
    path.parent.mkdir()
    quiet = {**EVENT, "TimeCreated": "2024-01-01T03:06:00Z", "CommandLine": "notepad.exe"}
    path.write_text(json.dumps(EVENT) + "\n" + json.dumps(quiet) + "\n")
    return path


def good_rule(folder: Path, rule_id: str = GOOD_ID, level: str = "high") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"good_{rule_id[-4:]}.yml"
    path.write_text(
        RULE.format(title=f"encoded powershell {rule_id[-4:]}", id=rule_id, level=level, needle="-enc")
    )
    return path


def broken_rules(folder: Path) -> dict[str, str]:
    """Three rules that cannot load, by file name -> a word of the reason; one unsupported rule."""
    folder.mkdir(parents=True, exist_ok=True)
    bad_modifier = RULE.format(
        title="bad", id="5f0c2a8e-0000-4000-8000-000000000002", level="low", needle="x"
    )
    (folder / "bad_modifier.yml").write_text(bad_modifier.replace("|contains", "|nosuchmodifier"))
    (folder / "broken_yaml.yml").write_text("title: [unclosed\n")
    undefined = RULE.format(title="undef", id="5f0c2a8e-0000-4000-8000-000000000003", level="low", needle="x")
    (folder / "undefined_condition.yml").write_text(
        undefined.replace("condition: sel", "condition: sel and nothere")
    )
    (folder / "cloud.yml").write_text(
        "title: cloud\nid: 5f0c2a8e-0000-4000-8000-000000000004\nstatus: test\nlevel: low\n"
        "logsource: {product: aws, service: cloudtrail}\n"
        "detection: {sel: {eventName: x}, condition: sel}\n"
    )
    return {
        "bad_modifier.yml": "nosuchmodifier",
        "broken_yaml.yml": "parse",
        "undefined_condition.yml": "nothere",
    }


def hunt_args(events: Path, rules: list[Path], *extra: str) -> list[str]:
    args = ["hunt", str(events), *[a for r in rules for a in ("--sigma", str(r))], "--workers", "1"]
    return [*args, "--no-analytics", "--no-verdicts", "--no-correlate", *extra]


def hunt(events: Path, rules: list[Path], *extra: str) -> Result:
    return runner.invoke(app, hunt_args(events, rules, *extra))


def hunt_process(events: Path, rules: list[Path], *extra: str) -> subprocess.CompletedProcess[str]:
    """The installed entry point: chainbreaker errors become exit codes in ``cli.main``."""
    env = {**os.environ, "COLUMNS": "400"}  # Rich wraps stderr at 80 columns otherwise
    args = [sys.executable, "-m", "chainbreaker", *hunt_args(events, rules, *extra)]
    return subprocess.run(args, capture_output=True, text=True, timeout=120, env=env)


def one_line(text: str) -> str:
    return " ".join(text.split())


def result_schema() -> dict[str, Any]:
    return json.loads(resources.files("chainbreaker.outputs").joinpath("result.schema.json").read_text())


def test_each_failed_rule_is_printed_and_listed_in_the_result(events: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    good_rule(rules)
    expected = broken_rules(rules)
    out = tmp_path / "result.json"

    result = hunt(events, [rules], "--format", "json", "--json", str(out))

    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert json.loads(out.read_text()) == document
    jsonschema.validate(document, result_schema())
    assert document["schema_version"] == "1.1"
    failures = {Path(f["file"]).name: f for f in document["rule_failures"]}
    assert set(failures) == set(expected)  # the unsupported cloud rule is not a failure
    for name, word in expected.items():
        assert word in failures[name]["reason"], failures[name]
        assert failures[name]["file"] == str(rules / name)
    assert failures["bad_modifier.yml"]["rule_id"] == "5f0c2a8e-0000-4000-8000-000000000002"
    assert document["stats"]["rules_failed"] == 3 and document["stats"]["rules_unsupported"] == 1
    assert [a["rule_id"] for a in document["alerts"]] == [GOOD_ID]  # the good rule still ran
    printed = result.stderr.splitlines()
    for name, word in expected.items():
        line = next(p for p in printed if p.startswith(f"rule failed: {rules / name}: "))
        assert word in line
    assert "cloud.yml" not in result.stderr


def test_failures_beyond_twenty_point_to_rules_check(events: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    good_rule(rules)
    for n in range(23):
        (rules / f"broken_{n:02d}.yml").write_text(f"title: [unclosed {n}\n")

    result = hunt(events, [rules])  # table format: the same lines on stderr

    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert sum(line.startswith("rule failed: ") for line in lines) == 20
    assert f"... and 3 more; run `chainbreaker rules check {rules}` for all" in lines
    as_json = hunt(events, [rules], "--format", "json")
    assert len(json.loads(as_json.stdout)["rule_failures"]) == 23


@pytest.mark.parametrize("content", [None, {"README.md": "no rules here", "notes.txt": "x"}])
def test_sigma_folder_without_rule_files_is_warned_about(
    events: Path, tmp_path: Path, content: dict[str, str] | None
) -> None:
    """An empty rule folder runs the other detectors (how a hunt goes without Sigma), with a warning."""
    folder = tmp_path / "rules"
    (folder / "sub").mkdir(parents=True)
    for name, text in (content or {}).items():
        (folder / "sub" / name).write_text(text)

    result = hunt_process(events, [folder], "--format", "json")

    assert result.returncode == 0, result.stderr
    assert f"warning: no Sigma rule file (.yml, .yaml) under {folder}" in one_line(result.stderr)
    document = json.loads(result.stdout)
    assert document["stats"]["rules_loaded"] == 0 and document["stats"]["records"] > 0


def test_missing_sigma_path_exits_2(events: Path, tmp_path: Path) -> None:
    result = hunt_process(events, [tmp_path / "nowhere"])
    assert result.returncode == 2
    assert f"no such rule file or folder: {tmp_path / 'nowhere'}" in one_line(result.stderr)


def test_unknown_rule_id_exits_2_with_close_matches(events: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    good_rule(rules)
    good_rule(rules, "9a1b2c3d-4e5f-4a6b-8c7d-000000000777", level="low")
    typo = GOOD_ID[:-1] + "2"

    wrong = hunt_process(events, [rules], "--rule-id", typo)
    short = hunt_process(events, [rules], "--rule-id", "9a1b2c3d")
    nothing_close = hunt_process(events, [rules], "--rule-id", "deadbeef")
    right = hunt(events, [rules], "--rule-id", GOOD_ID, "--format", "json")

    assert wrong.returncode == 2
    assert one_line(wrong.stderr) == f"error: unknown rule id '{typo}'; did you mean {GOOD_ID}?"
    assert short.returncode == 2 and "did you mean 9a1b2c3d-4e5f-4a6b-8c7d-000000000777?" in one_line(
        short.stderr
    )
    assert nothing_close.returncode == 2
    assert one_line(nothing_close.stderr) == "error: unknown rule id 'deadbeef'"
    assert right.exit_code == 0, right.output
    assert json.loads(right.stdout)["stats"]["rules_selected"] == 1 and right.stderr == ""


def test_rule_id_of_a_rule_that_failed_is_a_warning_not_unknown(events: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    good_rule(rules)
    broken_rules(rules)

    result = hunt(events, [rules], "--rule-id", "5f0c2a8e-0000-4000-8000-000000000002")

    assert result.exit_code == 0, result.output
    printed = one_line(result.stderr)
    assert (
        "warning: --rule-id 5f0c2a8e-0000-4000-8000-000000000002 was not loaded: "
        f"{rules / 'bad_modifier.yml'}:" in printed
    )
    assert "leaves 0 of 1 loaded Sigma rules: no Sigma rule ran" in printed


def test_rule_id_of_a_correlation_rule_is_known(events: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    good_rule(rules)
    (rules / "burst.yml").write_text(
        "title: burst of encoded powershell\nid: 7c1d2e3f-0000-4000-8000-0000000000c1\nstatus: test\n"
        "level: high\ncorrelation:\n  type: event_count\n  rules: [" + GOOD_ID + "]\n"
        "  group-by: [Computer]\n  timespan: 1h\n  condition: {gte: 1}\n"
    )
    result = hunt(events, [rules], "--rule-id", "7c1d2e3f-0000-4000-8000-0000000000c1", "--format", "json")
    assert result.exit_code == 0, result.output
    assert "unknown rule id" not in result.stderr


def test_tags_that_select_nothing(events: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    good_rule(rules)

    real_but_absent = hunt(events, [rules], "--tag", "attack.t1003")
    not_attack = hunt_process(events, [rules], "--tag", "attack.t9999")
    present = hunt(events, [rules], "--tag", "attack.t1059", "--format", "json")

    assert real_but_absent.exit_code == 0, real_but_absent.output
    printed = one_line(real_but_absent.stderr)
    assert "warning: --tag attack.t1003 matches no loaded rule; close tags in the set:" in printed
    assert "warning: the selection (--tag attack.t1003) leaves 0 of 1 loaded Sigma rules" in printed
    assert not_attack.returncode == 2
    assert "error: unknown ATT&CK technique tag 'attack.t9999'; did you mean attack.t" in one_line(
        not_attack.stderr
    )
    assert present.exit_code == 0 and present.stderr == ""
    assert [a["rule_id"] for a in json.loads(present.stdout)["alerts"]] == [GOOD_ID]


def test_selection_that_leaves_no_rule_warns(events: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    good_rule(rules)
    result = hunt(events, [rules], "--min-level", "critical", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["stats"]["rules_selected"] == 0
    assert one_line(result.stderr) == (
        "warning: the selection (--min-level critical) leaves 0 of 1 loaded Sigma rules: no Sigma rule ran"
    )


def test_only_broken_rules_warns_that_none_loaded(events: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    broken_rules(rules)
    result = hunt(events, [rules], "--format", "json")
    assert result.exit_code == 0, result.output
    assert (
        f"warning: no Sigma rule loaded from {rules} (4 files: 3 failed, 1 need a source chainbreaker"
        " does not read)" in one_line(result.stderr)
    )


def test_profile_rules_goes_into_the_json_result(events: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    ids = [GOOD_ID, *(f"9a1b2c3d-4e5f-4a6b-8c7d-0000000001{n:02d}" for n in range(24))]
    for rule_id in ids:
        good_rule(rules, rule_id)

    profiled = hunt(events, [rules], "--profile-rules", "--format", "json")
    plain = hunt(events, [rules], "--format", "json")

    assert profiled.exit_code == 0, profiled.output
    document = json.loads(profiled.stdout)
    jsonschema.validate(document, result_schema())
    profile = document["stats"]["rule_profile"]
    assert len(profile) == 20  # the 20 slowest of 25
    assert {p["rule_id"] for p in profile} <= set(ids)
    assert all(p["title"] == f"encoded powershell {p['rule_id'][-4:]}" for p in profile)
    seconds = [p["seconds"] for p in profile]
    assert seconds == sorted(seconds, reverse=True) and seconds[0] > 0
    assert "Slowest rules" in profiled.stderr  # the table stays, on stderr
    assert "rule_profile" not in json.loads(plain.stdout)["stats"]


def publish_good_rule(release: Release, tmp_path: Path) -> None:
    """A SigmaHQ-like release of one good rule on the fake GitHub (the `release` fixture)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        good_rule(tmp_path / "packaged")
        for path in (tmp_path / "packaged").iterdir():
            zf.write(path, f"rules/windows/process_creation/{path.name}")
    release.publish("r2024-01-01", buffer.getvalue())


def test_rules_update_elsewhere_says_how_hunt_uses_it(
    release: Release, events: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish_good_rule(release, tmp_path)
    elsewhere = tmp_path / "team-rules"

    update = runner.invoke(app, ["rules", "update", "--url", release.base, "--cache-dir", str(elsewhere)])

    assert update.exit_code == 0, update.output
    current = elsewhere / "current"
    default = tmp_path / "no-update-set" / "current"
    assert one_line(update.stderr) == (
        f"note: hunt uses this set only with --sigma {current} (or with CHAINBREAKER_SIGMA_CACHE="
        f"{elsewhere}); by default it reads {default}"
    )
    found = hunt(events, [current], "--format", "json")  # the advice works
    assert found.exit_code == 0, found.output
    assert [a["rule_id"] for a in json.loads(found.stdout)["alerts"]] == [GOOD_ID]

    monkeypatch.setenv("CHAINBREAKER_SIGMA_CACHE", str(elsewhere))  # now it is the default: no note
    again = runner.invoke(app, ["rules", "update", "--url", release.base, "--cache-dir", str(elsewhere)])
    assert again.exit_code == 0 and again.stderr == ""
    by_default = runner.invoke(app, ["hunt", str(events), "--workers", "1", "--no-analytics", "-f", "json"])
    assert GOOD_ID in {a["rule_id"] for a in json.loads(by_default.stdout)["alerts"]}


def test_help_names_the_default_rule_cache() -> None:
    for command in (["rules", "update", "--help"], ["hunt", "--help"]):
        result = runner.invoke(app, command, env={"COLUMNS": "200"})
        assert result.exit_code == 0
        flat = "".join(result.stdout.replace("│", "").split())
        assert "$CHAINBREAKER_SIGMA_CACHE" in flat and "~/.cache/chainbreaker/sigma" in flat, command
