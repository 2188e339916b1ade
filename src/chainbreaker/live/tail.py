"""Following growing log files: new files, appended lines, rotation and truncation.

Each poll stats every file under the watched paths and reads what was appended since the saved
:class:`FilePosition`, up to the last complete line (a half-written line waits for the next
poll). The new lines are parsed by the same reader ``hunt`` would pick for the file, fed through
an in-memory :class:`InputFile` so every line-based reader works unchanged; event references
keep the real path and the line number in the whole file.

Rotation: a path whose inode changed, or whose size fell below the saved offset (truncation,
``copytruncate``), is read again from its start. A file renamed away (``app.log`` ->
``app.log.1``) keeps its position under its new name when that name is watched too, so it is
not read twice. Compressed files and EVTX (binary, written in chunks) are not followed.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import polars as pl

from chainbreaker.live.state import FilePosition, WatchState
from chainbreaker.readers.base import InputFile, Reader, ReadReport
from chainbreaker.readers.registry import reader_for

SKIPPED_SUFFIXES = (".gz", ".bz2", ".zip", ".xz", ".evtx", ".tmp", ".pickle")
#: Largest slice read from one file per poll, so one huge file cannot starve the others.
MAX_READ = 64 << 20


@dataclass(frozen=True, slots=True)
class _Chunk(InputFile):
    """New complete lines of a followed file, as an input file (name and path stay the real file's)."""

    data: bytes = b""

    def open(self) -> IO[bytes]:
        return io.BytesIO(self.data)


@dataclass(frozen=True, slots=True)
class FileUpdate:
    """Events parsed from one file's new lines, and the position to save once they are committed."""

    path: str
    batches: tuple[pl.DataFrame, ...]
    events: int
    position: FilePosition


class FileTailer:
    def __init__(self, paths: Sequence[Path], exclude: Sequence[Path] = ()) -> None:
        self.paths = [Path(p) for p in paths]
        self.exclude = [Path(p).resolve() for p in exclude]
        self._readers: dict[str, Reader | None] = {}
        self._preambles: dict[str, bytes] = {}

    def files(self) -> list[Path]:
        """Every followable file under the watched paths, in a stable order."""
        found: list[Path] = []
        for root in self.paths:
            candidates = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
            for path in candidates:
                name = path.name.lower()
                if name.startswith(".") or name.endswith(SKIPPED_SUFFIXES) or self._excluded(path):
                    continue
                if path.is_file():
                    found.append(path)
        return found

    def _excluded(self, path: Path) -> bool:
        resolved = path.resolve()
        return any(resolved == e or e in resolved.parents for e in self.exclude)

    def poll(self, state: WatchState, report: ReadReport) -> Iterator[FileUpdate]:
        """Updates for files that grew; ``state`` is not changed (the caller commits positions)."""
        current = self.files()
        stats = {}
        for path in current:
            try:
                stats[str(path)] = path.stat()
            except OSError:
                continue
        inodes = {st.st_ino: name for name, st in stats.items()}
        known = dict(state.files)  # as of the last commit (the caller updates state while we yield)
        for name, st in stats.items():
            position = known.get(name)
            if position is None:
                position = self._moved_here(st.st_ino, known, inodes)
            elif position.inode != st.st_ino or st.st_size < position.offset:
                position = FilePosition(st.st_ino)  # rotated or truncated: a new file under the old name
                self._readers.pop(name, None)
            if st.st_size <= position.offset:
                if name not in known:
                    yield FileUpdate(name, (), 0, position)  # remember new (empty) files and renames
                continue
            update = self._read(Path(name), position, report)
            if update is not None:
                yield update

    @staticmethod
    def _moved_here(inode: int, known: dict[str, FilePosition], inodes: dict[int, str]) -> FilePosition:
        for old, pos in known.items():
            if pos.inode == inode and inodes.get(inode) != old:  # its old name no longer holds it
                return FilePosition(pos.inode, pos.offset, pos.lines)
        return FilePosition(inode)

    def _read(self, path: Path, position: FilePosition, report: ReadReport) -> FileUpdate | None:
        name = str(path)
        with path.open("rb") as fh:
            fh.seek(position.offset)
            data = fh.read(MAX_READ)
        end = data.rfind(b"\n")
        if end < 0:
            return None
        data = data[: end + 1]
        lines = data.count(b"\n")
        after = FilePosition(position.inode, position.offset + len(data), position.lines + lines)
        reader = self._reader(path)
        if reader is None:
            report.warn(name, position.lines + 1, "no reader recognises this file", skipped=lines)
            return FileUpdate(name, (), 0, after)
        preamble = self._preambles.get(name, b"") if position.offset else b""
        chunk = _Chunk(path=path, data=preamble + data)
        shift = position.lines - preamble.count(b"\n")
        batches = []
        for batch in reader.read(chunk, report):
            if shift and "event_ref" in batch.columns:
                ref = pl.col("event_ref")
                batch = batch.with_columns(
                    pl.struct(
                        ref.struct.field("file"), (ref.struct.field("record") + shift).alias("record")
                    ).alias("event_ref")
                )
            batches.append(batch)
        return FileUpdate(name, tuple(batches), sum(b.height for b in batches), after)

    def _reader(self, path: Path) -> Reader | None:
        """The file's reader, chosen once from its head (header lines kept for formats that need them)."""
        name = str(path)
        if name not in self._readers:
            file = InputFile(path)
            head = file.head()
            reader = reader_for(file, head)
            if reader is None and b"\n" not in head:
                return None  # not one complete line yet: decide on a later poll
            self._readers[name] = reader
            header = []
            for line in head.splitlines(keepends=True):
                if not line.startswith(b"#"):
                    break
                header.append(line)
            self._preambles[name] = b"".join(header)  # Zeek TSV: #separator, #fields, #types...
        return self._readers[name]
