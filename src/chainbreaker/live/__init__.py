"""Live mode (``chainbreaker watch``): follow files and syslog, detect and correlate as events arrive.

See docs/LIVE.md. :class:`Watcher` runs the loop; state survives restarts (:mod:`.state`).
"""

from chainbreaker.live.state import FilePosition, WatchState, load_state, save_state
from chainbreaker.live.syslog_server import Endpoint, SyslogReceiver, parse_endpoint, split_frames
from chainbreaker.live.tail import FileTailer
from chainbreaker.live.watcher import Watcher, WatchOptions

__all__ = [
    "Endpoint",
    "FilePosition",
    "FileTailer",
    "SyslogReceiver",
    "WatchOptions",
    "WatchState",
    "Watcher",
    "load_state",
    "parse_endpoint",
    "save_state",
    "split_frames",
]
