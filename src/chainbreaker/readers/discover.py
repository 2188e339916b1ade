"""Input discovery: paths given by the user -> the readable streams inside them, in a stable order.

Files are taken as given; folders are walked recursively (symbolic links followed, except links
that point back up the tree); archives are recognised by their first bytes, never by their
extension: gzip and bzip2 files become one decompressed stream, zip archives one stream per
member. Archives inside archives are not opened (a member that is itself compressed is handed to
the readers as it is and normally ends as "no reader recognises this file"). Everything is sorted
by path so the same input always gives the same order. Problems (missing path, permission denied,
damaged archive) are warnings in the ReadReport; discovery never raises for them.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from chainbreaker.readers.base import InputFile, ReadReport

GZIP_MAGIC = b"\x1f\x8b"
BZIP2_MAGIC = b"BZh"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")


def sniff_compression(head: bytes) -> str | None:
    """ "gzip", "bz2", "zip" or None, from the first bytes of a file."""
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(BZIP2_MAGIC) and len(head) >= 4 and head[3:4].isdigit():
        return "bz2"
    if head.startswith(ZIP_MAGICS):
        return "zip"
    return None


#: One input as planning needs it: (path, zip member or None, compression or None, bytes on disk,
#: bytes to decode). ``path`` is spelled as ``str(Path(...))`` would spell it.
Found = tuple[str, str | None, str | None, int, int]

#: bzip2 keeps no uncompressed size; text logs compress about this much.
BZ2_RATIO = 5


def discover(
    paths: Iterable[str | os.PathLike[str]], report: ReadReport | None = None
) -> Iterator[InputFile]:
    """Every readable stream under ``paths``, in argument order, each argument sorted by path."""
    for path, member, compression, _, _ in discover_sized(paths, report):
        yield InputFile(Path(path), member, compression)


def discover_sized(
    paths: Iterable[str | os.PathLike[str]], report: ReadReport | None = None
) -> Iterator[Found]:
    """:func:`discover` as plain tuples with each input's sizes (:data:`Found`), for planning.

    Planning a folder of small files spent most of its time per file, not per byte: a ``Path``
    and an ``InputFile`` per file, a Python file object to read 8 bytes, and a second ``stat``
    for the size. Here a file is opened once (``os.open``): its first bytes, ``fstat`` for its size
    and, for gzip, the ISIZE field, on one descriptor; zip sizes come from the listing read for the
    members (docs/BENCHMARKS.md, "Ingest").
    """
    report = report if report is not None else ReadReport()
    for given in paths:
        path = Path(given)
        if path.is_dir():
            top = str(path)
            # Path("./x") is "x": the walk joins names to "." as "./x", so that prefix is cut
            cut = 2 if top == "." else 0
            for file in _walk_folder(top, report):
                yield from _expand(file[cut:], report)
        elif path.exists():
            yield from _expand(str(path), report)
        else:
            report.warn(str(path), None, "no such file or folder", skipped=0)


def _walk_folder(root: str, report: ReadReport) -> Iterator[str]:
    """The files under ``root``, listed one folder at a time, in path order.

    Each folder's entries are sorted by name and a sub-folder is walked where its name sorts, which
    is the order of sorting every path (``Path`` compares part by part); no list of the whole tree
    is built (a large collection's paths held at once set the calling process's peak memory).
    """
    try:
        with os.scandir(root) as listing:
            entries = sorted((entry.name, _is_dir(entry)) for entry in listing)
    except OSError as exc:
        report.warn(str(exc.filename or root), None, f"cannot list folder: {exc.strerror or exc}", skipped=0)
        return
    here = os.path.realpath(root) if any(is_dir for _, is_dir in entries) else root
    for name, is_dir in entries:
        path = os.path.join(root, name)
        if not is_dir:
            yield path
        # Follow links to folders, except a link back to this folder or one above it (a loop).
        elif not _loops(path, here):
            yield from _walk_folder(path, report)


def _is_dir(entry: os.DirEntry[str]) -> bool:
    """A folder, or a link to one (as os.walk with followlinks: an entry that cannot be checked is a file)."""
    try:
        return entry.is_dir()
    except OSError:
        return False


def _loops(path: str, here: str) -> bool:
    if not os.path.islink(path):
        return False
    target = os.path.realpath(path)
    return here == target or here.startswith(target + os.sep)


def _expand(path: str, report: ReadReport) -> Iterator[Found]:
    """One file -> its streams with their sizes: itself, its decompressed content (gzip, bzip2), or
    one per zip member."""
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            kind = sniff_compression(os.read(fd, 8))
            disk = decoded = os.fstat(fd).st_size
            if kind == "gzip":  # ISIZE: the size mod 2**32, in the last 4 bytes
                try:
                    decoded = max(int.from_bytes(os.pread(fd, 4, max(disk - 4, 0)), "little"), disk)
                except OSError:  # its sizes count as 0 (the read reports the problem)
                    disk = decoded = 0
            elif kind == "bz2":
                decoded = disk * BZ2_RATIO
        finally:
            os.close(fd)
    except OSError as exc:
        report.warn(path, None, f"unreadable file: {exc.strerror or exc}", skipped=0)
        return
    if kind != "zip":
        yield path, None, kind, disk, decoded
        return
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        report.warn(path, None, f"damaged zip archive: {exc}", skipped=0)
        return
    sizes = {info.filename: (info.compress_size, info.file_size) for info in infos}
    for member in sorted(info.filename for info in infos if not info.is_dir()):
        yield (path, member, "zip", *sizes[member])


def input_from_name(name: str) -> InputFile:
    """The InputFile an ``event_ref.file`` names (``archive.zip!member`` for zip members)."""
    if not os.path.exists(name):
        cut = name.find("!")
        while cut >= 0:  # the archive path may itself hold "!": try each one
            if os.path.isfile(name[:cut]):
                return InputFile(Path(name[:cut]), member=name[cut + 1 :], compression="zip")
            cut = name.find("!", cut + 1)
    with open(name, "rb") as stream:
        kind = sniff_compression(stream.read(8))
    return InputFile(Path(name), compression=kind if kind != "zip" else None)
