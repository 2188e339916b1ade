"""Command-line interface. ``main`` maps chainbreaker errors to exit codes in one place."""

from __future__ import annotations

import sys

from chainbreaker.cli.app import app
from chainbreaker.cli.render import stderr
from chainbreaker.errors import ChainbreakerError

# Command modules register themselves on ``app`` when imported; keep this list sorted.
from chainbreaker.cli import commands  # noqa: F401  isort: skip


def main() -> None:
    try:
        app(standalone_mode=True)
    except ChainbreakerError as exc:
        stderr.print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(exc.exit_code)


__all__ = ["app", "main"]
