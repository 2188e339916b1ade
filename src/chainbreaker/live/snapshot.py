"""Window rows on disk: Arrow IPC files in one folder per commit *generation*, next to the state.

The rows correlation rules and analytics still need (:mod:`.windows`) change every tick and must
stay consistent with the read positions of the state snapshot: rows of events whose positions
were not committed would be counted twice after a restart. So each commit writes the windows into
a new folder ``windows-<generation>`` (written under a temporary name, fsynced, renamed), and only
then saves the state snapshot naming that generation; the previous generation is deleted after
that. A crash at any point leaves the snapshot naming a complete folder; folders of other
generations are leftovers and are removed at start-up.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path

import polars as pl

from chainbreaker.live.state import StateError, fsync_path

PREFIX = "windows-"
_GENERATION = re.compile(rf"^{PREFIX}(\d+)(\.tmp)?$")


def generation_dir(folder: Path, generation: int) -> Path:
    return folder / f"{PREFIX}{generation}"


def write_generation(folder: Path, generation: int, frames: Mapping[str, pl.DataFrame]) -> dict[str, str]:
    """Write ``frames`` as the folder of ``generation``; return window name -> file name."""
    final = generation_dir(folder, generation)
    tmp = final.with_name(final.name + ".tmp")
    manifest: dict[str, str] = {}
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for number, (name, frame) in enumerate(sorted(frames.items())):
            file = f"w{number}.arrow"
            path = tmp / file
            frame.write_ipc(path, compression="lz4")
            fsync_path(path)
            manifest[name] = file
        fsync_path(tmp)
        os.replace(tmp, final)
        fsync_path(folder)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise StateError(f"cannot save watch windows: {exc}", str(final)) from exc
    return manifest


def read_generation(folder: Path, generation: int, manifest: Mapping[str, str]) -> dict[str, pl.DataFrame]:
    """The frames a state snapshot names (none for generation 0), read into memory (not mapped: the
    files are deleted once the next generation is committed)."""
    if not generation:
        return {}
    where = generation_dir(folder, generation)
    try:
        return {name: pl.read_ipc((where / file).read_bytes()) for name, file in manifest.items()}
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise StateError(f"unreadable watch windows: {exc}", str(where)) from exc


def remove_other_generations(folder: Path, keep: int) -> None:
    """Delete window folders of every generation but ``keep`` (superseded or half-written)."""
    if not folder.is_dir():
        return
    for path in folder.iterdir():
        match = _GENERATION.match(path.name)
        if match and (match.group(2) or int(match.group(1)) != keep):
            shutil.rmtree(path, ignore_errors=True)
