"""The API token and who is acting.

One token per server, made with ``secrets.token_urlsafe`` at first start and kept in
``<data dir>/api-token`` with mode 0600. Clients send it as ``Authorization: Bearer <token>``.
The browser UI logs in once through ``/login`` (token + analyst name) and then holds it in an
HttpOnly, SameSite=Strict cookie; cookie-authenticated writes must also carry the header
``X-Chainbreaker: 1``, which a cross-site form cannot send and cross-origin scripts cannot add
without a CORS grant this server never gives. Writes always need the token; reads need it only
when the server listens on a non-loopback address (or ``--read-token`` is set).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from fastapi import HTTPException, Request

TOKEN_COOKIE = "cb_token"
ANALYST_COOKIE = "cb_analyst"
CSRF_HEADER = "x-chainbreaker"
ANALYST_HEADER = "x-analyst"


def load_or_create_token(path: Path) -> str:
    """Read the token, or create it (0600, never overwriting a file another process made first)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        token = path.read_text(encoding="utf-8").strip()
        if len(token) < 20:
            raise PermissionError(
                f"API token file {path} is empty or too short; delete it to regenerate"
            ) from None
        return token
    token = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(token + "\n")
    return token


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: ``analyst`` is recorded in the audit trail."""

    analyst: str
    via: str  # "bearer", "cookie" or "anonymous"


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def principal(request: Request, token: str, write: bool) -> Principal | None:
    """The caller if the request carries the token properly, else None."""
    given = _bearer(request)
    if given is not None:
        if secrets.compare_digest(given, token):
            name = request.headers.get(ANALYST_HEADER) or request.cookies.get(ANALYST_COOKIE) or "api"
            return Principal(name[:200], "bearer")
        return None
    cookie = request.cookies.get(TOKEN_COOKIE)
    if cookie and secrets.compare_digest(cookie, token):
        if write and request.headers.get(CSRF_HEADER) != "1":
            return None
        return Principal((request.cookies.get(ANALYST_COOKIE) or "analyst")[:200], "cookie")
    return None


def require(request: Request, write: bool) -> Principal:
    """The FastAPI-side check: 401 without a valid token (for writes, or reads when configured)."""
    state = request.app.state
    found = principal(request, state.token, write)
    if found is not None:
        return found
    if not write and not state.settings.read_needs_token:
        return Principal("anonymous", "anonymous")
    raise HTTPException(
        status_code=401,
        detail="missing or invalid API token (Authorization: Bearer, or log in at /login)",
        headers={"WWW-Authenticate": "Bearer"},
    )


def writer(request: Request) -> Principal:
    return require(request, write=True)


def reader(request: Request) -> Principal:
    return require(request, write=False)
