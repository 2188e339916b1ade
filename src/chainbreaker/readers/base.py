"""Reader interface, input files and the run's read report.

A reader turns one input file into a stream of columnar batches (see chainbreaker.events).
Each reader has a cheap content-sniffing ``detect`` (never the extension alone); the registry
tries readers in ``priority`` order and the first that accepts a file reads it.

Bad input never stops a run: readers record a :class:`ReadWarning` through
:meth:`ReadReport.warn` for every damaged record or unreadable file and go on.
"""

from __future__ import annotations

import bz2
import gzip
import io
import os
import zipfile
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, ClassVar

import polars as pl

#: Default number of records per batch: large enough for vectorised work, small enough to keep
#: memory flat (about 50-100 MB per batch for wide Windows events).
DEFAULT_BATCH_SIZE = 50_000

#: How many bytes readers get to sniff a file.
HEAD_SIZE = 8192


def input_name(path: str | os.PathLike[str], member: str | None) -> str:
    """What event references and warnings cite for an input: the path, or ``archive.zip!member``."""
    return f"{os.fspath(path)}!{member}" if member else os.fspath(path)


@dataclass(frozen=True, slots=True)
class InputFile:
    """One readable stream: a plain file, a .gz/.bz2 file, or a member of a .zip archive.

    ``name`` is what event references and warnings cite: the path, or ``archive.zip!member``.
    """

    path: Path
    member: str | None = None
    compression: str | None = None  # None, "gzip", "bz2" or "zip"

    @property
    def name(self) -> str:
        return input_name(self.path, self.member)

    def open(self) -> IO[bytes]:
        """Open the (decompressed) content for binary reading."""
        if self.compression == "gzip":
            return gzip.open(self.path, "rb")  # type: ignore[return-value]
        if self.compression == "bz2":
            return bz2.open(self.path, "rb")
        if self.compression == "zip":
            assert self.member is not None
            archive = zipfile.ZipFile(self.path)
            return _ClosingMember(archive, archive.open(self.member))
        return open(self.path, "rb")

    def head(self, size: int = HEAD_SIZE) -> bytes:
        """The first ``size`` bytes of the (decompressed) content; b"" when unreadable."""
        return self.head_and_size(size)[0]

    def head_and_size(self, size: int = HEAD_SIZE) -> tuple[bytes, int | None]:
        """:meth:`head`, and for a plain file its size in bytes (None otherwise, or when unreadable).

        A plain file is read with one ``pread`` and sized with ``fstat`` on the same descriptor (no
        Python file object). Nothing is kept: :class:`SniffedFile` carries an answer to the read
        that follows.
        """
        try:
            if self.compression is None:
                fd = os.open(self.path, os.O_RDONLY)
                try:
                    return os.pread(fd, size, 0), os.fstat(fd).st_size
                finally:
                    os.close(fd)
            with self.open() as stream:
                return stream.read(size), None
        except (OSError, EOFError, zipfile.BadZipFile, ValueError):
            return b"", None

    @property
    def is_plain_file(self) -> bool:
        return self.compression is None


@dataclass(frozen=True, slots=True)
class SniffedFile(InputFile):
    """An input as the registry sniffed it: its head and (plain file) size, read once.

    :func:`chainbreaker.readers.registry.sniff` makes one and the stream hands it to the reader it
    chose, so a reader that needs the head again (EVTX: its header and the file size) gets it
    without opening the file once more, a measurable cost on folders of small files
    (docs/BENCHMARKS.md, "Ingest"). It describes the file *at the sniff*: use it for the read that
    immediately follows and drop it; a file read again (a live log that grew) is sniffed again or
    read as a plain :class:`InputFile`, which always reads the file.
    """

    sniffed: bytes = field(default=b"", repr=False, compare=False)
    #: How many bytes the sniff asked for (``sniffed`` is shorter only when the content is).
    asked: int = 0
    size: int | None = None

    @classmethod
    def of(cls, file: InputFile, size: int = HEAD_SIZE) -> SniffedFile:
        """Sniff ``file`` (a plain :class:`InputFile`): read its head and size now."""
        head, length = file.head_and_size(size)
        return cls(file.path, file.member, file.compression, head, size, length)

    def head_and_size(self, size: int = HEAD_SIZE) -> tuple[bytes, int | None]:
        """The sniffed answer when the sniff read at least ``size`` bytes; else the file is read."""
        if size <= self.asked:
            return self.sniffed[:size], self.size
        # explicit base call: zero-argument super() does not work in a slots dataclass
        return InputFile.head_and_size(self, size)


