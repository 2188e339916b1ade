"""On-disk cache of compiled rule sets, so a second hunt starts in well under a second.

The key hashes every rule file's path and content, the placeholder values, the log source
mapping, the compiler's source files, and the chainbreaker and pySigma versions: any change
compiles afresh. Entries live in
``$XDG_CACHE_HOME/chainbreaker/compiled`` (``~/.cache/...``; ``$CHAINBREAKER_CACHE_DIR`` overrides
the root). A damaged or unreadable entry is ignored, never fatal.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from collections.abc import Mapping
from importlib import resources
from importlib.metadata import version
from pathlib import Path

from chainbreaker import __version__
from chainbreaker.detect.sigma.rules import RuleSet

#: Bump when the IR or CompiledRule changes shape.
FORMAT = 1
_KEYED_SOURCES = ("data/logsources.yml", "ir.py", "compiler.py", "loader.py", "logsources.py", "rules.py")


def cache_dir() -> Path:
    root = os.environ.get("CHAINBREAKER_CACHE_DIR")
    if root:
        return Path(root) / "compiled"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "chainbreaker" / "compiled"


def cache_key(files: list[Path], placeholders: Mapping[str, list[str]]) -> str:
    digest = hashlib.sha256(f"{FORMAT}|{__version__}|{version('pysigma')}".encode())
    package = resources.files("chainbreaker.detect.sigma")
    for name in _KEYED_SOURCES:  # the compiler's own code and data: a change recompiles
        digest.update(hashlib.sha256(package.joinpath(name).read_bytes()).digest())
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
    return value if isinstance(value, RuleSet) else None


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
