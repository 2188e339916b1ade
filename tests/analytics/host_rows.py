"""Row builders for the host analytics tests (Sysmon / Security events), imported by basename."""

from __future__ import annotations

from analytics_events import at


def proc(
    t: float,
    image: str,
    parent: str = r"C:\Windows\explorer.exe",
    cmd: str = "",
    host: str = "ws1",
    source: str = "windows.sysmon",
    code: int = 1,
) -> dict:
    return {
        "timestamp": at(t),
        "source": source,
        "event_code": code,
        "host": host,
        "user": "CORP\\ann",
        "process_image": image,
        "parent_process_image": parent,
        "process_command_line": cmd or image,
    }


def sec(t: float, code: int, host: str = "dc1", **fields: object) -> dict:
    return {"timestamp": at(t), "source": "windows.security", "event_code": code, "host": host, **fields}
