"""The HTML pages. Jinja2 renders them with autoescaping on for everything: every value that can
come from logs (host, user, command line, rule title from a third-party rule pack) is
attacker-controlled. Drawings and live parts are done by our own JS in ``static/`` from the API.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape

from chainbreaker import __version__
from chainbreaker.errors import UsageError
from chainbreaker.frameworks import KILLCHAIN_PHASES, UKC_PHASES, attack
from chainbreaker.store import SORT_KEYS, STATUSES, IncidentFilter, Store
from chainbreaker.web.auth import principal

TEMPLATES = Path(__file__).parent / "templates"
_env = Environment(
    loader=FileSystemLoader(str(TEMPLATES)),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
templates = Jinja2Templates(env=_env)
router = APIRouter(include_in_schema=False)

#: Filters of the incident list page, as query parameters.
FILTER_KEYS = ("min_score", "max_score", "phase", "host", "user", "status", "since", "until", "run_id")
#: Heat classes of the matrix (h0 = no alerts .. h5 = the most).
HEAT_STEPS = 5


def _page(request: Request, name: str, **context: Any) -> Response:
    state = request.app.state
    who = principal(request, state.token, write=False)
    if who is None and state.settings.read_needs_token:
        return RedirectResponse("/login", status_code=303)
    context.update(
        analyst=who.analyst if who else None,
        version=__version__,
        statuses=STATUSES,
        killchain=KILLCHAIN_PHASES,
        ukc=UKC_PHASES,
    )
    return templates.TemplateResponse(request, name, context)


def _store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def _int(value: str | None) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise UsageError(f"not a number: {value!r}") from None


@router.get("/", response_class=HTMLResponse)
def incidents_page(request: Request) -> Response:
    q = request.query_params
    params = {k: q[k] for k in FILTER_KEYS if q.get(k)}
    sort = q.get("sort", "score")
    order = q.get("order", "desc")
    error = None
    try:
        flt = IncidentFilter(
            min_score=_int(params.get("min_score")),
            max_score=_int(params.get("max_score")),
            phase=params.get("phase"),
            host=params.get("host"),
            user=params.get("user"),
            status=params.get("status"),
            since=params.get("since"),
            until=params.get("until"),
            run_id=params.get("run_id"),
            sort=sort,
            descending=order != "asc",
        )
        rows = _store(request).incidents(flt)
    except UsageError as exc:
        rows, error = [], str(exc)
    sort_links = {}
    for key in SORT_KEYS:
        flip = "asc" if key == sort and order != "asc" else "desc"
        sort_links[key] = "/?" + urlencode({**params, "sort": key, "order": flip})
    phases = [(p.id, p.name) for p in KILLCHAIN_PHASES] + [(t.short_name, t.name) for t in attack().tactics]
    return _page(
        request,
        "incidents.html",
        rows=rows,
        params=params,
        sort=sort,
        order=order,
        sort_links=sort_links,
        error=error,
        phase_choices=phases,
    )


@router.get("/incidents/{incident_id}", response_class=HTMLResponse)
def incident_page(request: Request, incident_id: str) -> Response:
    incident = _store(request).incident(incident_id)
    progression = incident.get("progression") or {}
    spans = {
        model: {p["phase"]: p for p in (progression.get(model) or {}).get("phases") or []}
        for model in ("killchain", "ukc", "attack")
    }
    return _page(request, "incident.html", inc=incident, spans=spans)


@router.get("/runs", response_class=HTMLResponse)
def runs_page(request: Request) -> Response:
    return _page(request, "runs.html", runs=_store(request).runs())


def _run_or_latest(request: Request, run_id: str) -> str:
    if run_id == "latest":
        latest = _store(request).latest_run_id()
        if latest is None:
            raise HTTPException(404, "no runs stored yet")
        return latest
    return run_id


@router.get("/runs/{run_id}/matrix", response_class=HTMLResponse)
def matrix_page(request: Request, run_id: str) -> Response:
    run_id = _run_or_latest(request, run_id)
    only_hit = request.query_params.get("only_hit") == "1"
    matrix = _store(request).matrix(run_id, only_hit)
    top = max(1, matrix["max"])
    for tactic in matrix["tactics"]:
        for cell in tactic["techniques"]:
            cell["heat"] = 0 if not cell["alerts"] else max(1, round(HEAT_STEPS * cell["alerts"] / top))
    return _page(request, "matrix.html", matrix=matrix, run_id=run_id, only_hit=only_hit)


@router.get("/runs/{run_id}/coverage", response_class=HTMLResponse)
def coverage_page(request: Request, run_id: str) -> Response:
    run_id = _run_or_latest(request, run_id)
    return _page(request, "coverage.html", cov=_store(request).coverage(run_id), run_id=run_id)


@router.get("/hunt", response_class=HTMLResponse)
def hunt_page(request: Request) -> Response:
    settings = request.app.state.settings
    return _page(
        request,
        "hunt.html",
        allowed_root=str(settings.allowed_root) if settings.allowed_root else None,
        max_upload_mb=round(settings.max_upload_bytes / (1024 * 1024), 1),
    )


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> Response:
    return templates.TemplateResponse(
        request, "login.html", {"analyst": None, "version": __version__, "token_file": None}
    )
