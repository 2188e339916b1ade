"""chainbreaker: the Cyber Kill Chain as a working detection system.

The package follows the pipeline: readers -> events -> detect -> frameworks (mapping)
-> correlate -> respond -> outputs, with cli/, store/ and web/ on top.
"""

import os

# Polars' allocator (jemalloc, configured by this variable) keeps freed pages for ~10 s by default,
# so a hunt's peak RSS carries batches it already dropped. Purging them after 0.1 s, by a background
# thread, took the 412,750-record hunt's main process from 285-297 to 253-257 MiB (reader processes
# 430-450 -> 415-420 MiB) at no measurable CPU cost; 1 s varied (267-297 MiB) and 0 s cost ingest
# 15-20% more CPU (docs/BENCHMARKS.md "Hunt"). Read when Polars is first imported, hence here; a
# value the user set wins.
os.environ.setdefault("_RJEM_MALLOC_CONF", "background_thread:true,dirty_decay_ms:100,muzzy_decay_ms:0")

__all__ = ["__version__"]


def __getattr__(name: str) -> str:
    """``__version__``, looked up on first use: importing importlib.metadata costs ~50 ms, paid
    otherwise by every process that imports chainbreaker (each reader worker of a hunt)."""
    if name != "__version__":
        raise AttributeError(f"module 'chainbreaker' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("chainbreaker")
    except PackageNotFoundError:  # running from a source tree that was never installed
        found = "0.0.0+unknown"
    globals()["__version__"] = found
    return found
