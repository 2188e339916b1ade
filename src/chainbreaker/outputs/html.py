"""``html``: one self-contained HTML report (inline CSS and SVG; no script, no network).

Log content is attacker-controlled, so the template is rendered by Jinja2 with autoescaping on for
everything, and the page carries a Content-Security-Policy that forbids scripts outright as a
second line of defence. The view model built here holds plain strings and numbers only.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from chainbreaker import __version__
from chainbreaker.frameworks import KILLCHAIN_PHASES, UKC_PHASES
from chainbreaker.outputs.base import FetchEvent, Output, alerts_of, incidents_of, no_events
from chainbreaker.outputs.registry import register

#: Raw events shown per finding, fields per event, and characters per value.
MAX_EVENTS_PER_FINDING = 1
MAX_FIELDS = 80
MAX_VALUE_CHARS = 2000
#: Alerts listed in the "not in an incident" table.
MAX_LOOSE_ALERTS = 500


def _env() -> Environment:
    return Environment(
        loader=PackageLoader("chainbreaker.outputs", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _offset(start: str | None, when: str | None) -> str:
    if not start or not when:
        return ""
    delta = datetime.fromisoformat(when.replace("Z", "+00:00")) - datetime.fromisoformat(
        start.replace("Z", "+00:00")
    )
    minutes = int(delta.total_seconds() // 60)
    return (
        f"+{minutes // 1440}d{minutes % 1440 // 60:02d}h"
        if minutes >= 1440
        else f"+{minutes // 60}h{minutes % 60:02d}m"
    )


def _two_lines(name: str) -> list[str]:
    """Split a phase name over two lines at the most even word break, so it fits its chevron."""
    words = name.split()
    if len(words) < 2 or len(name) <= 14:
        return [name]
    cut = min(range(1, len(words)), key=lambda i: abs(len(" ".join(words[:i])) - len(" ".join(words[i:]))))
    return [" ".join(words[:cut]), " ".join(words[cut:])]


def flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Nested records (EVTX XML as dicts, Zeek/EVE JSON) as dotted ``key: value`` rows."""
    if isinstance(value, Mapping):
        rows: list[tuple[str, str]] = []
        for key, inner in value.items():
            name = str(key) if str(key) != "#attributes" else "@"
            rows.extend(flatten(inner, f"{prefix}.{name}" if prefix else name))
        return rows
    if isinstance(value, list) and value and any(isinstance(v, Mapping | list) for v in value):
        return [row for i, inner in enumerate(value) for row in flatten(inner, f"{prefix}[{i}]")]
    if value is None:
        return []
    return [(prefix or "value", str(value)[:MAX_VALUE_CHARS])]


def _raw_event(fetch_event: FetchEvent, refs: list[Mapping[str, Any]]) -> list[tuple[str, str]] | None:
    for ref in refs[:MAX_EVENTS_PER_FINDING]:
        event = fetch_event(ref)
        if event:
            return flatten(event)[:MAX_FIELDS]
    return None


def _incident_view(incident: Mapping[str, Any], fetch_event: FetchEvent) -> dict[str, Any]:
    prog = incident.get("progression") or {}
    kc_spans = {p["phase"]: p for p in (prog.get("killchain") or {}).get("phases") or []}
    ukc_spans = {p["phase"]: p for p in (prog.get("ukc") or {}).get("phases") or []}
    start = incident.get("first_seen")
    findings = []
    for finding in sorted(incident.get("findings") or [], key=lambda f: (f.get("first_seen") or "", f["id"])):
        findings.append(
            {
                **finding,
                "offset": _offset(start, finding.get("first_seen")),
                "raw": _raw_event(fetch_event, finding.get("event_refs") or []),
            }
        )
    return {
        **incident,
        "findings": findings,
        "killchain": [
            {"id": p.id, "lines": _two_lines(p.name), "span": kc_spans.get(p.id)} for p in KILLCHAIN_PHASES
        ],
        "ukc": [
            {"id": p.id, "name": p.name, "group": p.group, "span": ukc_spans.get(p.id)} for p in UKC_PHASES
        ],
        "tactic_path": (prog.get("attack") or {}).get("path") or [],
        "seconds_to_first_high": prog.get("seconds_to_first_high"),
    }


def render_report(result: Mapping[str, Any], fetch_event: FetchEvent = no_events) -> str:
    incidents = incidents_of(result)
    alerts = alerts_of(result)
    in_incident = {aid for inc in incidents for aid in inc.get("alert_ids") or []}
    loose = [a for a in alerts if a.get("id") not in in_incident]
    levels: dict[str, int] = {}
    for alert in alerts:
        levels[str(alert.get("level"))] = levels.get(str(alert.get("level")), 0) + 1
    template = _env().get_template("report.html")
    return template.render(
        version=__version__,
        stats=result.get("stats") or {},
        schema_version=result.get("schema_version"),
        alerts_total=len(alerts),
        levels=levels,
        incidents=[_incident_view(i, fetch_event) for i in incidents],
        loose=loose[:MAX_LOOSE_ALERTS],
        loose_total=len(loose),
        killchain_names=[(p.id, p.name) for p in KILLCHAIN_PHASES],
    )


@register
class HtmlOutput(Output):
    name = "html"
    description = "A single self-contained HTML report: summary, kill-chain diagrams, timelines, evidence."
    files = ("report.html",)

    def write(
        self, result: Mapping[str, Any], out_dir: Path, fetch_event: FetchEvent = no_events
    ) -> list[Path]:
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / self.files[0]
        path.write_text(render_report(result, fetch_event), encoding="utf-8")
        return [path]
