"""Imports every command module so that each registers its commands on the app.

Add one line here per new command module.
"""

from chainbreaker.cli import (
    demo_cmd,  # noqa: F401
    frameworks_cmd,  # noqa: F401
)
