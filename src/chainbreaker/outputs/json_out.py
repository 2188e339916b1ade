"""``json``: the whole result document; ``jsonl``: one alert / one incident per line."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

from chainbreaker.outputs.base import FetchEvent, Output, alerts_of, incidents_of, no_events
from chainbreaker.outputs.registry import register

_OPTS = orjson.OPT_NON_STR_KEYS


@register
class JsonOutput(Output):
    name = "json"
    description = "The whole result document (alerts, incidents, stats) as one JSON file."
    files = ("chainbreaker.json",)

    def write(
        self, result: Mapping[str, Any], out_dir: Path, fetch_event: FetchEvent = no_events
    ) -> list[Path]:
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / self.files[0]
        path.write_bytes(orjson.dumps(dict(result), option=_OPTS | orjson.OPT_INDENT_2) + b"\n")
        return [path]


@register
class JsonlOutput(Output):
    name = "jsonl"
    description = "Alerts and incidents as JSON Lines, one object per line (for jq, SIEM ingestion)."
    files = ("alerts.jsonl", "incidents.jsonl")

    def write(
        self, result: Mapping[str, Any], out_dir: Path, fetch_event: FetchEvent = no_events
    ) -> list[Path]:
        out_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for name, rows in zip(self.files, (alerts_of(result), incidents_of(result)), strict=True):
            path = out_dir / name
            with path.open("wb") as fh:
                for row in rows:
                    fh.write(orjson.dumps(row, option=_OPTS) + b"\n")
            written.append(path)
        return written
