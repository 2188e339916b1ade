"""The simulator's Windows JSONL has the shape the `evtx` package gives for real EVTX files.

For every (channel, event id) the simulator writes that the evtx-attack-samples corpus also holds,
the System block has the same keys in the same order, and every EventData / UserData field of the
real record is present in ours (ours may carry fields newer Windows/Sysmon versions add).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import evtx
import orjson

from chainbreaker.simulate import SimConfig, simulate


def _key(event: dict[str, Any]) -> tuple[str, int]:
    system = event["System"]
    eid = system["EventID"]
    return system["Channel"], int(eid["#text"] if isinstance(eid, dict) else eid)


def _body(event: dict[str, Any]) -> dict[str, Any]:
    if "EventData" in event:
        return event["EventData"] or {}
    return next(iter(event["UserData"].values()))


def test_windows_records_match_evtx_output(dataset: Any, tmp_path: Path) -> None:
    ours: dict[tuple[str, int], dict[str, Any]] = {}
    for name in ("lockbit", "clop", "blackcat"):
        simulate(name, tmp_path / name, SimConfig(hosts=4, days=0.15, noise=20, seed=3))
        for f in sorted((tmp_path / name / "logs/windows").rglob("*.jsonl")):
            for line in f.read_bytes().splitlines():
                event = orjson.loads(line)["Event"]
                ours.setdefault(_key(event), event)
    real: dict[tuple[str, int], dict[str, Any]] = {}
    for path in sorted((dataset("evtx-attack-samples") / "EVTX-ATTACK-SAMPLES").rglob("*.evtx")):
        try:
            for record in evtx.PyEvtxParser(str(path)).records_json():
                event = orjson.loads(record["data"])["Event"]
                key = _key(event)
                if key in ours and key not in real:
                    real[key] = event
        except (OSError, RuntimeError):
            continue  # a damaged sample file: the other files still count
    assert len(real) >= 18, sorted(set(ours) - set(real))
    for key, theirs in real.items():
        mine = ours[key]
        assert list(mine["System"]) == list(theirs["System"]), key
        assert list(mine["System"]["Provider"]["#attributes"])[:2] == ["Name", "Guid"], key
        missing = [field for field in _body(theirs) if field not in _body(mine)]
        assert not missing, (key, missing)
