"""Rendering helpers shared by commands: JSON to stdout, Rich tables, messages to stderr."""

from __future__ import annotations

import sys
from typing import Any

import orjson
from rich.console import Console

#: Tables and summaries go to stdout; warnings and progress go to stderr so JSON stays clean.
stdout = Console(soft_wrap=False)
stderr = Console(stderr=True)


def print_json(data: Any) -> None:
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode())
    sys.stdout.write("\n")
    sys.stdout.flush()
