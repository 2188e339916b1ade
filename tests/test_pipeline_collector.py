"""The hunt's garbage-collector settings are its own: set while it runs, the caller's afterwards."""

from __future__ import annotations

import gc
from pathlib import Path

from chainbreaker.pipeline import HUNT_GC_THRESHOLD, HuntOptions, fewer_collections, hunt


def test_settings_hold_inside_and_are_restored_after() -> None:
    before = gc.get_threshold()
    frozen = gc.get_freeze_count()
    kept = [object() for _ in range(10)]  # alive on entry: frozen out of the collector
    with fewer_collections():
        assert gc.get_threshold() == HUNT_GC_THRESHOLD
        assert gc.get_freeze_count() > frozen
        with fewer_collections():  # nested: the outer call's settings stay
            assert gc.get_threshold() == HUNT_GC_THRESHOLD
        assert gc.get_threshold() == HUNT_GC_THRESHOLD
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == frozen
    assert kept


def test_settings_are_restored_when_the_body_raises() -> None:
    before = gc.get_threshold()
    try:
        with fewer_collections():
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert gc.get_threshold() == before


def test_a_hunt_leaves_the_callers_settings(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text(
        '{"Event": {"System": {"EventID": 4688, "Channel": "Security", "Computer": "pc1", '
        '"TimeCreated": {"#attributes": {"SystemTime": "2024-01-01T00:00:00Z"}}}, '
        '"EventData": {"NewProcessName": "C:\\\\Windows\\\\System32\\\\whoami.exe"}}}\n'
    )
    before = gc.get_threshold()
    frozen = gc.get_freeze_count()
    gc.set_threshold(500, 5, 5)
    try:
        result = hunt([events], HuntOptions(workers=1))
        assert gc.get_threshold() == (500, 5, 5)
        assert gc.get_freeze_count() == frozen
        assert result.read.records == 1
    finally:
        gc.set_threshold(*before)
