"""The API token: 0600 file, Bearer header, cookie login with a CSRF header, audit names."""

from __future__ import annotations

import stat
from typing import Any

from fastapi.testclient import TestClient

from chainbreaker.web import WebSettings, create_app


def test_token_file_is_private_and_stable(settings: WebSettings, client: TestClient, token: str) -> None:
    mode = stat.S_IMODE(settings.token_file.stat().st_mode)
    assert mode == 0o600
    assert len(token) >= 40
    with TestClient(create_app(settings)) as again:  # a restart keeps the same token
        assert again.app.state.token == token  # type: ignore[attr-defined]


def test_writes_need_the_token(client: TestClient, doc: dict[str, Any], auth: dict[str, str]) -> None:
    inc = doc["incidents"][0]["id"]
    url = f"/api/incidents/{inc}/triage"
    assert client.patch(url, json={"status": "closed"}).status_code == 401
    bad = {"Authorization": "Bearer wrong-token"}
    assert client.patch(url, json={"status": "closed"}, headers=bad).status_code == 401
    assert client.post(f"/api/incidents/{inc}/notes", json={"body": "x"}).status_code == 401
    assert client.post("/api/hunts", json={"path": "logs"}).status_code == 401
    ok = client.patch(url, json={"status": "investigating", "assignee": "carol"}, headers=auth)
    assert ok.status_code == 200 and ok.json()["updated_by"] == "soar-bot"
    note = client.post(f"/api/incidents/{inc}/notes", json={"body": "isolated"}, headers=auth)
    assert note.status_code == 201 and note.json()["author"] == "soar-bot"
    audit = client.get(f"/api/incidents/{inc}/audit").json()["audit"]
    assert [(a["actor"], a["action"], a["new_value"]) for a in audit] == [
        ("soar-bot", "status", "investigating"),
        ("soar-bot", "assignee", "carol"),
        ("soar-bot", "note", "isolated"),
    ]
    assert client.patch(url, json={"status": "pwned"}, headers=auth).status_code == 422


def test_cookie_login_needs_the_csrf_header(client: TestClient, doc: dict[str, Any], token: str) -> None:
    inc = doc["incidents"][0]["id"]
    assert client.post("/api/login", json={"token": "nope", "analyst": "dana"}).status_code == 401
    res = client.post("/api/login", json={"token": token, "analyst": "dana"})
    assert res.status_code == 200
    set_cookie = res.headers.get_list("set-cookie")
    assert all("HttpOnly" in c and "SameSite=strict" in c for c in set_cookie)
    url = f"/api/incidents/{inc}/triage"
    assert client.patch(url, json={"status": "closed"}).status_code == 401  # no X-Chainbreaker header
    ok = client.patch(url, json={"status": "closed"}, headers={"X-Chainbreaker": "1"})
    assert ok.status_code == 200 and ok.json()["updated_by"] == "dana"
    client.post("/api/logout")
    client.cookies.clear()
    assert client.patch(url, json={"status": "new"}, headers={"X-Chainbreaker": "1"}).status_code == 401


def test_reads_need_the_token_beyond_loopback(settings: WebSettings, token: str) -> None:
    exposed = WebSettings(store=settings.store, data_dir=settings.data_dir, host="0.0.0.0")
    assert exposed.read_needs_token
    with TestClient(create_app(exposed)) as web:
        assert web.get("/api/incidents").status_code == 401
        assert web.get("/", follow_redirects=False).status_code == 303
        ok = web.get("/api/incidents", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200 and ok.json()["count"] == 2


def test_security_headers(client: TestClient) -> None:
    res = client.get("/")
    assert "script-src 'self'" in res.headers["content-security-policy"]
    assert res.headers["x-content-type-options"] == "nosniff"
    assert res.headers["x-frame-options"] == "DENY"
