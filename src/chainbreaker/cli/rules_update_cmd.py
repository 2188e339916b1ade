"""`chainbreaker rules update`: install SigmaHQ's latest release package into the user cache."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from chainbreaker.cli.app import FORMAT_OPTION, OutputFormat
from chainbreaker.cli.render import print_json, stderr, stdout
from chainbreaker.cli.rules_cmd import rules_app
from chainbreaker.detect.sigma.update import API_ENV, CACHE_ENV, PACKAGES, UpdateResult, cache_root, update


@rules_app.command("update")
def update_cmd(
    package: str = typer.Option(
        "core",
        "--package",
        "-p",
        help=f"Release package: {' | '.join(PACKAGES)} (SigmaHQ's sigma_<name>.zip).",
    ),
    url: str | None = typer.Option(
        None, "--url", help=f"GitHub API base (default https://api.github.com; env {API_ENV})."
    ),
    cache_dir: Path | None = typer.Option(
        None,
        "--cache-dir",
        help=(
            f"Rule cache folder. Default (the one `hunt` reads without --sigma): ${CACHE_ENV}, else"
            f" $XDG_CACHE_HOME/chainbreaker/sigma, else ~/.cache/chainbreaker/sigma (here: {cache_root()})."
        ),
    ),
    force: bool = typer.Option(False, "--force", help="Download even when the latest release is installed."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Download, verify and switch to the latest SigmaHQ rules; on any failure keep the current set."""
    result = update(package=package, api=url, root=cache_dir, force=force)
    if cache_dir is not None and cache_dir.resolve() != cache_root().resolve():
        _where_hunt_looks(cache_dir, result)
    if fmt == OutputFormat.json:
        print_json(result.as_dict())
        return
    table = Table(
        title="Sigma rules " + ("updated" if result.changed else "already up to date"), show_header=False
    )
    for key in (
        "tag",
        "package",
        "path",
        "size",
        "sha256",
        "checksum",
        "rule_files",
        "rules_parsed",
        "rules_failed",
    ):
        table.add_row(key, str(getattr(result, key)))
    if result.previous and result.changed:
        table.add_row("previous", result.previous)
    stdout.print(table)


def _where_hunt_looks(cache_dir: Path, result: UpdateResult) -> None:
    """A set outside the default cache is not what ``hunt`` reads by default: say how to use it."""
    current = cache_dir / "current"  # follows later updates; a pointer file where symlinks are unavailable
    use = current if current.is_dir() else Path(result.path)
    stderr.print(
        f"note: hunt uses this set only with --sigma {use} (or with {CACHE_ENV}={cache_dir});"
        f" by default it reads {cache_root() / 'current'}",
        highlight=False,
        markup=False,
        soft_wrap=True,  # one line: paths stay whole for copying
    )
