"""The generation loop: merge benign sources and the attack plan in time order, write as we go.

Memory stays flat whatever the volume: sources are lazy iterators, and a record waits in the
heap only until no activity that starts earlier can still come (activities never emit records
older than their own start time).
"""

from __future__ import annotations

import heapq
import random
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from chainbreaker.errors import UsageError
from chainbreaker.simulate import hostactions, noise
from chainbreaker.simulate.environment import build_environment
from chainbreaker.simulate.intel import FEED_FILE, INTEL_DIR, write_feed
from chainbreaker.simulate.model import KILLCHAIN_PHASE_IDS, Host, SimConfig
from chainbreaker.simulate.scenarios import get_scenario
from chainbreaker.simulate.telemetry import Emission, Telemetry
from chainbreaker.simulate.timefmt import iso
from chainbreaker.simulate.writers import LOGS, SUMMARY_FILE, TRUTH_FILE, OutputSet


@dataclass(frozen=True)
class SimulationResult:
    scenario: str
    out: Path
    events: int
    malicious: int
    files: dict[str, int]
    seconds: float
    summary: dict[str, Any] = field(compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "out": str(self.out),
            "events": self.events,
            "malicious_events": self.malicious,
            "files": self.files,
            "seconds": round(self.seconds, 3),
        }


class _Truth:
    """Aggregates the labelled records into the expected incident of ground_truth.json."""

    def __init__(self) -> None:
        self.hosts: set[str] = set()
        self.phases: set[str] = set()
        self.tactics: set[str] = set()
        self.techniques: set[str] = set()
        self.first: float | None = None
        self.last: float | None = None
        self.first_by_phase: dict[str, float] = {}

    def add(self, e: Emission) -> None:
        lab = e.label
        assert lab is not None
        if e.host:
            self.hosts.add(e.host)
        self.phases.add(lab.phase)
        self.tactics.add(lab.tactic)
        self.techniques.add(lab.technique)
        self.first = e.time if self.first is None else min(self.first, e.time)
        self.last = e.time if self.last is None else max(self.last, e.time)
        self.first_by_phase.setdefault(lab.phase, e.time)


def prepare_output(out: Path, force: bool) -> None:
    """Refuse to mix runs: an existing logs/ folder is an error unless ``force`` (then only our files go)."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} exists and is not a folder")
    logs = out / LOGS
    if logs.exists() and any(logs.iterdir()):
        if not force:
            raise UsageError(f"{logs} already exists and is not empty; use --force to replace it")
        shutil.rmtree(logs)
    for name in (TRUTH_FILE, SUMMARY_FILE, f"{INTEL_DIR}/{FEED_FILE}"):
        (out / name).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)


def simulate(scenario_name: str, out: Path, config: SimConfig, force: bool = False) -> SimulationResult:
    began = time.perf_counter()
    scenario = get_scenario(scenario_name)
    window = config.end_ts - config.start_ts
    if scenario.duration and window < scenario.duration + 600:
        raise UsageError(
            f"scenario {scenario_name!r} needs a window of at "
            f"least {(scenario.duration + 600) / 86400:.3f} days "
            f"(--days), got {config.days}"
        )
    env = build_environment(config, scenario.roles)
    prepare_output(out, force)
    tel = Telemetry(env, config.seed)
    for host in env.windows_hosts:
        hostactions.boot(tel, host, config.start_ts - 3 * 3600)
    rng = random.Random(f"scenario:{scenario_name}:{config.seed}")
    lead_in = min(scenario.lead_in, max(0.0, (window - scenario.duration) / 3))
    attack_start = config.start_ts + lead_in * rng.uniform(0.8, 1.0)
    plan = scenario.plan(env, rng, attack_start).sorted()
    sources = [*noise.sources(env, config), iter(plan)]
    outputs = OutputSet(out)
    truth = _Truth()
    events = 0

    def flush(before: float | None) -> None:
        nonlocal events
        for e in tel.due(before):
            outputs.write(e)
            events += 1
            if e.label is not None:
                truth.add(e)

    try:
        for t, activity in heapq.merge(*sources, key=lambda a: a[0]):
            flush(t)  # nothing older than t can come any more: activities never emit before their start
            activity(tel)
        flush(None)
    finally:
        files = outputs.close(config.end_ts)
    feed = None
    if scenario.intel is not None:  # the campaign's threat-intel feed, outside logs/ like the ground truth
        feed = write_feed(out, scenario_name, scenario.intel, config.start_ts).relative_to(out).as_posix()
    summary = _summary(
        scenario_name, scenario.description, config, env.hosts, files, events, outputs.truth_count, truth
    )
    summary["intel"] = feed
    (out / SUMMARY_FILE).write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2) + b"\n")
    return SimulationResult(
        scenario_name, out, events, outputs.truth_count, files, time.perf_counter() - began, summary
    )


def _summary(
    name: str,
    description: str,
    config: SimConfig,
    hosts: tuple[Host, ...],
    files: dict[str, int],
    events: int,
    malicious: int,
    truth: _Truth,
) -> dict[str, Any]:
    incidents = []
    if truth.first is not None and truth.last is not None:
        incidents.append(
            {
                "id": f"{name}-1",
                "name": description,
                "hosts": sorted(truth.hosts),
                "phases": [p for p in KILLCHAIN_PHASE_IDS if p in truth.phases],
                "tactics": sorted(truth.tactics),
                "techniques": sorted(truth.techniques),
                "first_event": iso(truth.first),
                "last_event": iso(truth.last),
                "first_event_by_phase": {
                    p: iso(truth.first_by_phase[p]) for p in KILLCHAIN_PHASE_IDS if p in truth.first_by_phase
                },
            }
        )
    return {
        "schema": "chainbreaker.ground-truth/1",
        "scenario": name,
        "description": description,
        "config": {
            "hosts": config.hosts,
            "days": config.days,
            "noise": config.noise,
            "seed": config.seed,
            "start": iso(config.start_ts),
        },
        "window": {"start": iso(config.start_ts), "end": iso(config.end_ts)},
        "hosts": [{"name": h.name, "fqdn": h.fqdn, "ip": h.ip, "role": h.role, "os": h.os} for h in hosts],
        "files": files,
        "events": events,
        "malicious_events": malicious,
        "incidents": incidents,
    }
