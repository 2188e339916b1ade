"""The REST API under ``/api`` (OpenAPI at ``/openapi.json``): everything the UI does, for SOAR tools too.

Reads are open on loopback (see :mod:`chainbreaker.web.auth`); every write needs the API token.
"""

from __future__ import annotations

import secrets
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field

from chainbreaker.readers import fetch_record
from chainbreaker.store import IncidentFilter, Store
from chainbreaker.web import uploads
from chainbreaker.web.auth import ANALYST_COOKIE, TOKEN_COOKIE, Principal, reader, writer

router = APIRouter(prefix="/api")
Status = Literal["new", "investigating", "contained", "closed", "false_positive"]
SortKey = Literal["score", "first_seen", "last_seen", "phase", "title", "alerts", "status", "level"]
#: Raw events returned per alert.
MAX_RAW_EVENTS = 10


class TriageUpdate(BaseModel):
    status: Status | None = None
    assignee: str | None = Field(None, max_length=200, description='"" unassigns')


class NoteIn(BaseModel):
    body: str = Field(..., min_length=1, max_length=20_000)


class HuntPath(BaseModel):
    path: str = Field(..., min_length=1, max_length=4096, description="A path under the allowed root")


class Login(BaseModel):
    token: str = Field(..., min_length=1, max_length=400)
    analyst: str = Field(..., min_length=1, max_length=200)


