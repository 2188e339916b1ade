"""Matching the file names alerts cite to the file names labels use.

Alerts cite files as the hunt was given them (absolute, relative, ``archive.zip!member``); labels
name files relative to their own root. A cited file matches a labelled one when, after turning
backslashes into slashes, the labelled path equals the cited path or is a whole-component
suffix of it (``logs/zeek/conn.log`` matches ``/tmp/demo/lockbit/logs/zeek/conn.log`` but not
``/tmp/xlogs/zeek/conn.log``).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache


def normalise(path: str, drop_member: bool = False) -> str:
    p = path.replace("\\", "/")
    if drop_member:
        p = p.split("!", 1)[0]
    while p.startswith("./"):
        p = p[2:]
    return p


class PathIndex:
    """Finds the labelled path a cited path refers to (None when it refers to no labelled file)."""

    def __init__(self, labelled: Iterable[str], drop_member: bool = False) -> None:
        self._known = {normalise(p): p for p in labelled}
        self._drop_member = drop_member
        self.lookup = lru_cache(maxsize=None)(self._lookup)

    def _lookup(self, cited: str) -> str | None:
        p = normalise(cited, self._drop_member)
        if p in self._known:
            return self._known[p]
        parts = p.split("/")
        for i in range(1, len(parts)):
            hit = self._known.get("/".join(parts[i:]))
            if hit is not None:
                return hit
        return None