class _ClosingMember(io.BufferedReader):
    """A zip member stream that also closes its archive."""

    def __init__(self, archive: zipfile.ZipFile, member: IO[bytes]) -> None:
        super().__init__(member)  # type: ignore[arg-type]
        self._archive = archive

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._archive.close()


@dataclass(frozen=True, slots=True)
class ReadWarning:
    file: str
    position: str | int | None  # record id, line number, byte offset... whatever locates it
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "position": self.position, "reason": self.reason}


@dataclass(slots=True)
class FileStats:
    file: str
    reader: str | None
    records: int = 0
    skipped: int = 0
    bytes: int = 0


@dataclass
class ReadReport:
    """What a run read: per-file counts, every warning, and the totals the summary shows."""

    files: dict[str, FileStats] = field(default_factory=dict)
    warnings: list[ReadWarning] = field(default_factory=list)
    skipped_reasons: Counter[str] = field(default_factory=Counter)
    max_warnings_kept: int = 10_000  # counts stay exact beyond this; only the list is capped
    warning_count: int = 0  # every warning, including those past the kept list

    @property
    def records(self) -> int:
        return sum(f.records for f in self.files.values())

    @property
    def skipped(self) -> int:
        return sum(f.skipped for f in self.files.values())

    def file(self, name: str, reader: str | None = None) -> FileStats:
        stats = self.files.get(name)
        if stats is None:
            stats = self.files[name] = FileStats(name, reader)
        elif reader and not stats.reader:
            stats.reader = reader
        return stats

    def warn(self, file: str, position: str | int | None, reason: str, skipped: int = 1) -> None:
        """Record a problem; ``skipped`` is how many records it cost (0 for a harmless oddity)."""
        self.file(file).skipped += skipped
        self.skipped_reasons[reason.split(":", 1)[0]] += skipped
        self.warning_count += 1
        if len(self.warnings) < self.max_warnings_kept:
            self.warnings.append(ReadWarning(file, position, reason))

    def count(self, file: str, records: int) -> None:
        self.file(file).records += records

    def merge(self, other: ReadReport) -> None:
        """Add another report's files, warnings and counts (a worker's report into the run's)."""
        for name, stats in other.files.items():
            mine = self.file(name, stats.reader)
            mine.records += stats.records
            mine.skipped += stats.skipped
            mine.bytes += stats.bytes
        self.warning_count += other.warning_count
        room = max(self.max_warnings_kept - len(self.warnings), 0)
        self.warnings.extend(other.warnings[:room])
        self.skipped_reasons.update(other.skipped_reasons)

    def as_dict(self) -> dict[str, Any]:
        """Totals, warnings and per-file counts, as the ``--format json`` outputs show them."""
        return {
            "records": self.records,
            "skipped": self.skipped,
            "warnings": [w.as_dict() for w in self.warnings],
            "files": [
                {
                    "file": f.file,
                    "reader": f.reader,
                    "records": f.records,
                    "skipped": f.skipped,
                    "bytes": f.bytes,
                }
                for f in self.files.values()
            ],
        }


class Reader(ABC):
    """Base class of every reader. Subclasses register with :func:`chainbreaker.readers.register`."""

    #: Unique registry key, e.g. "evtx", "zeek-tsv", "suricata-eve".
    name: ClassVar[str]
    #: One line for ``--list-readers``.
    description: ClassVar[str]
    #: Lower runs first. Specific formats before generic ones; the generic JSON reader is last.
    priority: ClassVar[int] = 100

    @classmethod
    @abstractmethod
    def detect(cls, file: InputFile, head: bytes) -> bool:
        """Cheap check on the first bytes: can this reader read the file?"""

    @abstractmethod
    def read(
        self, file: InputFile, report: ReadReport, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> Iterator[pl.DataFrame]:
        """Yield batches conforming to chainbreaker.events; warn (never raise) on damaged records."""

    def fetch(self, file: InputFile, record: int) -> dict[str, Any] | None:
        """The full original record behind ``event_ref`` (file, record), or None if it is gone."""
        return None
