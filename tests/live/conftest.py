"""Fixtures of the live-mode tests: a rule folder and ``chainbreaker watch`` subprocesses."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from live_helpers import RULE


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "ssh_failed.yml").write_text(RULE)
    return folder


@pytest.fixture
def start_watch(tmp_path: Path, rules_dir: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(*args: str) -> subprocess.Popen[bytes]:
        command = [
            sys.executable,
            "-m",
            "chainbreaker",
            "watch",
            "--sigma",
            str(rules_dir),
            "--interval",
            "0.2",
        ]
        proc = subprocess.Popen([*command, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
