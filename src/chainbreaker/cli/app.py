"""The Typer application object. Command modules import ``app`` and register themselves.

The CLI stays thin: commands parse options, call the library and render what it returns.
The library never prints.
"""

from __future__ import annotations

from enum import StrEnum

import typer

from chainbreaker import __version__

app = typer.Typer(
    name="chainbreaker",
    help="Find attacker activity in logs, place it on the kill chain, and say where to break the chain.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


FORMAT_OPTION = typer.Option(OutputFormat.table, "--format", "-f", help="Output as a table or as JSON.")


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"chainbreaker {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """chainbreaker: the Cyber Kill Chain as a working detection system."""
