"""Hunt jobs: uploads and server-side paths, with no way out of their folders, a size limit, progress."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from store_scenario import result_document, scenario_alerts

from chainbreaker.web import WebSettings, create_app


def wait_for(client: TestClient, job_id: str, timeout: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/api/jobs/{job_id}").json()
        if job["state"] in ("done", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still running after {timeout}s")


@pytest.mark.parametrize(
    "name", ["../evil.evtx", "../../etc/cron.d/x", "/etc/passwd", "a/b.evtx", "a\\b.evtx", "..", ".bashrc"]
)
def test_upload_names_cannot_leave_the_upload_folder(
    client: TestClient, auth: dict[str, str], settings: WebSettings, name: str
) -> None:
    res = client.post("/api/hunts/upload", params={"filename": name}, content=b"x", headers=auth)
    assert res.status_code == 400
    assert not any(p.is_file() for p in settings.upload_dir.rglob("*"))
    assert not (settings.data_dir.parent / "evil.evtx").exists()


def test_upload_over_the_limit_is_413(
    client: TestClient, auth: dict[str, str], settings: WebSettings
) -> None:
    limit = settings.max_upload_bytes
    big = b"a" * (limit + 1)
    res = client.post("/api/hunts/upload", params={"filename": "big.log"}, content=big, headers=auth)
    assert res.status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: the server counts while streaming
        for _ in range(limit // 4096 + 2):
            yield b"b" * 4096

    res = client.post("/api/hunts/upload", params={"filename": "big2.log"}, content=chunks(), headers=auth)
    assert res.status_code == 413
    assert not any(p.is_file() for p in settings.upload_dir.rglob("*"))  # nothing half-written kept
    assert client.post("/api/hunts/upload", params={"filename": "x.log"}, content=big).status_code == 401


def test_server_side_paths_stay_under_the_allowed_root(
    client: TestClient, auth: dict[str, str], settings: WebSettings, tmp_path: Path
) -> None:
    assert settings.allowed_root is not None
    (settings.allowed_root / "escape").symlink_to(tmp_path / "secret.txt")
    for path in (
        "../secret.txt",
        str(tmp_path / "secret.txt"),
        "/etc/passwd",
        "logs/../../secret.txt",
        "escape",
    ):
        res = client.post("/api/hunts", json={"path": path}, headers=auth)
        assert res.status_code == 403, path
    assert client.post("/api/hunts", json={"path": "missing.evtx"}, headers=auth).status_code == 404
    assert client.get("/api/jobs").json()["jobs"] == []
    closed = WebSettings(store=settings.store, data_dir=settings.data_dir)  # no --allowed-root
    with TestClient(create_app(closed)) as web:
        assert web.post("/api/hunts", json={"path": "logs"}, headers=auth).status_code == 403


def test_uploaded_result_document_becomes_a_run(client: TestClient, auth: dict[str, str]) -> None:
    extra = result_document(scenario_alerts()[5:7])  # the brute-force incident alone: a new run
    body = orjson.dumps(extra)
    res = client.post(
        "/api/hunts/upload", params={"filename": "chainbreaker.json"}, content=body, headers=auth
    )
    assert res.status_code == 202
    job = wait_for(client, res.json()["id"])
    assert job["state"] == "done", job
    assert job["progress"] == 1.0 and job["run_id"].startswith("RUN-")
    runs = {r["id"]: r for r in client.get("/api/runs").json()["runs"]}
    assert runs[job["run_id"]]["incidents"] == 1 and runs[job["run_id"]]["alerts"] == 2
    assert client.get("/api/incidents").json()["count"] == 2  # same incident ids: upserted, not copied


def test_hunt_job_runs_the_real_pipeline(
    client: TestClient, auth: dict[str, str], settings: WebSettings
) -> None:
    assert settings.allowed_root is not None
    lines = [
        f"Mar  2 08:00:{i:02d} web-01 sshd[{100 + i}]: "
        f"Failed password for root from 198.51.100.7 port {5000 + i} ssh2"
        for i in range(12)
    ]
    (settings.allowed_root / "logs" / "auth.log").write_text("\n".join(lines) + "\n")
    res = client.post("/api/hunts", json={"path": "logs"}, headers=auth)
    assert res.status_code == 202 and res.json()["state"] in ("queued", "running")
    job = wait_for(client, res.json()["id"])
    assert job["state"] == "done", job
    run = client.get(f"/api/runs/{job['run_id']}").json()
    assert run["stats"]["records"] == 12
    assert run["inputs"] == [str((settings.allowed_root / "logs").resolve())]
    # Raw events of that run are readable (their files are inside the run's inputs).
    alerts = client.get("/api/alerts", params={"run_id": job["run_id"]}).json()["alerts"]
    assert alerts, "the shipped SSH brute-force correlation rule fires on 12 failures from one source"
    events = client.get(f"/api/alerts/{alerts[0]['id']}/events").json()["events"]
    assert events[0]["available"] and "Failed password" in orjson.dumps(events[0]["event"]).decode()
