"""Outputs: files written from a run's result document (docs/OUTPUTS.md lists names and files).

Importing this package registers every built-in output; keep the list below sorted.
"""

from chainbreaker.outputs import (  # noqa: F401  (imported to register)
    containment,
    html,
    json_out,
    navigator,
    stix,
    timesketch,
)
from chainbreaker.outputs.base import FetchEvent, Output, no_events
from chainbreaker.outputs.registry import get_output, register, registered_outputs, write_outputs

__all__ = [
    "FetchEvent",
    "Output",
    "get_output",
    "no_events",
    "register",
    "registered_outputs",
    "write_outputs",
]
