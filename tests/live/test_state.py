"""The watch state snapshot: a version 1 snapshot (before windowed detectors) still loads."""

from __future__ import annotations

import pickle
from pathlib import Path

from chainbreaker.live.state import STATE_FILE, FilePosition, WatchState, load_state


def test_version_1_snapshot_loads_with_empty_windows(tmp_path: Path) -> None:
    old = WatchState(files={"/var/log/auth.log": FilePosition(7, 120, 3)}, events={"/var/log/auth.log": 3})
    for name in ("findings", "window_generation", "window_files"):
        del old.__dict__[name]  # what version 1 pickled
    (tmp_path / STATE_FILE).write_bytes(pickle.dumps((1, old)))
    state = load_state(tmp_path)
    assert state.files["/var/log/auth.log"].offset == 120 and state.total_events == 3
    assert (state.findings, state.window_generation, state.window_files) == ([], 0, {})
