"""`chainbreaker watch PATH... [--syslog udp://HOST:PORT] [--store PATH] [--webhook URL] [--state DIR]`."""

from __future__ import annotations

import signal
from pathlib import Path
from types import FrameType

import typer

from chainbreaker.cli.app import FORMAT_OPTION, OutputFormat, app
from chainbreaker.cli.render import print_json, stderr
from chainbreaker.errors import UsageError
from chainbreaker.live.syslog_server import parse_endpoint
from chainbreaker.live.watcher import DEFAULT_INTERVAL, Watcher, WatchOptions
from chainbreaker.pipeline import HuntOptions, sigma_detector


@app.command("watch")
def watch_command(
    paths: list[Path] = typer.Argument(
        None, help="Log files or folders to follow (new files, appends, rotation)."
    ),
    syslog: list[str] = typer.Option(
        [], "--syslog", help="Receive syslog: udp://HOST:PORT or tcp://HOST:PORT (repeatable)."
    ),
    sigma: list[Path] = typer.Option(
        [], "--sigma", "-s", help="Sigma rule folder or file (repeatable). Default: updated + shipped rules."
    ),
    store: str | None = typer.Option(
        None, "--store", help="Keep incidents in this result store (the workbench's)."
    ),
    webhook: str | None = typer.Option(
        None, "--webhook", help="POST new or escalated incidents here as JSON."
    ),
    state: Path = typer.Option(
        Path(".chainbreaker-watch"),
        "--state",
        help="Folder for read positions and alerts (survives restarts).",
    ),
    interval: float = typer.Option(DEFAULT_INTERVAL, "--interval", min=0.05, help="Seconds between polls."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Follow logs and syslog, detect and correlate as events arrive, until interrupted (Ctrl-C / SIGTERM)."""
    if not paths and not syslog:
        raise UsageError("nothing to watch: give paths and/or --syslog endpoints")
    missing = [p for p in paths or [] if not p.exists()]
    if missing:
        raise UsageError(f"no such file or folder: {missing[0]}")
    options = WatchOptions(
        paths=list(paths or []),
        syslog=[parse_endpoint(url) for url in syslog],
        state_dir=state,
        store=store,
        webhook=webhook,
        interval=interval,
    )
    detector, _ = sigma_detector(HuntOptions(sigma=sigma))

    def say(message: str) -> None:
        stderr.print(message, highlight=False)

    watcher = Watcher(options, detector, notify=say)

    def stop(signum: int, frame: FrameType | None) -> None:
        watcher.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    inputs = [str(p) for p in options.paths] + [e.name for e in options.syslog]
    say(f"watching {', '.join(inputs)} with {len(detector.engine.rules)} rules (state in {state})")
    watcher.run()
    summary = {
        "events": watcher.state.total_events,
        "events_by_input": watcher.state.events,
        "alerts": len(watcher.state.alerts),
        "incidents": len(watcher.incidents()),
        "state": str(state),
    }
    if fmt == OutputFormat.json:
        print_json(summary)
    else:
        for key, value in summary.items():
            say(f"{key}: {value}")
