"""`chainbreaker watch PATH... [--syslog udp://HOST:PORT] [--store PATH] [--webhook URL] [--state DIR]
[--intel FEED] [--config FILE] [--no-analytics] [--analytics-window 1h]`."""

from __future__ import annotations

import signal
from pathlib import Path
from types import FrameType

import typer

from chainbreaker.cli.app import FORMAT_OPTION, OutputFormat, app
from chainbreaker.cli.render import print_json, stderr
from chainbreaker.config import load_config
from chainbreaker.errors import UsageError
from chainbreaker.live.syslog_server import parse_endpoint
from chainbreaker.live.watcher import DEFAULT_INTERVAL, Watcher, WatchOptions
from chainbreaker.live.windows import parse_duration
from chainbreaker.pipeline import HuntOptions, builtin_detectors, sigma_detector


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
    analytics: bool = typer.Option(
        True, "--analytics/--no-analytics", help="Run the behavioural analytics over a sliding window."
    ),
    analytics_window: str | None = typer.Option(
        None,
        "--analytics-window",
        help="History the analytics see per source (1h, 90m, 1d). Default: their longest bucket, >= 1h.",
    ),
    verdicts: bool = typer.Option(
        True, "--verdicts/--no-verdicts", help="Turn Suricata alerts and Zeek notices into alerts."
    ),
    intel: list[Path] = typer.Option(
        [], "--intel", help="Indicator file: STIX 2.1 bundle, MISP JSON, CSV or text list (repeatable)."
    ),
    config: Path | None = typer.Option(
        None,
        "--config",
        "-c",
        help="TOML config, as for hunt (\\[intel] feeds are loaded too).",
    ),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Follow logs and syslog, detect and correlate as events arrive, until interrupted (Ctrl-C / SIGTERM)."""
    if not paths and not syslog:
        raise UsageError("nothing to watch: give paths and/or --syslog endpoints")
    missing = [p for p in paths or [] if not p.exists()]
    if missing:
        raise UsageError(f"no such file or folder: {missing[0]}")
    window = None
    if analytics_window is not None:
        window = parse_duration(analytics_window)
        if window is None or not window:
            raise UsageError(
                f"--analytics-window {analytics_window!r}: expected a duration such as 1h or 90m"
            )
    loaded = load_config(config)
    settings = loaded.data if config is not None else None
    intel = [*intel, *loaded.intel_feeds()]
    options = WatchOptions(
        paths=list(paths or []),
        syslog=[parse_endpoint(url) for url in syslog],
        state_dir=state,
        store=store,
        webhook=webhook,
        interval=interval,
        correlate_config=dict(settings or {}),
        analytics_window=window,
    )
    hunt_options = HuntOptions(
        sigma=sigma, analytics=analytics, verdicts=verdicts, intel=intel, config=settings
    )
    detector, _ = sigma_detector(hunt_options)
    detectors = builtin_detectors(hunt_options)

    def say(message: str) -> None:
        stderr.print(message, highlight=False)

    watcher = Watcher(options, detector, notify=say, detectors=detectors)

    def stop(signum: int, frame: FrameType | None) -> None:
        watcher.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    inputs = [str(p) for p in options.paths] + [e.name for e in options.syslog]
    extra = [d.name for d in detectors]
    say(
        f"watching {', '.join(inputs)} with {len(detector.engine.rules)} rules, "
        f"{len(detector.correlations)} correlation rules{', ' if extra else ''}{', '.join(extra)} "
        f"(state in {state})"
    )
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