def store_of(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


@router.get("/health", tags=["meta"])
def health(request: Request, _: Principal = Depends(reader)) -> dict[str, Any]:
    store = store_of(request)
    return {
        "status": "ok",
        "dialect": store.dialect,
        "schema_version": store.schema_version(),
        "counts": store.counts(),
    }


@router.get("/incidents", tags=["incidents"])
def list_incidents(
    request: Request,
    min_score: int | None = Query(None, ge=0, le=100),
    max_score: int | None = Query(None, ge=0, le=100),
    phase: str | None = Query(None, description="kill-chain phase, UKC phase or ATT&CK tactic id"),
    host: str | None = Query(None, description="substring of a host name, case-insensitive"),
    user: str | None = Query(None, description="substring of an account name, case-insensitive"),
    status: Status | None = None,
    since: str | None = Query(None, description="ISO time: still active at or after"),
    until: str | None = Query(None, description="ISO time: started at or before"),
    run_id: str | None = None,
    sort: SortKey = "score",
    order: Literal["asc", "desc"] = "desc",
    limit: int = Query(200, ge=1, le=5000),
    offset: int = Query(0, ge=0),
    _: Principal = Depends(reader),
) -> dict[str, Any]:
    flt = IncidentFilter(
        min_score=min_score,
        max_score=max_score,
        phase=phase or None,
        host=host or None,
        user=user or None,
        status=status,
        since=since or None,
        until=until or None,
        run_id=run_id or None,
        sort=sort,
        descending=order == "desc",
        limit=limit,
        offset=offset,
    )
    rows = store_of(request).incidents(flt)
    return {"count": len(rows), "incidents": rows}


@router.get("/incidents/{incident_id}", tags=["incidents"])
def get_incident(request: Request, incident_id: str, _: Principal = Depends(reader)) -> dict[str, Any]:
    return store_of(request).incident(incident_id)


@router.get("/incidents/{incident_id}/alerts", tags=["incidents"])
def incident_alerts(request: Request, incident_id: str, _: Principal = Depends(reader)) -> dict[str, Any]:
    return {"alerts": store_of(request).incident_alerts(incident_id)}


@router.get("/incidents/{incident_id}/graph", tags=["incidents"])
def incident_graph(request: Request, incident_id: str, _: Principal = Depends(reader)) -> dict[str, Any]:
    return store_of(request).incident_graph(incident_id)


@router.get("/incidents/{incident_id}/audit", tags=["triage"])
def incident_audit(request: Request, incident_id: str, _: Principal = Depends(reader)) -> dict[str, Any]:
    return {"audit": store_of(request).audit(incident_id)}


@router.patch("/incidents/{incident_id}/triage", tags=["triage"])
def update_triage(
    request: Request, incident_id: str, body: TriageUpdate, who: Principal = Depends(writer)
) -> dict[str, Any]:
    return store_of(request).set_triage(incident_id, who.analyst, body.status, body.assignee)


@router.post("/incidents/{incident_id}/notes", tags=["triage"], status_code=201)
def add_note(
    request: Request, incident_id: str, body: NoteIn, who: Principal = Depends(writer)
) -> dict[str, Any]:
    return store_of(request).add_note(incident_id, who.analyst, body.body)


@router.get("/alerts", tags=["alerts"])
def list_alerts(
    request: Request,
    run_id: str | None = None,
    rule_id: str | None = None,
    limit: int = Query(500, ge=1, le=10_000),
    offset: int = Query(0, ge=0),
    _: Principal = Depends(reader),
) -> dict[str, Any]:
    rows = store_of(request).alerts(run_id, rule_id, limit, offset)
    return {"count": len(rows), "alerts": rows}


@router.get("/alerts/{alert_id}", tags=["alerts"])
def get_alert(request: Request, alert_id: str, _: Principal = Depends(reader)) -> dict[str, Any]:
    return store_of(request).alert(alert_id)


@router.get("/alerts/{alert_id}/events", tags=["alerts"])
def alert_events(request: Request, alert_id: str, _: Principal = Depends(reader)) -> dict[str, Any]:
    """The raw events behind an alert, read back from its source files.

    Only files inside the inputs of the run that stored the alert are read (a result document
    naming other files gets nothing back).
    """
    store = store_of(request)
    alert = store.alert(alert_id)
    inputs = store.run(alert["run_id"])["inputs"] or []
    events = []
    for ref in (alert.get("event_refs") or [])[:MAX_RAW_EVENTS]:
        file, record = str(ref.get("file") or ""), int(ref.get("record") or 0)
        allowed = uploads.inside_any(file, inputs)
        raw = fetch_record(file, record) if allowed else None
        events.append({"file": file, "record": record, "available": raw is not None, "event": raw})
    return {"alert_id": alert_id, "events": events}


@router.get("/runs", tags=["runs"])
def list_runs(request: Request, _: Principal = Depends(reader)) -> dict[str, Any]:
    return {"runs": store_of(request).runs()}


@router.get("/runs/{run_id}", tags=["runs"])
def get_run(request: Request, run_id: str, _: Principal = Depends(reader)) -> dict[str, Any]:
    return store_of(request).run(run_id)


@router.get("/runs/{run_id}/matrix", tags=["runs"])
def run_matrix(
    request: Request, run_id: str, only_hit: bool = False, _: Principal = Depends(reader)
) -> dict[str, Any]:
    return store_of(request).matrix(run_id, only_hit)


@router.get("/runs/{run_id}/coverage", tags=["runs"])
def run_coverage(request: Request, run_id: str, _: Principal = Depends(reader)) -> dict[str, Any]:
    return store_of(request).coverage(run_id)


@router.post("/hunts", tags=["hunts"], status_code=202)
def start_hunt(request: Request, body: HuntPath, _: Principal = Depends(writer)) -> dict[str, Any]:
    """Hunt a server-side file or folder under the allowed root (serve --allowed-root)."""
    settings = request.app.state.settings
    path = uploads.resolve_under(settings.allowed_root, body.path)
    folder = uploads.new_job_folder(settings.upload_dir)
    return request.app.state.jobs.submit([path], "path", folder).as_dict()


@router.post("/hunts/upload", tags=["hunts"], status_code=202)
async def upload_and_hunt(
    request: Request,
    filename: str = Query(..., max_length=200, description="The file's name (no folders)"),
    _: Principal = Depends(writer),
) -> dict[str, Any]:
    """Upload one log file, archive or result document as the raw request body, then hunt it."""
    settings = request.app.state.settings
    folder, path = await uploads.receive(request, settings.upload_dir, filename, settings.max_upload_bytes)
    return request.app.state.jobs.submit([path], "upload", folder).as_dict()


@router.get("/jobs", tags=["hunts"])
def list_jobs(request: Request, _: Principal = Depends(reader)) -> dict[str, Any]:
    return {"jobs": [j.as_dict() for j in request.app.state.jobs.all()]}


@router.get("/jobs/{job_id}", tags=["hunts"])
def job_status(request: Request, job_id: str, _: Principal = Depends(reader)) -> dict[str, Any]:
    job = request.app.state.jobs.get(job_id)
    if job is None:
        raise HTTPException(404, f"unknown job {job_id!r}")
    return job.as_dict()


@router.post("/login", tags=["auth"])
def login(request: Request, body: Login, response: Response) -> dict[str, Any]:
    """Check the token and set the UI's HttpOnly, SameSite=Strict session cookies."""
    if not secrets.compare_digest(body.token.strip(), request.app.state.token):
        raise HTTPException(401, "wrong API token")
    secure = request.url.scheme == "https"
    for name, value in ((TOKEN_COOKIE, request.app.state.token), (ANALYST_COOKIE, body.analyst.strip())):
        response.set_cookie(name, value, httponly=True, samesite="strict", secure=secure, path="/")
    return {"analyst": body.analyst.strip()}


@router.post("/logout", tags=["auth"])
def logout(response: Response) -> dict[str, Any]:
    response.delete_cookie(TOKEN_COOKIE, path="/")
    response.delete_cookie(ANALYST_COOKIE, path="/")
    return {"ok": True}
