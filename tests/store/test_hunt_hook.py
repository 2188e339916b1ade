"""`chainbreaker hunt PATH --store STORE`: the real pipeline's result lands in the store, once per input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from chainbreaker.store import Store


def test_hunt_store_option_saves_the_run_idempotently(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    lines = [
        f"Mar  2 08:00:{i:02d} web-01 sshd[{100 + i}]: "
        f"Failed password for root from 198.51.100.7 port {5000 + i} ssh2"
        for i in range(12)
    ]
    (logs / "auth.log").write_text("\n".join(lines) + "\n")
    store = tmp_path / "store.db"
    cmd = [sys.executable, "-m", "chainbreaker", "hunt", str(logs), "--store", str(store), "--format", "json"]
    for _ in range(2):
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert "stored as run RUN-" in done.stderr
    with Store(store) as handle:
        runs = handle.runs()
        assert len(runs) == 1 and runs[0]["ingests"] == 2
        assert runs[0]["stats"]["records"] == 12
        assert runs[0]["inputs"] == [str(logs)]
        assert handle.counts()["alerts"] == runs[0]["alerts"]
