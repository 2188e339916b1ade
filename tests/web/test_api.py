"""The REST API over a filled store: lists, filters, incidents, alerts, runs, matrix, coverage."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient


def test_incident_list_filters_and_sorting(client: TestClient, doc: dict[str, Any]) -> None:
    big, small = doc["incidents"]
    body = client.get("/api/incidents").json()
    assert [r["id"] for r in body["incidents"]] == [big["id"], small["id"]]
    assert body["incidents"][0]["hosts"] == big["hosts"]
    asc = client.get("/api/incidents", params={"sort": "score", "order": "asc"}).json()
    assert [r["id"] for r in asc["incidents"]] == [small["id"], big["id"]]
    assert [r["id"] for r in client.get("/api/incidents?host=web-01").json()["incidents"]] == [small["id"]]
    assert [r["id"] for r in client.get("/api/incidents?phase=delivery").json()["incidents"]] == [big["id"]]
    assert client.get("/api/incidents?status=closed").json()["count"] == 0
    assert client.get("/api/incidents?sort=nope").status_code == 422
    assert client.get("/api/incidents?status=pwned").status_code == 422


def test_incident_alerts_graph_and_404(client: TestClient, doc: dict[str, Any]) -> None:
    inc = doc["incidents"][0]
    got = client.get(f"/api/incidents/{inc['id']}").json()
    assert got["score"] == inc["score"] and got["run_id"] == "RUN-scenario"
    assert got["triage"]["status"] == "new"
    alerts = client.get(f"/api/incidents/{inc['id']}/alerts").json()["alerts"]
    assert sorted(a["id"] for a in alerts) == sorted(inc["alert_ids"])
    graph = client.get(f"/api/incidents/{inc['id']}/graph").json()
    assert {"host:WKS-05", "host:FS-01"} <= {n["id"] for n in graph["nodes"]}
    assert client.get("/api/incidents/INC-missing").status_code == 404
    assert client.get("/incidents/INC-missing").status_code == 404
    one = client.get(f"/api/alerts/{alerts[0]['id']}").json()
    assert one["id"] == alerts[0]["id"]
    # The run stored no inputs (a result document on its own): raw events are not read back.
    events = client.get(f"/api/alerts/{alerts[0]['id']}/events").json()["events"]
    assert events and all(not e["available"] for e in events)


def test_runs_matrix_and_coverage(client: TestClient) -> None:
    runs = client.get("/api/runs").json()["runs"]
    assert [r["id"] for r in runs] == ["RUN-scenario"]
    matrix = client.get("/api/runs/RUN-scenario/matrix", params={"only_hit": True}).json()
    hit = {c["id"]: c["alerts"] for t in matrix["tactics"] for c in t["techniques"]}
    assert hit["T1059"] == 1 and hit["T1003"] == 1 and hit["T1110"] == 1
    cov = client.get("/api/runs/RUN-scenario/coverage").json()
    assert "reconnaissance" in cov["killchain"]["gaps"]
    assert client.get("/api/runs/RUN-nope/matrix").status_code == 404
    page = client.get("/runs/latest/matrix")
    assert page.status_code == 200 and 'data-technique="T1003"' in page.text


def test_openapi_lists_everything_the_ui_does(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path, method in [
        ("/api/incidents", "get"),
        ("/api/incidents/{incident_id}", "get"),
        ("/api/incidents/{incident_id}/alerts", "get"),
        ("/api/incidents/{incident_id}/graph", "get"),
        ("/api/incidents/{incident_id}/triage", "patch"),
        ("/api/incidents/{incident_id}/notes", "post"),
        ("/api/incidents/{incident_id}/audit", "get"),
        ("/api/alerts", "get"),
        ("/api/alerts/{alert_id}/events", "get"),
        ("/api/runs", "get"),
        ("/api/runs/{run_id}/matrix", "get"),
        ("/api/runs/{run_id}/coverage", "get"),
        ("/api/hunts", "post"),
        ("/api/hunts/upload", "post"),
        ("/api/jobs/{job_id}", "get"),
    ]:
        assert method in paths.get(path, {}), (path, method)
    assert not any(p.startswith("/incidents") for p in paths)  # HTML pages stay out of the spec


def test_everything_is_served_locally(client: TestClient) -> None:
    for page in ("/", "/runs", "/hunt", "/login", "/runs/latest/coverage"):
        html = client.get(page).text
        assert "http://" not in html and "https://" not in html, page
    for asset in ("app.css", "common.js", "incident.js", "hunt.js", "login.js"):
        res = client.get(f"/static/{asset}")
        assert res.status_code == 200 and "https://" not in res.text.replace("http://www.w3.org/2000/svg", "")
    js = "".join(client.get(f"/static/{a}").text for a in ("common.js", "incident.js", "hunt.js", "login.js"))
    assert "innerHTML" not in js and "outerHTML" not in js and "insertAdjacentHTML" not in js
