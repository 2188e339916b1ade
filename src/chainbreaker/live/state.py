"""What ``watch`` remembers across restarts, saved atomically in one file of its state folder.

One snapshot holds the read position of every followed file (inode, byte offset, lines before
it), the events counted per input, the next syslog record number, every alert raised so far, the
findings of windowed detectors (:mod:`.findings`) and which generation of window files
(:mod:`.snapshot`: the rows correlation rules and analytics still need) belongs to it.
It is written to a temporary file, flushed to disk and renamed over the old one
(:func:`os.replace` is atomic), and only *after* the events it covers were detected and their
alerts added to it: a crash before the rename leaves the previous snapshot, whose offsets point
before those events, so they are read again exactly once; a crash after it cannot lose them.
The store and the webhook are updated from the snapshot afterwards; both are idempotent by
alert and incident id.
"""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path

from chainbreaker.alerts import Alert
from chainbreaker.errors import ChainbreakerError
from chainbreaker.live.findings import Finding

STATE_FILE = "watch-state.pickle"
STATE_VERSION = 2
#: Older snapshot versions that load by filling the fields added since with their defaults.
_UPGRADABLE = (1,)


class StateError(ChainbreakerError, OSError):
    """The watch state folder cannot be read or written."""


@dataclass
class FilePosition:
    """Where reading a followed file stopped: bytes and lines already processed."""

    inode: int
    offset: int = 0
    lines: int = 0


@dataclass
class WatchState:
    files: dict[str, FilePosition] = field(default_factory=dict)
    events: dict[str, int] = field(default_factory=dict)  # per input (file path or syslog endpoint)
    syslog_records: int = 0
    alerts: list[Alert] = field(default_factory=list)
    notified: dict[str, tuple[int, int, int]] = field(
        default_factory=dict
    )  # incident -> (score, level, phase)
    findings: list[Finding] = field(default_factory=list)  # windowed alerts that may still grow
    window_generation: int = 0  # the window files written with this snapshot (0: none)
    window_files: dict[str, str] = field(default_factory=dict)  # window name -> file in that generation

    @property
    def total_events(self) -> int:
        return sum(self.events.values())

    def count(self, source: str, events: int) -> None:
        self.events[source] = self.events.get(source, 0) + events


def load_state(folder: Path) -> WatchState:
    path = folder / STATE_FILE
    if not path.exists():
        return WatchState()
    try:
        with path.open("rb") as fh:
            version, state = pickle.load(fh)
    except (OSError, pickle.UnpicklingError, EOFError, ValueError) as exc:
        raise StateError(f"unreadable watch state: {exc}", str(path)) from exc
    if (version != STATE_VERSION and version not in _UPGRADABLE) or not isinstance(state, WatchState):
        raise StateError(f"watch state of another version ({version})", str(path))
    for name, default in (("findings", []), ("window_generation", 0), ("window_files", {})):
        if name not in state.__dict__:  # a version 1 snapshot: nothing windowed yet
            setattr(state, name, default)
    return state


def save_state(folder: Path, state: WatchState) -> None:
    """Write the snapshot atomically (temporary file, fsync, rename, fsync of the folder)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / STATE_FILE
    tmp = folder / (STATE_FILE + ".tmp")
    try:
        with tmp.open("wb") as fh:
            pickle.dump((STATE_VERSION, state), fh, protocol=pickle.HIGHEST_PROTOCOL)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        fsync_path(folder)  # the rename itself
    except OSError as exc:
        raise StateError(f"cannot save watch state: {exc}", str(path)) from exc


def fsync_path(path: Path) -> None:
    """Flush a file or a folder (a folder: its entries, e.g. a rename) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
