"""Output interface: an output turns a run's result document into files in an output folder.

Outputs read the result document (docs/OUTPUTS.md: ``{"schema_version", "alerts", "incidents",
"stats"}``), never live objects, so ``chainbreaker outputs`` can rerun them on a saved
``chainbreaker.json``. ``fetch_event(ref)`` returns the raw event behind an ``event_ref``
(``{"file", "record"}``) for reports that show evidence, or None when it is gone.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

#: ``fetch_event({"file": ..., "record": ...})`` -> the raw event as a dict, or None.
FetchEvent = Callable[[Mapping[str, Any]], dict[str, Any] | None]


def no_events(ref: Mapping[str, Any]) -> dict[str, Any] | None:
    """The fetcher used when none is given: raw events are not available."""
    return None


class Output(ABC):
    #: Registry key (``--output NAME``) and what ``chainbreaker outputs`` lists.
    name: ClassVar[str]
    description: ClassVar[str]
    #: The files it writes, relative to the output folder (``<incident>`` stands for an incident id).
    files: ClassVar[tuple[str, ...]]

    @abstractmethod
    def write(
        self, result: Mapping[str, Any], out_dir: Path, fetch_event: FetchEvent = no_events
    ) -> list[Path]:
        """Write this output's files under ``out_dir`` (created if missing); return the paths written."""


def incidents_of(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    return list(result.get("incidents") or [])


def alerts_of(result: Mapping[str, Any]) -> list[dict[str, Any]]:
    return list(result.get("alerts") or [])


def safe_name(value: str) -> str:
    """A file-name-safe form of an id (incident ids already are; this guards hand-made documents)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in value)[:120] or "unnamed"
