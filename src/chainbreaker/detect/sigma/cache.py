"""On-disk cache of compiled rule sets, so a second hunt starts in well under a second.

The key hashes every rule file's path and content, the placeholder values, the log source
mapping, the compiler's source files, and the chainbreaker and pySigma versions: any change
compiles afresh. Entries live in
``$XDG_CACHE_HOME/chainbreaker/compiled`` (``~/.cache/...``; ``$CHAINBREAKER_CACHE_DIR`` overrides
the root). A damaged or unreadable entry is ignored, never fatal.

The folder keeps the :data:`KEEP_ENTRIES` most recently used entries: each write prunes the
others (oldest modification time first; a read hit refreshes its entry's time), never the entry
just written. Hunts running at once may prune the same folder: a file another process removed
first is skipped, and a hunt whose entry vanished under it compiles afresh.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import tempfile
import time
from collections.abc import Mapping
from importlib import resources
from importlib.metadata import version
from pathlib import Path

from chainbreaker import __version__
from chainbreaker.detect.sigma.rules import RuleSet

#: Bump when the IR or CompiledRule changes shape.
FORMAT = 1
#: Entries kept by :func:`prune`: one per rule-folder combination in use (a SigmaHQ set is ~3 MB).
KEEP_ENTRIES = 16
#: A temporary file older than this (seconds) is left over from a killed write.
STALE_TMP_SECONDS = 3600.0
#: The compiler's own code and data, (package, file): a change to any of them recompiles. The
#: loader's report holds correlation reference checks, and rules carry tactics read from tags.
_KEYED_SOURCES = (
    *(
        ("chainbreaker.detect.sigma", name)
        for name in (
            "data/logsources.yml",
            "ir.py",
            "compiler.py",
            "loader.py",
            "logsources.py",
            "rules.py",
            "correlation_load.py",
        )
    ),
    ("chainbreaker.frameworks", "tags.py"),
)


def cache_dir() -> Path:
    root = os.environ.get("CHAINBREAKER_CACHE_DIR")
    if root:
        return Path(root) / "compiled"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "chainbreaker" / "compiled"


def cache_key(files: list[Path], placeholders: Mapping[str, list[str]]) -> str:
    digest = hashlib.sha256(f"{FORMAT}|{__version__}|{version('pysigma')}".encode())
    for package, name in _KEYED_SOURCES:
        digest.update(hashlib.sha256(resources.files(package).joinpath(name).read_bytes()).digest())
    digest.update(repr(sorted(placeholders.items())).encode())
    for path in files:
        # The absolute path names the file (its content is hashed below); resolving every
        # link cost ~45 ms on SigmaHQ's 2,400 Windows rules, before the hunt's workers start.
        digest.update(os.path.abspath(path).encode() + b"\0")
        try:
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        except OSError:
            digest.update(b"unreadable")
    return digest.hexdigest()[:32]


def read(key: str) -> RuleSet | None:
    path = cache_dir() / f"{key}.pickle"
    try:
        with open(path, "rb") as stream:
            value = pickle.load(stream)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError):
        return None
    if not isinstance(value, RuleSet):
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # used now: the newest for prune()
    return value


def write(key: str, ruleset: RuleSet) -> None:
    """Store atomically (write a temp file, rename); a read-only cache dir is not an error."""
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, delete=False, suffix=".tmp") as tmp:
            pickle.dump(ruleset, tmp, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp.name, folder / f"{key}.pickle")
    except OSError:
        return
    prune(folder, keep=folder / f"{key}.pickle")


def prune(folder: Path | None = None, keep: Path | None = None, entries: int | None = None) -> list[Path]:
    """Remove all but the ``entries`` (default :data:`KEEP_ENTRIES`) newest entries by modification
    time, never ``keep``, and temporary files of killed writes; returns what was removed.

    Files may vanish at any point (another hunt pruning too): they are skipped, never an error.
    """
    folder = folder or cache_dir()
    limit = KEEP_ENTRIES if entries is None else entries
    found: list[tuple[float, str, Path]] = []
    stale: list[Path] = []
    now = time.time()
    try:
        names = list(folder.iterdir())
    except OSError:
        return []
    for path in names:
        try:
            mtime = path.stat().st_mtime
        except OSError:  # removed meanwhile
            continue
        if path.suffix == ".pickle":
            found.append((mtime, path.name, path))
        elif path.suffix == ".tmp" and now - mtime > STALE_TMP_SECONDS:
            stale.append(path)
    found.sort(reverse=True)
    doomed = [path for _, _, path in found[limit:] if path != keep] + stale
    removed: list[Path] = []
    for path in doomed:
        try:
            path.unlink()
        except OSError:  # FileNotFoundError: another process was first; others: leave it
            continue
        removed.append(path)
    return removed
