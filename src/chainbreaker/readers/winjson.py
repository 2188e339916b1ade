"""Windows events exported as JSON: one object per line (JSONL) or one JSON array.

Three shapes, told apart by content (per file on the first bytes, then per record):

* ``evtx_dump`` style: ``{"Event": {"System": ..., "EventData": ...}}`` (``evtx_dump -o jsonl``),
  flattened exactly like EVTX files;
* flat NXLog / OTRF Security-Datasets style: ``EventID``, ``Channel``, ``Hostname``, ``SourceName``
  and the EventData fields at top level;
* Winlogbeat / ECS: ``winlog.event_data.*`` (to their leaf names), ``winlog.channel``,
  ``event.code``, ``host.name``; other objects become dotted names (``process.executable``).

``event_ref.record`` is the 1-based line number (the 1-based position for a JSON array).
Bad lines are counted warnings: invalid JSON, a line longer than :data:`MAX_LINE_BYTES` (no
Windows event comes near it: an EVTX record must fit in a 64 KiB chunk), a value that is not an
object. Bytes that are not UTF-8 are replaced (U+FFFD) and the record is kept, with a warning
that costs no record.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from chainbreaker.readers.base import InputFile, ReadReport
from chainbreaker.readers.registry import register
from chainbreaker.readers.windows_fields import (
    FILE,
    RECORD,
    TIME,
    Rows,
    WindowsReader,
    flatten_event,
    text,
)

MAX_LINE_BYTES = 1 << 20

#: Time fields of flat exports, best first: the event's own UTC time, then the collector's.
#: NXLog's ``EventTime`` is local time without a zone; it is used (as UTC) only when nothing else is.
FLAT_TIME_FIELDS = ("TimeCreated", "UtcTime", "@timestamp", "EventTime")

#: Winlogbeat names -> the Windows names EVTX gives (everything else keeps its dotted ECS name).
ECS_NAMES = {
    "winlog.channel": "Channel",
    "winlog.computer_name": "Computer",
    "winlog.provider_name": "Provider_Name",
    "winlog.provider_guid": "Provider_Guid",
    "winlog.record_id": "EventRecordID",
    "winlog.event_id": "EventID",
    "winlog.task": "Task",
    "winlog.opcode": "Opcode",
    "winlog.keywords": "Keywords",
    "winlog.process.pid": "ExecutionProcessID",
    "winlog.process.thread.id": "ThreadID",
    "winlog.user.identifier": "SecurityUserID",
}
_ECS_DATA_PREFIXES = ("winlog.event_data.", "winlog.user_data.")

_FLAT_MARKERS = (b'"Channel"', b'"SourceName"', b'"Hostname"', b'"EventRecordID"', b'"RecordNumber"')


@register
class WindowsJsonReader(WindowsReader):
    name = "windows-json"
    description = "Windows events as JSON/JSONL: evtx_dump, NXLog/OTRF flat exports, Winlogbeat (ECS)"
    priority = 40

    @classmethod
    def detect(cls, file: InputFile, head: bytes) -> bool:
        body = head.lstrip(b"\xef\xbb\xbf \t\r\n")
        if not body.startswith((b"{", b"[")):
            return False
        first = body.split(b"\n", 1)[0] if body[:1] == b"{" else body
        if b'"Event"' in first and b'"System"' in first:
            return True
        if b'"winlog"' in first or b'"winlog.channel"' in first:
            return True
        return b'"EventID"' in first and any(marker in first for marker in _FLAT_MARKERS)

    def fill(self, file: InputFile, report: ReadReport, rows: Rows, batch_size: int) -> Iterator[None]:
        name = file.name
        count = 0
        for number, obj in self._objects(file, report):
            keys = [FILE, RECORD]
            values: list[Any] = [name, number]
            flatten_windows_json(obj, keys, values)
            rows.add(keys, values)
            count += 1
            if rows.rows >= batch_size:
                report.count(name, count)
                count = 0
                yield
        report.count(name, count)

    def fetch(self, file: InputFile, record: int) -> dict[str, Any] | None:
        for number, obj in self._objects(file, ReadReport()):
            if number == record:
                return obj
        return None

    def _objects(self, file: InputFile, report: ReadReport) -> Iterator[tuple[int, dict[str, Any]]]:
        """(position, object) for every record that parses; a counted warning for every one that does not."""
        name = file.name
        try:
            stream = file.open()
        except OSError as exc:
            report.warn(name, None, f"unreadable file: {exc.strerror or exc}", skipped=0)
            return
        with stream:
            try:
                first = stream.peek(64)[:64] if hasattr(stream, "peek") else b""
                if first.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"["):
                    yield from _array(stream.read(), name, report)
                    return
                yield from _lines(stream, name, report)
            except (OSError, EOFError, ValueError) as exc:
                report.warn(name, None, f"read error: {exc}", skipped=0)


def _lines(stream: Any, name: str, report: ReadReport) -> Iterator[tuple[int, dict[str, Any]]]:
    loads = orjson.loads
    number = 0
    while True:
        line = stream.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        number += 1
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):  # drop the rest of the over-long line
                line = stream.readline(MAX_LINE_BYTES)
            report.warn(name, number, f"line too long: over {MAX_LINE_BYTES} bytes, skipped")
            continue
        if not line.strip():
            continue
        try:
            obj = loads(line)
        except orjson.JSONDecodeError as exc:
            obj = _decode_replacing(line, name, number, report, exc)
            if obj is None:
                continue
        if type(obj) is not dict:
            report.warn(name, number, f"not a JSON object: {type(obj).__name__}")
            continue
        yield number, obj


def _decode_replacing(
    line: bytes, name: str, number: int, report: ReadReport, error: Exception
) -> Any | None:
    """A line that fails as UTF-8 is retried with U+FFFD replacements (kept, warned); else it is skipped."""
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        try:
            obj = orjson.loads(line.decode("utf-8", errors="replace"))
        except orjson.JSONDecodeError as exc:
            report.warn(name, number, f"invalid JSON: {exc}")
            return None
        report.warn(name, number, "invalid UTF-8: bytes replaced with U+FFFD, record kept", skipped=0)
        return obj
    report.warn(name, number, f"invalid JSON: {error}")
    return None


def _array(data: bytes, name: str, report: ReadReport) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        items = orjson.loads(data)
    except orjson.JSONDecodeError:
        try:
            items = orjson.loads(data.decode("utf-8", errors="replace"))
        except orjson.JSONDecodeError as exc:
            report.warn(name, None, f"invalid JSON array: {exc}", skipped=0)
            return
        report.warn(name, None, "invalid UTF-8: bytes replaced with U+FFFD", skipped=0)
    for number, obj in enumerate(items if type(items) is list else [items], start=1):
        if type(obj) is dict:
            yield number, obj
        else:
            report.warn(name, number, f"not a JSON object: {type(obj).__name__}")


def flatten_windows_json(obj: dict[str, Any], keys: list[str], values: list[Any]) -> None:
    """Append one exported event's fields, whatever its shape (evtx_dump, flat, ECS)."""
    event = obj.get("Event")
    if type(event) is dict and "System" in event:
        flatten_event(event, keys, values)
    elif "winlog" in obj or "winlog.channel" in obj:
        _flatten_ecs(obj, "", keys, values)
        stamp = obj.get("@timestamp")
        keys.append(TIME)
        values.append(stamp if type(stamp) is str else None)
    else:
        _flatten_flat(obj, keys, values)


