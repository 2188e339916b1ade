"""Files coming in: upload names, size limits and server-side paths, none able to escape their folder."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path

from fastapi import HTTPException, Request

_BAD_CHARS = set('/\\:\x00*?"<>|')


def safe_upload_name(name: str) -> str:
    """The upload's file name, or 400: no folders, no ``..``, no hidden files, no control characters."""
    name = name.strip()
    if (
        not name
        or name in {".", ".."}
        or name.startswith(".")
        or any(c in _BAD_CHARS or ord(c) < 32 for c in name)
        or Path(name).name != name
    ):
        raise HTTPException(400, "invalid file name: give a bare name such as Security.evtx")
    return name


def new_job_folder(upload_dir: Path) -> Path:
    folder = upload_dir / uuid.uuid4().hex
    folder.mkdir(parents=True, mode=0o700)
    return folder


async def receive(request: Request, upload_dir: Path, filename: str, limit: int) -> tuple[Path, Path]:
    """Stream the request body to a new job folder; 413 past ``limit`` bytes (nothing kept)."""
    name = safe_upload_name(filename)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"upload larger than the limit of {limit} bytes")
    folder = new_job_folder(upload_dir)
    target = folder / name
    total = 0
    try:
        with target.open("wb") as fh:
            async for chunk in request.stream():
                total += len(chunk)
                if total > limit:
                    raise HTTPException(413, f"upload larger than the limit of {limit} bytes")
                fh.write(chunk)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    if total == 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise HTTPException(400, "empty upload")
    return folder, target


def resolve_under(root: Path | None, value: str) -> Path:
    """``value`` (relative to ``root``, or absolute inside it) resolved; 403 when it leaves ``root``."""
    if root is None:
        raise HTTPException(403, "hunting server-side paths is disabled (start serve with --allowed-root)")
    base = root.resolve()
    candidate = Path(value)
    candidate = candidate if candidate.is_absolute() else base / candidate
    try:
        real = candidate.resolve(strict=True)
    except (OSError, RuntimeError):
        if not candidate.resolve().is_relative_to(base):
            raise HTTPException(403, "path outside the allowed root") from None
        raise HTTPException(404, "no such file or folder under the allowed root") from None
    if not real.is_relative_to(base):
        raise HTTPException(403, "path outside the allowed root")
    return real


def inside_any(file: str, roots: Iterable[str]) -> bool:
    """Whether an event_ref file (``archive.zip!member`` allowed) lies within one of ``roots``."""
    path = Path(file.split("!", 1)[0])
    try:
        real = path.resolve()
    except (OSError, RuntimeError):
        return False
    for root in roots:
        base = Path(root).resolve()
        if real == base or real.is_relative_to(base):
            return True
    return False
