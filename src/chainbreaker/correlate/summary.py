"""Terminal summary of incidents: a Rich renderable the CLI prints (the library never prints).

Incidents ranked by score, each with its kill-chain bar over the 7 Lockheed Martin phases
(``■■■□□□□``: filled = phase reached) and its top findings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from chainbreaker.alerts import Level
from chainbreaker.frameworks import KILLCHAIN_PHASES
from chainbreaker.incidents import Incident

FILLED, EMPTY = "■", "□"
_RANK = {level.name: level.value for level in Level}
_LEVEL_STYLE = {
    "critical": "bold red",
    "high": "red",
    "medium": "yellow",
    "low": "cyan",
    "informational": "dim",
}


def killchain_bar(reached: Sequence[str]) -> str:
    """``■■□□□□□``-style bar over the 7 phases, in chain order."""
    got = set(reached)
    return "".join(FILLED if p.id in got else EMPTY for p in KILLCHAIN_PHASES)


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    return (
        f"{days}d{hours:02d}h" if days else f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"
    )


def render_incidents(
    incidents: Sequence[Incident | Mapping[str, Any]], top_findings: int = 3, limit: int = 20
) -> RenderableType:
    """A table of incidents (Incident values or their ``as_dict`` form, in the order given:
    build_incidents ranks them) with their top findings."""
    docs = [i.as_dict() if isinstance(i, Incident) else i for i in incidents]
    if not docs:
        return Text("No incidents.", style="green")
    table = Table(title=f"Incidents ({len(incidents)})", show_lines=True, expand=False)
    table.add_column("score", justify="right")
    table.add_column("incident and top findings", ratio=3, min_width=20)  # room for the whole id
    table.add_column("kill chain", no_wrap=True)
    table.add_column("hosts / accounts", ratio=1)
    table.add_column("dwell", justify="right", no_wrap=True)
    for inc in docs[:limit]:
        findings = sorted(
            inc.get("findings") or [],
            key=lambda f: (-_RANK.get(f.get("level"), 0), f.get("first_seen") or ""),
        )[:top_findings]
        lines = Text(f"{inc.get('id')}  ", style="bold")
        lines.append(f"{inc.get('title')}\n", style="")
        for f in findings:
            lines.append(f"  [{f.get('level')}] ", style=_LEVEL_STYLE.get(str(f.get("level")), ""))
            entity = str(f.get("entity") or "").split(":", 1)[-1]
            lines.append(f"{f.get('title')} ({entity}) x{f.get('count')}\n")
        lines.rstrip()
        bar = Text(killchain_bar(inc.get("killchain_phases") or []), style="bold red")
        bar.append(f"\nbreak at: {inc.get('break_at') or '-'}", style="dim")
        users = inc.get("users") or []
        table.add_row(
            Text(str(inc.get("score")), style=_LEVEL_STYLE.get(str(inc.get("level")), "")),
            lines,
            bar,
            Text(", ".join(inc.get("hosts") or []) + ("\n" + ", ".join(users) if users else "")),
            _duration(float(inc.get("dwell_seconds") or 0)),
        )
    parts: list[RenderableType] = [table]
    if len(docs) > limit:
        parts.append(Text(f"... and {len(docs) - limit} more incident(s)", style="dim"))
    return Group(*parts)
