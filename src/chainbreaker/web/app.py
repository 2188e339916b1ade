"""The workbench application: ``create_app(settings)`` -> a FastAPI app over one result store."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from markupsafe import escape

from chainbreaker import __version__
from chainbreaker.errors import ChainbreakerError, StoreError, UnknownIdError, UsageError
from chainbreaker.store import Store
from chainbreaker.web import api, pages
from chainbreaker.web.auth import load_or_create_token
from chainbreaker.web.jobs import JobManager
from chainbreaker.web.settings import WebSettings

STATIC = Path(__file__).parent / "static"

#: Scripts and styles only from this server; no inline script, no frames, no plugins.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


def _status(exc: ChainbreakerError) -> int:
    if isinstance(exc, UnknownIdError):
        return 404
    if isinstance(exc, UsageError):
        return 400
    if isinstance(exc, StoreError):
        return 503
    return 500


def create_app(settings: WebSettings) -> FastAPI:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    token = load_or_create_token(settings.token_file)
    store = Store(settings.store)
    jobs = JobManager(settings.store, settings.hunt_timeout_s)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        jobs.shutdown()
        store.close()

    app = FastAPI(
        title="chainbreaker workbench",
        version=__version__,
        description="Incidents, alerts, runs, triage and hunt jobs of a chainbreaker result store. "
        "Writes need the API token as `Authorization: Bearer <token>`.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.token = token
    app.state.store = store
    app.state.jobs = jobs

    @app.exception_handler(ChainbreakerError)
    async def _chainbreaker_error(request: Request, exc: ChainbreakerError) -> Response:
        code = _status(exc)
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": str(exc)}, status_code=code)
        body = f"<!doctype html><title>{code}</title><p>{escape(str(exc))}</p><p><a href='/'>incidents</a>"
        return HTMLResponse(body, status_code=code)

    @app.middleware("http")
    async def _headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        return response

    app.include_router(api.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
