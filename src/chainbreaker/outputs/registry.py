"""The output registry: outputs keyed by name, duplicates refused, listed by ``chainbreaker outputs``."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from chainbreaker.errors import UnknownIdError
from chainbreaker.outputs.base import FetchEvent, Output, no_events

_REGISTRY: dict[str, type[Output]] = {}


def register(cls: type[Output]) -> type[Output]:
    """Class decorator: add an output (a second output with the same name is an error)."""
    if cls.name in _REGISTRY:
        raise ValueError(f"output {cls.name!r} is already registered by {_REGISTRY[cls.name].__qualname__}")
    _REGISTRY[cls.name] = cls
    return cls


def registered_outputs() -> list[type[Output]]:
    """Every registered output, by name."""
    return [_REGISTRY[name] for name in sorted(_REGISTRY)]


def get_output(name: str) -> Output:
    cls = _REGISTRY.get(name.strip().lower())
    if cls is None:
        raise UnknownIdError("output", name, difflib.get_close_matches(name, list(_REGISTRY), n=3))
    return cls()


def write_outputs(
    names: Iterable[str], result: Mapping[str, Any], out_dir: Path, fetch_event: FetchEvent = no_events
) -> dict[str, list[Path]]:
    """Run the named outputs (``"all"`` for every one) in order; returns the files each wrote."""
    wanted = list(dict.fromkeys(names))
    if "all" in wanted:
        wanted = sorted(_REGISTRY)
    outputs = [get_output(n) for n in wanted]  # unknown names fail before anything is written
    out_dir.mkdir(parents=True, exist_ok=True)
    return {o.name: o.write(result, out_dir, fetch_event) for o in outputs}
