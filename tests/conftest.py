"""Shared fixtures. Tests are offline by construction; corpora come from ../shared/datasets."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from release_server import Release, serve_release

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATASETS = PROJECT_ROOT.parent / "shared" / "datasets"


def unpack_dataset(name: str) -> Path:
    """Extract a shared corpus once (via its own unpack script) and return its folder; skip if absent."""
    script = SHARED_DATASETS / "unpack"
    if not script.exists() or not (SHARED_DATASETS / f"{name}.tar.xz").exists():
        pytest.skip(f"shared dataset {name!r} not available")
    out = subprocess.run(["bash", str(script), name], check=True, capture_output=True, text=True)
    return Path(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def dataset():
    """``dataset("evtx-attack-samples")`` -> the unpacked folder (skips cleanly when not available)."""
    return unpack_dataset


@pytest.fixture
def release() -> Iterator[Release]:
    """A fake GitHub on 127.0.0.1 for `rules update`: tests publish releases on it."""
    yield from serve_release()
