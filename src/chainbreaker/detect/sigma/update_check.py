"""Verification of a downloaded Sigma rule package before it replaces the current set."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from sigma.collection import SigmaCollection
from sigma.exceptions import SigmaError

from chainbreaker.errors import ChainbreakerError

MAX_UNPACKED = 1024 * 1024 * 1024  # bytes: refuse zip bombs
RULE_SUFFIXES = (".yml", ".yaml")


class UpdateError(ChainbreakerError, OSError):
    """The rule package could not be fetched or did not pass verification (the old set is kept)."""


@dataclass(frozen=True, slots=True)
class PackageCheck:
    members: tuple[str, ...]  # every member to extract (validated paths)
    rule_files: int
    parsed: int  # rule files pySigma parsed without errors
    failed: int  # rule files with a pySigma error
    first_failure: str = ""


def check_package(archive: Path) -> PackageCheck:
    """Raise ``UpdateError`` unless ``archive`` is a sound zip of Sigma rules pySigma can parse."""
    if not zipfile.is_zipfile(archive):
        raise UpdateError("the download is not a zip archive", str(archive))
    try:
        with zipfile.ZipFile(archive) as zf:
            bad = zf.testzip()
            if bad is not None:
                raise UpdateError(f"corrupt member {bad!r} (CRC mismatch)", str(archive))
            infos = zf.infolist()
            _check_paths(infos, archive)
            rules = [i for i in infos if not i.is_dir() and i.filename.lower().endswith(RULE_SUFFIXES)]
            if not rules:
                raise UpdateError("the package holds no Sigma rule files (.yml)", str(archive))
            parsed, failed, first = 0, 0, ""
            for info in rules:
                problem = _parse(zf.read(info).decode("utf-8", errors="replace"))
                if problem is None:
                    parsed += 1
                else:
                    failed += 1
                    first = first or f"{info.filename}: {problem}"
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        if isinstance(exc, ChainbreakerError):
            raise
        raise UpdateError(f"the download is not a readable zip archive: {exc}", str(archive)) from exc
    if parsed == 0 or failed > parsed:
        raise UpdateError(
            f"{failed} of {len(rules)} rule files do not parse with pySigma ({first})", str(archive)
        )
    return PackageCheck(tuple(i.filename for i in infos), len(rules), parsed, failed, first)


def _check_paths(infos: list[zipfile.ZipInfo], archive: Path) -> None:
    total = 0
    for info in infos:
        path = PurePosixPath(info.filename.replace("\\", "/"))
        if path.is_absolute() or ".." in path.parts or ":" in info.filename:
            raise UpdateError(f"member {info.filename!r} would be written outside the cache", str(archive))
        total += info.file_size
    if total > MAX_UNPACKED:
        raise UpdateError(f"the package unpacks to more than {MAX_UNPACKED} bytes, refused", str(archive))


def _parse(text: str) -> str | None:
    """None when pySigma parses every document of the file without error, else the first error."""
    try:
        collection = SigmaCollection.from_yaml(text, collect_errors=True, resolve_references=False)
    except (SigmaError, ValueError) as exc:
        return str(exc)
    if collection.errors:
        return str(collection.errors[0])
    for rule in collection.rules:
        if rule.errors:
            return str(rule.errors[0])
    return None if collection.rules else "no rule in file"
