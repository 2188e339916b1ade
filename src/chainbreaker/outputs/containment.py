"""``containment``: plain lists to feed EDR isolation, IAM and firewall/DNS block lists.

One item per line, sorted, merged over every incident: ``containment/hosts.txt`` (isolate),
``accounts.txt`` (disable / reset), ``addresses.txt`` (block), ``domains.txt`` (block / sinkhole).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from chainbreaker.outputs.base import FetchEvent, Output, incidents_of, no_events
from chainbreaker.outputs.registry import register

KINDS = ("hosts", "accounts", "addresses", "domains")


def merged_containment(result: Mapping[str, Any]) -> dict[str, list[str]]:
    merged: dict[str, set[str]] = {kind: set() for kind in KINDS}
    for incident in incidents_of(result):
        items = incident.get("containment") or {}
        for kind in KINDS:
            merged[kind].update(str(v) for v in items.get(kind) or [] if str(v).strip())
    return {kind: sorted(values, key=str.lower) for kind, values in merged.items()}


@register
class ContainmentOutput(Output):
    name = "containment"
    description = "Hosts to isolate, accounts to disable, addresses and domains to block: one per line."
    files = tuple(f"containment/{kind}.txt" for kind in KINDS)

    def write(
        self, result: Mapping[str, Any], out_dir: Path, fetch_event: FetchEvent = no_events
    ) -> list[Path]:
        folder = out_dir / "containment"
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for kind, values in merged_containment(result).items():
            path = folder / f"{kind}.txt"
            # One value per line; a value holding a line break (attacker-controlled) is split off.
            path.write_text("".join(v.replace("\n", " ").replace("\r", " ") + "\n" for v in values), "utf-8")
            written.append(path)
        return written
