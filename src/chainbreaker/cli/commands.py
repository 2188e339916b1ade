"""Imports every command module so that each registers its commands on the app.

Add one line here per new command module.
"""

from chainbreaker.cli import (
    analytics_cmd,  # noqa: F401
    coverage_cmd,  # noqa: F401
    demo_cmd,  # noqa: F401
    eval_cmd,  # noqa: F401
    frameworks_cmd,  # noqa: F401
    hunt_cmd,  # noqa: F401
    ingest_cmd,  # noqa: F401
    outputs_cmd,  # noqa: F401
    rules_cmd,  # noqa: F401
    rules_update_cmd,  # noqa: F401
    serve_cmd,  # noqa: F401
    simulate_cmd,  # noqa: F401
    watch_cmd,  # noqa: F401
)
