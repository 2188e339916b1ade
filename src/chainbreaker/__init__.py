"""chainbreaker: the Cyber Kill Chain as a working detection system.

The package follows the pipeline: readers -> events -> detect -> frameworks (mapping)
-> correlate -> respond -> outputs, with cli/, store/ and web/ on top.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("chainbreaker")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
