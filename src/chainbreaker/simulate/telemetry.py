"""The emission context every activity writes through, and the per-host state that keeps ids consistent.

Activities emit records with a time; records wait in a heap until the engine knows no earlier
record can still come (see chainbreaker.simulate.engine), so every file is written in time order
while memory stays bounded by the records of the activities in flight.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from chainbreaker.simulate.model import Environment, Host, Label

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

#: (format, path relative to logs/). Formats: winjson, zeek, eve, syslog.
Stream = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Emission:
    time: float
    seq: int
    stream: Stream
    host: str
    payload: Any
    label: Label | None


@dataclass(frozen=True, slots=True)
class Process:
    guid: str
    pid: int
    image: str
    command_line: str
    user: str  # DOMAIN\\name as Sysmon prints it
    logon_id: str
    user_sid: str = "S-1-5-18"
    integrity: str = "Medium"
    parent: Process | None = None

    @property
    def name(self) -> str:
        return self.image.rsplit("\\", 1)[-1]


@dataclass
class HostState:
    """Counters that make ids on one host unique and realistic."""

    host: Host
    next_pid: int
    next_port: int
    next_logon: int
    guid_counter: int = 0
    base: dict[str, Process] = field(default_factory=dict)  # long-running processes by role


class Telemetry:
    def __init__(self, env: Environment, seed: int) -> None:
        self.env = env
        self.rng = random.Random(f"ids:{seed}")
        self._heap: list[tuple[float, int, Emission]] = []
        self._seq = 0
        self.hosts: dict[str, HostState] = {}
        for h in env.hosts:
            self.hosts[h.name] = HostState(
                h,
                next_pid=4 * self.rng.randrange(300, 1500),
                next_port=self.rng.randrange(49152, 60000),
                next_logon=self.rng.randrange(0x100000, 0x800000),
            )

    # -- emission -------------------------------------------------------------------------------
    def emit(self, t: float, stream: Stream, host: str, payload: Any, label: Label | None = None) -> None:
        self._seq += 1
        e = Emission(round(t, 6), self._seq, stream, host, payload, label)
        heapq.heappush(self._heap, (e.time, e.seq, e))

    def due(self, before: float | None) -> Iterator[Emission]:
        """Pop every pending record older than ``before`` (all of them when None), oldest first."""
        heap = self._heap
        while heap and (before is None or heap[0][0] < before):
            yield heapq.heappop(heap)[2]

    @property
    def pending(self) -> int:
        return len(self._heap)

    # -- ids ------------------------------------------------------------------------------------
    def state(self, host: Host | str) -> HostState:
        return self.hosts[host if isinstance(host, str) else host.name]

    def pid(self, host: Host) -> int:
        st = self.state(host)
        st.next_pid += 4 * self.rng.randrange(1, 40)
        if st.next_pid > 60000:
            st.next_pid = 4 * self.rng.randrange(300, 1500)
        return st.next_pid

    def port(self, host: Host | str) -> int:
        st = self.state(host)
        st.next_port += self.rng.randrange(1, 6)
        if st.next_port > 65535:
            st.next_port = 49152 + self.rng.randrange(0, 500)
        return st.next_port

    def logon_id(self, host: Host) -> str:
        st = self.state(host)
        st.next_logon += self.rng.randrange(0x100, 0x4000)
        return f"0x{st.next_logon:x}"

    def process_guid(self, host: Host, t: float) -> str:
        st = self.state(host)
        st.guid_counter += 1
        secs = int(t)
        hi, lo = (secs >> 16) & 0xFFFF, secs & 0xFFFF
        return f"{host.sid_prefix}-{hi:04X}-{lo:04X}-0000-0010{st.guid_counter:08X}"

    def uid(self, prefix: str = "C") -> str:
        """A Zeek connection / file uid (C... / F...): 17 base62 characters."""
        return prefix + "".join([_B62[b % 62] for b in self.rng.randbytes(17)])

    def guid(self) -> str:
        n = self.rng.getrandbits(128)
        h = f"{n:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def hexdigest(self, nbytes: int = 32) -> str:
        return f"{self.rng.getrandbits(nbytes * 8):0{nbytes * 2}X}"
