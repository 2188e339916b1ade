"""Live mode (``chainbreaker watch``): follow files and syslog, detect and correlate as events arrive.

See docs/LIVE.md. :class:`Watcher` runs the loop; :class:`LiveDetection` runs hunt's detectors
incrementally (per event, and per tick over bounded windows); state survives restarts
(:mod:`.state`, window rows in :mod:`.snapshot`).
"""

from chainbreaker.live.detection import LiveDetection
from chainbreaker.live.state import FilePosition, WatchState, load_state, save_state
from chainbreaker.live.syslog_server import Endpoint, SyslogReceiver, parse_endpoint, split_frames
from chainbreaker.live.tail import FileTailer
from chainbreaker.live.watcher import Watcher, WatchOptions

__all__ = [
    "Endpoint",
    "FilePosition",
    "FileTailer",
    "LiveDetection",
    "SyslogReceiver",
    "WatchOptions",
    "WatchState",
    "Watcher",
    "load_state",
    "parse_endpoint",
    "save_state",
    "split_frames",
]
