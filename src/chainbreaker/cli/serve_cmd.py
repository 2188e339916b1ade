"""`chainbreaker serve [--store PATH|URL] [--host 127.0.0.1] [--port 8000]`: the analyst workbench."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from chainbreaker.cli.app import FORMAT_OPTION, OutputFormat, app
from chainbreaker.cli.render import print_json, stderr, stdout
from chainbreaker.errors import UsageError
from chainbreaker.store import resolve_target
from chainbreaker.store.backend import is_postgres_url
from chainbreaker.web.settings import DEFAULT_MAX_UPLOAD, WebSettings, is_loopback


def default_data_dir(store: str) -> Path:
    """Token and uploads: next to an embedded store, or in the user's config folder for PostgreSQL."""
    if not is_postgres_url(store):
        return Path(store).parent
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "chainbreaker"


@app.command("serve")
def serve_command(
    store: str | None = typer.Option(
        None,
        "--store",
        help="Store file, folder or postgresql:// URL (default: $CHAINBREAKER_STORE, else ~/.local).",
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (loopback by default)."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on."),
    allowed_root: Path | None = typer.Option(
        None, "--allowed-root", help="Folder whose files the UI/API may hunt server-side (default: none)."
    ),
    max_upload_mb: float = typer.Option(
        DEFAULT_MAX_UPLOAD / (1024 * 1024), "--max-upload-mb", help="Largest upload accepted (MB)."
    ),
    data_dir: Path | None = typer.Option(
        None, "--data-dir", help="Folder for the API token and uploads (default: next to the store)."
    ),
    read_token: bool = typer.Option(False, "--read-token", help="Require the API token for reads too."),
    fmt: OutputFormat = FORMAT_OPTION,
) -> None:
    """Serve the workbench: incidents, triage, ATT&CK matrix, coverage and hunts, over a REST API + UI."""
    import uvicorn

    from chainbreaker.web import create_app

    target = resolve_target(store)
    if allowed_root is not None and not allowed_root.is_dir():
        raise UsageError(f"--allowed-root {allowed_root} is not a folder")
    settings = WebSettings(
        store=target,
        data_dir=(data_dir or default_data_dir(target)).expanduser(),
        allowed_root=allowed_root.resolve() if allowed_root else None,
        max_upload_bytes=max(1, int(max_upload_mb * 1024 * 1024)),
        host=host,
        read_needs_token=read_token,
    )
    web = create_app(settings)
    url = f"http://{host if ':' not in host else f'[{host}]'}:{port}/"
    info = {
        "url": url,
        "store": web.state.store.describe(),
        "token_file": str(settings.token_file),
        "login": url + "login",
        "openapi": url + "openapi.json",
        "reads_need_token": settings.read_needs_token,
    }
    if fmt is OutputFormat.json:
        print_json(info)
    else:
        stdout.print(f"workbench on [bold]{url}[/]  (store {info['store']})", highlight=False)
        stdout.print(
            f"API token in {info['token_file']} (mode 0600); log in at {info['login']}", highlight=False
        )
    if not is_loopback(host):
        stderr.print("[yellow]warning:[/] listening beyond loopback; put TLS in front (reverse proxy).")
    uvicorn.run(web, host=host, port=port, log_level="warning")
