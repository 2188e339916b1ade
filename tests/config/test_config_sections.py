"""The configuration file's [intel] and [output] sections, and the one duration syntax."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chainbreaker.cli import app
from chainbreaker.config import load_config
from chainbreaker.correlate.settings import parse_duration as config_duration
from chainbreaker.durations import duration_seconds
from chainbreaker.errors import ConfigError
from chainbreaker.live.windows import parse_duration as window_duration

AUTH_LINE = "Mar  1 10:00:05 web1 sshd[12]: Accepted password for bob from 198.51.100.23 port 50022 ssh2\n"


def test_intel_and_output_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "etc" / "chainbreaker.toml"
    config.parent.mkdir()
    config.write_text(
        '[intel]\nfeeds = ["feeds/list.txt", "/srv/abs.csv"]\n[output]\ndir = "reports"\noutputs = ["html"]\n'
    )
    loaded = load_config(config)
    assert loaded.intel_feeds() == [tmp_path / "etc" / "feeds" / "list.txt", Path("/srv/abs.csv")]
    assert loaded.output_dir() == tmp_path / "etc" / "reports"
    assert loaded.outputs() == ["html"]


@pytest.mark.parametrize(
    "text, message",
    [
        ('[intel]\nfeed = ["a.txt"]\n', "unknown key(s) feed"),
        ('[intel]\nfeeds = "a.txt"\n', "feeds must be a list of strings"),
        ("[output]\ndir = 3\n", "dir must be a folder path"),
        ('[output]\noutputs = ["html", 2]\n', "outputs must be a list of strings"),
    ],
)
def test_bad_sections_fail_when_the_file_is_loaded(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "c.toml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_config(config)


def test_an_empty_config_has_no_feeds_and_no_output_defaults() -> None:
    empty = load_config(None)
    assert empty.intel_feeds() == [] and empty.output_dir() is None and empty.outputs() == []


def test_hunt_loads_config_feeds_and_writes_config_outputs(tmp_path: Path) -> None:
    (tmp_path / "feeds").mkdir()
    (tmp_path / "feeds" / "list.txt").write_text("# blocklist\n198.51.100.23\n")
    config = tmp_path / "chainbreaker.toml"
    config.write_text('[intel]\nfeeds = ["feeds/list.txt"]\n[output]\ndir = "reports"\noutputs = ["jsonl"]\n')
    log = tmp_path / "auth.log"
    log.write_text(AUTH_LINE)
    no_rules = tmp_path / "no-rules"
    no_rules.mkdir()
    result = CliRunner().invoke(
        app, ["hunt", str(log), "--sigma", str(no_rules), "--config", str(config), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    alerts = json.loads(result.stdout)["alerts"]
    assert [(a["rule_id"], a["src_ip"]) for a in alerts if a["rule_id"].startswith("intel.")] == [
        ("intel.ip", "198.51.100.23")
    ]
    written = sorted(p.name for p in (tmp_path / "reports").iterdir())
    assert written == ["alerts.jsonl", "incidents.jsonl"]
    lines = (tmp_path / "reports" / "alerts.jsonl").read_text().splitlines()
    assert any(json.loads(line)["rule_id"] == "intel.ip" for line in lines)


def test_one_duration_syntax_for_config_and_windows() -> None:
    assert duration_seconds("1h30m") == 5400 and duration_seconds(" 90 ") == 90
    assert duration_seconds("500ms") == 0.5 and duration_seconds("1mo") is None
    assert duration_seconds("h") is None and duration_seconds("") is None
    assert config_duration("1h30m", "window") == 5400 and config_duration(45, "window") == 45
    assert window_duration("15m") is not None and window_duration("15m").total_seconds() == 900  # type: ignore[union-attr]
    with pytest.raises(ConfigError, match="duration must be positive"):
        config_duration("0s", "window")
    with pytest.raises(ConfigError, match="expected a duration"):
        config_duration("1 fortnight", "window")
