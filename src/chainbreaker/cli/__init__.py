"""Command-line interface. ``main`` maps chainbreaker errors to exit codes in one place."""

from __future__ import annotations

import sys

from rich.markup import escape

from chainbreaker.cli.app import app
from chainbreaker.cli.render import stderr
from chainbreaker.errors import ChainbreakerError

# Command modules register themselves on ``app`` when imported; keep this list sorted.
from chainbreaker.cli import commands  # noqa: F401  isort: skip


def main() -> None:
    try:
        app(standalone_mode=True)
    except ChainbreakerError as exc:
        # Messages quote paths and log content: escape them so '[...]' is not read as Rich markup.
        stderr.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        sys.exit(exc.exit_code)


__all__ = ["app", "main"]
