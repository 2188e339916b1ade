"""Loading the data files shipped in ``chainbreaker/frameworks/data`` and close-match suggestions."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Any

import yaml


@cache
def load_yaml(name: str) -> Any:
    """Parse ``data/<name>`` once (the files are small; yaml is the documented, reviewable format)."""
    text = resources.files("chainbreaker.frameworks").joinpath("data", name).read_text(encoding="utf-8")
    return yaml.safe_load(text)


def read_bytes(name: str) -> bytes:
    return resources.files("chainbreaker.frameworks").joinpath("data", name).read_bytes()


_SEPARATORS = re.compile(r"[\s_]+")


def normalise(value: str) -> str:
    """``"Command and Control"`` / ``"command_and_control"`` -> ``"command-and-control"``."""
    return _SEPARATORS.sub("-", value.strip().lower())


def suggest(value: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """Close matches for an unknown identifier (difflib: good enough for typos, no extra dependency)."""
    pool = list(dict.fromkeys(candidates))
    by_key = {c.lower(): c for c in pool}
    hits = difflib.get_close_matches(value.strip().lower(), list(by_key), n=n, cutoff=0.6)
    return [by_key[h] for h in hits]
