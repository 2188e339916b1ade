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


def discover(
    paths: Iterable[str | os.PathLike[str]], report: ReadReport | None = None
) -> Iterator[InputFile]:
    """Every readable stream under ``paths``, in argument order, each argument sorted by path."""
    report = report if report is not None else ReadReport()
    for given in paths:
        path = Path(given)
        if path.is_dir():
            for file in _walk(path, report):
                yield from expand(file, report)
        elif path.exists():
            yield from expand(path, report)
        else:
            report.warn(str(path), None, "no such file or folder", skipped=0)


def _walk(folder: Path, report: ReadReport) -> Iterator[Path]:
    """The files under ``folder`` in path order, listed one folder at a time.

    Each folder's entries are sorted by name and a sub-folder is walked where its name sorts, which
    is the order of sorting every path (``Path`` compares part by part); no list of the whole tree
    is built (a large collection's paths held at once set the calling process's peak memory).
    """
    yield from _walk_folder(str(folder), report)


def _walk_folder(root: str, report: ReadReport) -> Iterator[Path]:
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
            yield Path(path)
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


def expand(path: Path, report: ReadReport) -> Iterator[InputFile]:
    """One file -> its streams: itself, its decompressed content, or its zip members."""
    try:
        with open(path, "rb") as stream:
            head = stream.read(8)
    except OSError as exc:
        report.warn(str(path), None, f"unreadable file: {exc.strerror or exc}", skipped=0)
        return
    kind = sniff_compression(head)
    if kind != "zip":
        yield InputFile(path, compression=kind)
        return
    try:
        with zipfile.ZipFile(path) as archive:
            members = sorted(info.filename for info in archive.infolist() if not info.is_dir())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        report.warn(str(path), None, f"damaged zip archive: {exc}", skipped=0)
        return
    for member in members:
        yield InputFile(path, member=member, compression="zip")


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
