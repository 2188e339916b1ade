"""The watch loop: poll files and syslog, detect, correlate, commit, publish.

One *tick* (every ``interval`` seconds):

1. read what was appended to followed files and what syslog delivered;
2. run the per-event detectors over the new events (the Sigma rules, with the same compiled rules
   and engine as ``hunt``; sensor verdicts; indicator matching), then re-evaluate the windowed
   ones over their bounded history plus the new events (Sigma correlation rules, behavioural
   analytics: :mod:`chainbreaker.live.detection`);
3. commit: write the windows' rows as a new generation of Arrow IPC files
   (:mod:`chainbreaker.live.snapshot`), then add the new alerts, the new file positions and that
   generation to the state and save it atomically (:mod:`chainbreaker.live.state`), so a restart
   neither re-reads nor skips an event and never counts a window row twice;
4. when alerts were added or grew, correlate every alert so far into incidents (kill-chain
   correlation is cheap next to detection and regroups old alerts with new ones), upsert them
   into the store as one run, and post incidents that are new or escalated (higher score, level
   or furthest kill-chain phase) to the webhook.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from chainbreaker import __version__
from chainbreaker.alerts import Alert
from chainbreaker.correlate import build_incidents
from chainbreaker.detect.base import Detector
from chainbreaker.detect.sigma.detector import SigmaDetector
from chainbreaker.incidents import Incident
from chainbreaker.live.detection import LiveDetection
from chainbreaker.live.snapshot import read_generation, remove_other_generations, write_generation
from chainbreaker.live.state import load_state, save_state
from chainbreaker.live.syslog_server import Endpoint, SyslogReceiver, syslog_batch
from chainbreaker.live.tail import FileTailer
from chainbreaker.live.webhook import escalations, post_json, rank
from chainbreaker.readers.base import ReadReport

DEFAULT_INTERVAL = 1.0
Notify = Callable[[str], None]


@dataclass
class WatchOptions:
    paths: Sequence[Path] = ()
    syslog: Sequence[Endpoint] = ()
    state_dir: Path = Path(".chainbreaker-watch")
    store: str | None = None
    webhook: str | None = None
    interval: float = DEFAULT_INTERVAL
    correlate_config: dict[str, Any] = field(default_factory=dict)
    analytics_window: timedelta | None = None  # None: the longest analytics bucket, at least 1 h


@dataclass
class TickResult:
    events: int = 0
    alerts: int = 0
    incidents: int = 0
    notified: int = 0


class Watcher:
    def __init__(
        self,
        options: WatchOptions,
        detector: SigmaDetector,
        notify: Notify | None = None,
        detectors: Sequence[Detector] = (),
    ) -> None:
        """``detectors``: those beside Sigma (``pipeline.builtin_detectors``: analytics, verdicts, intel)."""
        self.options = options
        self.detector = detector
        self.notify = notify or (lambda message: None)
        self.state = load_state(options.state_dir)
        folder, generation = options.state_dir, self.state.window_generation
        rows = read_generation(folder, generation, self.state.window_files)
        remove_other_generations(folder, generation)  # leftovers of a commit cut short
        self.detection = LiveDetection(detector, detectors, self.state, rows, options.analytics_window)
        own = [options.state_dir] + (
            [Path(options.store)] if options.store and "://" not in options.store else []
        )
        self.tailer = FileTailer(options.paths, exclude=own)  # never follow our own files
        self.receiver = SyslogReceiver(list(options.syslog))
        self.report = ReadReport()
        self.run_id = "LIVE-" + hashlib.sha256(str(options.state_dir.resolve()).encode()).hexdigest()[:16]
        self._stopping = False

    def start(self) -> None:
        self.receiver.start()
        if self.state.alerts:
            self.publish([])  # a previous run may have died between commit and publish

    def stop(self) -> None:
        self._stopping = True

    def close(self) -> None:
        self.receiver.stop()

    def run(self) -> None:
        """Tick until :meth:`stop` (a signal handler calls it)."""
        self.start()
        try:
            while not self._stopping:
                started = time.monotonic()
                self.tick()
                time.sleep(max(0.0, self.options.interval - (time.monotonic() - started)))
            self.tick()  # what arrived while stopping
            if self.detection.pending:
                self.detection.force_analytics()
                self.tick()
        finally:
            self.close()

    def tick(self) -> TickResult:
        result = TickResult()
        new_alerts: list[Alert] = []
        changed = False
        for update in self.tailer.poll(self.state, self.report):
            changed = True
            new_alerts += self.detection.observe(update.batches)
            self.state.files[update.path] = update.position
            if update.events:
                self.state.count(update.path, update.events)
            result.events += update.events
        for source, lines in self.receiver.drain().items():
            changed = True
            batch = syslog_batch(lines, source, self.state.syslog_records + 1)
            self.state.syslog_records += len(lines)
            new_alerts += self.detection.observe((batch,))
            self.state.count(source, batch.height)
            result.events += batch.height
        new_alerts += self.detection.windows()
        if changed or self.detection.dirty:
            self.commit()
        result.alerts = len(new_alerts)
        if new_alerts:
            result.incidents, result.notified = self.publish(new_alerts)
        return result

    def commit(self) -> None:
        """Save windows (a new generation) and then the state naming it: the commit point."""
        folder = self.options.state_dir
        if self.detection.dirty:
            generation = self.state.window_generation + 1
            files = write_generation(folder, generation, self.detection.window_rows())
            self.state.window_generation, self.state.window_files = generation, files
        save_state(folder, self.state)
        if self.detection.dirty:
            remove_other_generations(folder, self.state.window_generation)
            self.detection.dirty = False

    def incidents(self) -> list[Incident]:
        return build_incidents(self.state.alerts, None, self.options.correlate_config or None)

    def publish(self, new_alerts: list[Alert]) -> tuple[int, int]:
        """Store every alert and incident so far; post new or escalated incidents to the webhook."""
        incidents = self.incidents()
        document = self.document(incidents)
        if self.options.store is not None:
            from chainbreaker.store import save_result

            meta = {"run_id": self.run_id, "inputs": [], "options": {"watch": True}}
            save_result(self.options.store, document, meta)
        notified = 0
        if self.options.webhook:
            changed = escalations(incidents, self.state.notified)
            for incident in changed:
                payload = {
                    "event": "incident",
                    "generator": f"chainbreaker {__version__}",
                    "incident": incident.as_dict(),
                }
                if post_json(self.options.webhook, payload, self.notify):
                    self.state.notified[incident.id] = rank(incident)
                    notified += 1
            if notified:
                save_state(self.options.state_dir, self.state)
        if new_alerts:
            self.notify(f"{len(new_alerts)} new or updated alerts; {len(incidents)} incidents")
        return len(incidents), notified

    def document(self, incidents: list[Incident]) -> dict[str, Any]:
        """The result document (docs/OUTPUTS.md) of everything watched so far."""
        stats = {
            "records": self.state.total_events,
            "events_by_input": dict(self.state.events),
            "alerts": len(self.state.alerts),
            "incidents": len(incidents),
        }
        return {
            "schema_version": "1.0",
            "generator": f"chainbreaker {__version__}",
            "alerts": [
                a.as_dict() for a in sorted(self.state.alerts, key=lambda a: (a.time, a.rule_id, a.id))
            ],
            "incidents": [i.as_dict() for i in incidents],
            "stats": stats,
            "warnings": [w.as_dict() for w in self.report.warnings[-1000:]],
            "skipped_reasons": self.detection.skipped_reasons(),
        }
