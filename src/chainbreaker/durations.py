"""Durations written as text, one parser for the whole tool.

Accepted: Polars' fixed-unit duration strings (``500ms``, ``90s``, ``30m``, ``1h30m``, ``2d``,
``1w``; units ``ns us ms s m h d w``), which analytics use for their windows, and a bare number of
seconds (``"90"``), which configuration files allow. Calendar units (``1mo``, ``1y``) have no fixed
length and are refused.
"""

from __future__ import annotations

import re

_PART = re.compile(r"(\d+)(ns|us|ms|s|m|h|d|w)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def duration_seconds(text: str) -> float | None:
    """Seconds in ``text``; None when it is not a duration of fixed units."""
    compact = text.strip()
    if compact.isdigit():
        return float(compact)
    parts = _PART.findall(compact)
    if not parts or "".join(n + u for n, u in parts) != compact:
        return None
    return sum(int(n) * _UNITS[u] for n, u in parts)
