"""The simulated telemetry is what real systems and tools produce: the ground truth agrees with our
framework mapping, every svchost.exe is a child of services.exe, and blackcat's remote-access tool
calls its relay from its installation until the encryption."""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from sim_runs import ATTACKS, SMALL

from chainbreaker.frameworks import phases_for


def truth(folder: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in (folder / "ground_truth.jsonl").read_bytes().splitlines()]


def process_starts(folder: Path) -> Iterator[tuple[str, int, str, str]]:
    """(file, event id, image, parent image) of every Sysmon 1 and Security 4688 record."""
    for path in sorted((folder / "logs/windows").glob("*/*.jsonl")):
        if path.stem not in ("Sysmon", "Security"):
            continue
        for line in path.read_bytes().splitlines():
            event = orjson.loads(line)["Event"]
            eid, data = event["System"]["EventID"], event.get("EventData") or {}
            if path.stem == "Sysmon" and eid == 1:
                yield path.name, eid, data["Image"], data["ParentImage"]
            elif path.stem == "Security" and eid == 4688:
                yield path.name, eid, data["NewProcessName"], data["ParentProcessName"]


@pytest.mark.parametrize("name", ATTACKS)
def test_every_label_phase_is_one_our_framework_maps_its_technique_to(
    runs: dict[str, Path], name: str
) -> None:
    labels = {(lab["step"], lab["phase"], lab["technique"], lab["tactic"]) for lab in truth(runs[name])}
    assert labels
    for step, phase, tech, tactic in sorted(labels):
        mapped = phases_for((tech,), (tactic,))[0]
        assert phase in mapped, f"{name}: {step!r} is labelled {phase} but {tech}/{tactic} maps to {mapped}"


@pytest.mark.parametrize("name", list(SMALL))
def test_every_svchost_is_started_by_services_exe(runs: dict[str, Path], name: str) -> None:
    seen: set[int] = set()
    for file, eid, image, parent in process_starts(runs[name]):
        if image.lower().endswith("\\svchost.exe"):
            seen.add(eid)
            assert parent.lower() == "c:\\windows\\system32\\services.exe", (file, eid, parent)
    if name == "benign":  # background service starts happen on every host, every hour
        assert seen == {1, 4688}


def test_blackcat_relay_callbacks_span_install_to_encryption(runs: dict[str, Path]) -> None:
    folder = runs["blackcat"]
    labels = truth(folder)
    install = min(lab["time"] for lab in labels if lab["technique"] == "T1543.003")
    encryption = [lab["time"] for lab in labels if lab["technique"] == "T1486"]
    lines = (folder / "logs/zeek/conn.log").read_text().splitlines()
    relay = sorted(
        float(lines[lab["record"] - 1].split("\t")[0])
        for lab in labels
        if lab["technique"] == "T1219" and lab["file"] == "logs/zeek/conn.log"
    )
    assert relay, "no relay connection in Zeek conn"
    first, last = relay[0], relay[-1]  # Zeek ts: epoch seconds

    def epoch(iso: str) -> float:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()

    assert 0 < first - epoch(install) <= 120  # the tool calls home right after it is installed
    assert last >= epoch(min(encryption)) - 90  # ... and keeps calling until the files are encrypted
    assert last <= epoch(max(encryption)) + 90
    callbacks = [b - a for a, b in itertools.pairwise(relay)]
    # Regular callbacks all along: no long silence, a steady median interval.
    assert max(callbacks) <= 90
    assert 45 <= statistics.median(callbacks) <= 75
    assert len(relay) >= (last - first) / 90
