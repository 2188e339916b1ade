"""Rendering helpers shared by commands: JSON to stdout, Rich tables, messages to stderr."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import orjson
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn

from chainbreaker.readers import ReadWarning

#: Tables and summaries go to stdout; warnings and progress go to stderr so JSON stays clean.
stdout = Console(soft_wrap=False)
stderr = Console(stderr=True)


def print_json(data: Any) -> None:
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode())
    sys.stdout.write("\n")
    sys.stdout.flush()


#: Read warnings printed after a command; the rest are counted (the JSON output lists them all).
WARNINGS_SHOWN = 20


class ReadingBar:
    """A Rich progress bar by input bytes on stderr (stdout stays clean for JSON), shown only on a
    terminal; call it as the readers' ``progress(done, total)``."""

    def __init__(self, enabled: bool | None = None) -> None:
        self.progress = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=stderr,
            transient=True,
            disable=not (stderr.is_terminal if enabled is None else enabled),
        )
        self.task = self.progress.add_task("reading", total=None)

    def __call__(self, done: int, total: int) -> None:
        self.progress.update(self.task, completed=done, total=total)


def print_read_warnings(warnings: Sequence[ReadWarning]) -> None:
    """The first :data:`WARNINGS_SHOWN` read warnings on stderr (file, position, reason)."""
    for warning in warnings[:WARNINGS_SHOWN]:
        where = f":{warning.position}" if warning.position is not None else ""
        stderr.print(f"[yellow]warning:[/] {warning.file}{where}: {warning.reason}", highlight=False)
    if len(warnings) > WARNINGS_SHOWN:
        stderr.print(f"... and {len(warnings) - WARNINGS_SHOWN} more warnings (see --format json)")
