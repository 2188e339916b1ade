"""`chainbreaker demo`: the README's main job on the bundled demo data."""

from __future__ import annotations

from chainbreaker.cli.app import app
from chainbreaker.cli.render import stdout


@app.command()
def demo() -> None:
    """Run the main job on the bundled demo data."""
    stdout.print("chainbreaker demo: the pipeline is not assembled yet.")