def _flatten_flat(obj: dict[str, Any], keys: list[str], values: list[Any]) -> None:
    for key, value in obj.items():
        keys.append(key)
        values.append(value if type(value) is str else _json_text(value))
    for field in FLAT_TIME_FIELDS:
        stamp = obj.get(field)
        if type(stamp) is str and stamp:
            if field != "TimeCreated":  # normalise reads TimeCreated itself
                keys.append(TIME)
                values.append(stamp)
            break
    # The EVTX names Sigma rules use, when the export spells them differently.
    if "Provider_Name" not in obj and "SourceName" in obj:
        keys.append("Provider_Name")
        values.append(text(obj["SourceName"]))
    if "Computer" not in obj and "Hostname" in obj:
        keys.append("Computer")
        values.append(text(obj["Hostname"]))


def _flatten_ecs(obj: dict[str, Any], prefix: str, keys: list[str], values: list[Any]) -> None:
    for key, value in obj.items():
        name = prefix + key
        if type(value) is dict:
            _flatten_ecs(value, name + ".", keys, values)
            continue
        if name.startswith(_ECS_DATA_PREFIXES):
            field = name.split(".", 2)[2]
        else:
            field = ECS_NAMES.get(name) or name
            if name == "event.code":
                keys.append("EventID")
                values.append(_json_text(value))
        keys.append(field)
        values.append(value if type(value) is str else _json_text(value))


def _json_text(value: Any) -> str | None:
    """Scalars and lists as text (see windows_fields.text); objects as compact JSON."""
    if type(value) is dict:
        return orjson.dumps(value).decode()
    return text(value)
