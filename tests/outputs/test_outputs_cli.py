from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from typer.testing import CliRunner

from chainbreaker.cli import app
from chainbreaker.errors import UnknownIdError, UsageError

runner = CliRunner()


def test_outputs_lists_the_registry() -> None:
    result = runner.invoke(app, ["outputs", "--format", "json"])
    assert result.exit_code == 0
    rows = orjson.loads(result.stdout)
    assert [r["name"] for r in rows] == sorted(r["name"] for r in rows)
    assert {"name": "stix", "files": ["stix.json"]}.items() <= next(
        r for r in rows if r["name"] == "stix"
    ).items()
    table = runner.invoke(app, ["outputs"])
    assert table.exit_code == 0 and "timesketch" in table.stdout


def test_outputs_rerun_from_a_saved_result(tmp_path: Path, result: dict[str, Any]) -> None:
    saved = tmp_path / "chainbreaker.json"
    saved.write_bytes(orjson.dumps(result))
    out = tmp_path / "out"
    cli = runner.invoke(
        app,
        ["outputs", str(saved), "-o", str(out), "--output", "html", "--output", "containment", "-f", "json"],
    )
    assert cli.exit_code == 0, cli.output
    files = orjson.loads(cli.stdout)
    assert set(files) == {"html", "containment"}
    assert (out / "report.html").is_file() and (out / "containment" / "hosts.txt").is_file()
    assert not (out / "stix.json").exists()


def test_outputs_refuses_bad_input(tmp_path: Path) -> None:
    bogus = tmp_path / "x.json"
    bogus.write_text("[1, 2]")
    result = runner.invoke(app, ["outputs", str(bogus)])
    assert isinstance(result.exception, UsageError)
    bogus.write_text('{"alerts": []}')
    result = runner.invoke(app, ["outputs", str(bogus), "--output", "pdf"])
    assert isinstance(result.exception, UnknownIdError)
