"""Timestamps as each source spells them (all UTC).

Formatting dominates the simulator's per-record cost, so the date-and-seconds part is computed
once per second (records come in bursts within the same second) and the fraction appended.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache


@lru_cache(maxsize=8192)
def _second(sec: int) -> tuple[str, str, str]:
    """ISO ('YYYY-MM-DDTHH:MM:SS'), Sysmon (with a space) and syslog ('Mon dd HH:MM:SS') forms of a second."""
    d = datetime.fromtimestamp(sec, UTC)
    iso = d.strftime("%Y-%m-%dT%H:%M:%S")
    return iso, iso.replace("T", " "), f"{d.strftime('%b')} {d.day:2d} {iso[11:]}"


def _split(t: float) -> tuple[int, int]:
    micros = round(t * 1_000_000)
    return micros // 1_000_000, micros % 1_000_000


def system_time(t: float) -> str:
    """EVTX ``TimeCreated/@SystemTime`` as evtx_dump prints it: 2026-01-05T07:00:00.123456Z."""
    sec, us = _split(t)
    return f"{_second(sec)[0]}.{us:06d}Z"


def utc_time(t: float) -> str:
    """Sysmon ``UtcTime``: 2026-01-05 07:00:00.123."""
    sec, us = _split(t)
    return f"{_second(sec)[1]}.{us // 1000:03d}"


def zeek_ts(t: float) -> str:
    return f"{t:.6f}"


def zeek_open(t: float) -> str:
    """Zeek ``#open`` / ``#close`` header value."""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d-%H-%M-%S")


def eve_ts(t: float) -> str:
    """Suricata EVE ``timestamp``: 2026-01-05T07:00:00.123456+0000."""
    sec, us = _split(t)
    return f"{_second(sec)[0]}.{us:06d}+0000"


def syslog_ts(t: float) -> str:
    """RFC 3164 timestamp: ``Jan  5 07:00:00`` (day padded with a space, no year)."""
    return _second(_split(t)[0])[2]


def iso(t: float) -> str:
    """Ground-truth and summary times: ISO 8601 with microseconds and Z."""
    return system_time(t)
