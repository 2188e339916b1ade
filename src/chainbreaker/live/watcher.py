"""The watch loop: poll files and syslog, detect, correlate, commit, publish.

One *tick* (every ``interval`` seconds):

1. read what was appended to followed files and what syslog delivered;
2. run the Sigma rules over the new events (the same compiled rules and engine as ``hunt``,
   evaluated batch by batch as events arrive);
3. commit: add the new alerts and the new file positions to the state and save it atomically
   (:mod:`chainbreaker.live.state`), so a restart neither re-reads nor skips an event;
4. when alerts were added, correlate every alert so far into incidents (kill-chain correlation
   is cheap next to detection and regroups old alerts with new ones), upsert them into the store
   as one run, and post incidents that are new or escalated (higher score, level or furthest
   kill-chain phase) to the webhook.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chainbreaker import __version__
from chainbreaker.alerts import Alert
from chainbreaker.correlate import build_incidents
from chainbreaker.detect.sigma.detector import SigmaDetector
from chainbreaker.incidents import Incident
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


@dataclass
class TickResult:
    events: int = 0
    alerts: int = 0
    incidents: int = 0
    notified: int = 0


class Watcher:
    def __init__(self, options: WatchOptions, detector: SigmaDetector, notify: Notify | None = None) -> None:
        self.options = options
        self.detector = detector
        detector.min_rows = 1  # evaluate every tick's events at once, however few
        self.notify = notify or (lambda message: None)
        self.state = load_state(options.state_dir)
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
        finally:
            self.close()

    def tick(self) -> TickResult:
        result = TickResult()
        new_alerts: list[Alert] = []
        changed = False
        for update in self.tailer.poll(self.state, self.report):
            changed = True
            alerts = self._detect(update.batches)
            self.state.alerts.extend(alerts)
            new_alerts.extend(alerts)
            self.state.files[update.path] = update.position
            if update.events:
                self.state.count(update.path, update.events)
            result.events += update.events
        for source, lines in self.receiver.drain().items():
            changed = True
            batch = syslog_batch(lines, source, self.state.syslog_records + 1)
            self.state.syslog_records += len(lines)
            alerts = self._detect((batch,))
            self.state.alerts.extend(alerts)
            new_alerts.extend(alerts)
            self.state.count(source, batch.height)
            result.events += batch.height
        if changed:
            save_state(self.options.state_dir, self.state)  # the commit point
        result.alerts = len(new_alerts)
        if new_alerts:
            result.incidents, result.notified = self.publish(new_alerts)
        return result

    def _detect(self, batches: Sequence[Any]) -> list[Alert]:
        alerts: list[Alert] = []
        for batch in batches:
            if batch.height:
                alerts.extend(self.detector.observe(batch))
        return alerts

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
            self.notify(f"{len(new_alerts)} new alerts; {len(incidents)} incidents")
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
            "skipped_reasons": [],
        }
