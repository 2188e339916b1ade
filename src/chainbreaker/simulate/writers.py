"""Writers: one output file per stream, records numbered as the readers number them, and the
ground-truth lines for labelled records.

Layout under the output folder::

    logs/windows/<HOST>/{Security,Sysmon,PowerShell,System}.jsonl   evtx_dump-style JSONL
    logs/zeek/{conn,dns,http,ssl}.log                              Zeek TSV with headers
    logs/suricata/eve.json                                         Suricata EVE NDJSON
    logs/linux/<host>/auth.log                                     RFC 3164 syslog
    ground_truth.jsonl, ground_truth.json                          outside logs/ on purpose

A record's number is its 1-based physical line in the file (Zeek header lines count), which is
what the readers put in event_ref.record for text formats; Windows JSONL lines also carry the
same number as EventRecordID.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

import orjson

from chainbreaker.simulate.network import ZEEK_SCHEMAS
from chainbreaker.simulate.telemetry import Emission
from chainbreaker.simulate.timefmt import iso, zeek_open

LOGS = "logs"
TRUTH_FILE = "ground_truth.jsonl"
SUMMARY_FILE = "ground_truth.json"

#: Write buffer per output file. Small on purpose: a run keeps one open file per host and channel,
#: so memory would otherwise grow with the number of hosts.
_BUFFER = 64 * 1024


class _File:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.stream: IO[bytes] = open(path, "wb", buffering=_BUFFER)  # noqa: SIM115 - closed in close()
        self.lines = 0
        self.records = 0
        self.last_time = 0.0


class OutputSet:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.logs = root / LOGS
        self.logs.mkdir(parents=True, exist_ok=True)
        self._files: dict[str, _File] = {}
        self._truth: IO[bytes] = open(root / TRUTH_FILE, "wb")  # noqa: SIM115 - closed in close()
        self.truth_count = 0

    def _open(self, emission: Emission) -> _File:
        fmt, rel = emission.stream
        f = self._files[rel] = _File(self.logs / rel)
        if fmt == "zeek":
            log = rel.rsplit("/", 1)[-1].removesuffix(".log")
            fields, types = ZEEK_SCHEMAS[log]
            header = [
                "#separator \\x09",
                "#set_separator\t,",
                "#empty_field\t(empty)",
                "#unset_field\t-",
                f"#path\t{log}",
                f"#open\t{zeek_open(emission.time)}",
                "#fields\t" + "\t".join(fields),
                "#types\t" + "\t".join(types),
            ]
            f.stream.write(("\n".join(header) + "\n").encode())
            f.lines = len(header)
        return f

    def write(self, e: Emission) -> None:
        fmt, rel = e.stream
        f = self._files.get(rel) or self._open(e)
        if e.time < f.last_time:  # an activity emitted a record older than its own start: a simulator bug
            raise RuntimeError(f"record at {iso(e.time)} written after {iso(f.last_time)} in {rel}")
        f.lines += 1
        f.records += 1
        f.last_time = e.time
        payload: Any = e.payload
        if fmt == "winjson":
            payload["Event"]["System"]["EventRecordID"] = f.lines
            f.stream.write(orjson.dumps(payload) + b"\n")
        elif fmt == "eve":
            f.stream.write(orjson.dumps(payload) + b"\n")
        elif fmt == "zeek":
            f.stream.write(("\t".join(payload) + "\n").encode())
        else:
            f.stream.write(payload.encode() + b"\n")
        if e.label is not None:
            lab = e.label
            self._truth.write(
                orjson.dumps(
                    {
                        "file": f"{LOGS}/{rel}",
                        "record": f.lines,
                        "step": lab.step,
                        "phase": lab.phase,
                        "technique": lab.technique,
                        "tactic": lab.tactic,
                        "host": e.host or None,
                        "time": iso(e.time),
                    }
                )
                + b"\n"
            )
            self.truth_count += 1

    def close(self, end: float) -> dict[str, int]:
        """Close every file (Zeek logs get their ``#close`` line); return records per file."""
        counts: dict[str, int] = {}
        for rel, f in sorted(self._files.items()):
            if rel.startswith("zeek/"):
                f.stream.write(f"#close\t{zeek_open(max(end, f.last_time))}\n".encode())
            f.stream.close()
            counts[f"{LOGS}/{rel}"] = f.records
        self._truth.close()
        return counts
