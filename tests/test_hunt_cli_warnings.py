"""`chainbreaker hunt` in table mode tells the analyst which inputs were damaged, on stderr."""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

import pytest
from evtx import PyEvtxParser
from typer.testing import CliRunner

from chainbreaker.cli import app
from chainbreaker.readers.evtx import CHUNK_SIZE, HEADER_SIZE

runner = CliRunner()


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAINBREAKER_CACHE_DIR", str(tmp_path / "cache"))  # shipped rules only


def test_hunt_prints_each_damaged_input_and_keeps_the_rest(
    dataset: Callable[[str], Path], tmp_path: Path
) -> None:
    files = sorted(dataset("evtx-attack-samples").rglob("*.evtx"))
    big = max(files, key=lambda p: (_records(p), str(p)))
    data = big.read_bytes()
    used = struct.unpack_from("<H", data, 42)[0]  # chunks the header counts as written
    assert used >= 2
    folder = tmp_path / "logs"
    folder.mkdir()
    cut = folder / "cut.evtx"
    cut.write_bytes(data[: HEADER_SIZE + (used // 2) * CHUNK_SIZE + 1000])  # inside a written chunk
    (folder / "notes.bin").write_bytes(b"\x00\x01 not a log" * 100)
    whole = folder / "whole.evtx"
    whole.write_bytes(data)

    result = runner.invoke(app, ["hunt", str(folder), "--no-correlate"])

    assert result.exit_code == 0, result.output
    printed = result.stderr.replace("\n", "")  # Rich wraps long lines
    assert f"warning: {cut}:byte {HEADER_SIZE + (used // 2) * CHUNK_SIZE}: truncated file" in printed
    assert f"warning: {folder / 'notes.bin'}: no reader recognises this file" in printed
    assert str(whole) not in printed  # the intact copy is read without a word
    stats = dict(line.strip("│ ").split("│") for line in result.stdout.splitlines() if line.count("│") == 3)
    stats = {k.strip(): v.strip() for k, v in stats.items()}
    assert int(stats["records"]) == _records(big) + _records(cut) and int(stats["warnings"]) == 2


def _records(path: Path) -> int:
    return sum(1 for _ in PyEvtxParser(str(path)).records_json())


def test_hunt_reports_reading_progress_in_input_bytes(dataset: Callable[[str], Path]) -> None:
    """What the CLI's progress bar is fed: (done, total) input bytes, from 0 to the whole input."""
    from chainbreaker.pipeline import HuntOptions, hunt

    folder = dataset("evtx-attack-samples") / "EVTX-ATTACK-SAMPLES" / "Command and Control"
    calls: list[tuple[int, int]] = []
    options = HuntOptions(analytics=False, verdicts=False, correlate=False, workers=1)
    options.progress = lambda done, total: calls.append((done, total))
    result = hunt([folder], options)
    total = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    assert calls[0] == (0, total) and calls[-1] == (total, total)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert result.read.records > 0
