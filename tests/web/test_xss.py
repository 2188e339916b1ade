"""Attacker-controlled values (user names, command lines, rule titles) are escaped in every page."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from store_scenario import XSS_CMD, XSS_TITLE, XSS_USER

RAW_PAYLOADS = ("<img src=x", "<script>window.__xss", "<svg onload")


def test_pages_escape_hostile_values(client: TestClient, doc: dict[str, Any]) -> None:
    inc = doc["incidents"][0]["id"]
    pages = {
        "list": client.get("/").text,
        "filtered": client.get("/", params={"user": "<img", "host": '"><script>alert(9)</script>'}).text,
        "incident": client.get(f"/incidents/{inc}").text,
        "coverage": client.get("/runs/latest/coverage").text,
    }
    for name, html in pages.items():
        for payload in RAW_PAYLOADS:
            assert payload not in html, (name, payload)
        assert "<script>alert(9)" not in html, name
    assert "CORP\\&lt;img src=x onerror=&#34;window.__xss=1;alert(1)&#34;&gt;" in pages["incident"]
    assert "&lt;script&gt;window.__xss=2;alert(2)&lt;/script&gt;" in pages["incident"]
    assert "Encoded PowerShell &lt;svg onload=alert(3)&gt;" in pages["incident"]
    assert "&#34;&gt;&lt;script&gt;alert(9)&lt;/script&gt;" in pages["filtered"]


def test_api_returns_hostile_values_verbatim_as_json(client: TestClient, doc: dict[str, Any]) -> None:
    inc = client.get(f"/api/incidents/{doc['incidents'][0]['id']}").json()
    assert inc["users"] == [XSS_USER]
    alerts = client.get(f"/api/incidents/{inc['id']}/alerts").json()["alerts"]
    assert XSS_TITLE in {a["title"] for a in alerts}
    assert any(a["matched"].get("CommandLine") == XSS_CMD for a in alerts)
    res = client.get(f"/api/incidents/{inc['id']}")
    assert res.headers["content-type"].startswith("application/json")
