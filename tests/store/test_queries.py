"""Incident list filters and sorting, alerts, runs, the matrix, coverage and the entity graph."""

from __future__ import annotations

import pytest
from store_scenario import XSS_USER, result_document

from chainbreaker.errors import UnknownIdError, UsageError
from chainbreaker.store import IncidentFilter, Store


@pytest.fixture
def filled(store: Store) -> Store:
    store.ingest(result_document(), {"run_id": "RUN-test"})
    return store


def ids(store: Store, **kw: object) -> list[str]:
    return [r["id"] for r in store.incidents(IncidentFilter(**kw))]  # type: ignore[arg-type]


def test_filters(filled: Store) -> None:
    doc = result_document()
    big, small = doc["incidents"][0], doc["incidents"][1]
    assert big["score"] > small["score"]
    assert ids(filled) == [big["id"], small["id"]]
    assert ids(filled, sort="score", descending=False) == [small["id"], big["id"]]
    assert ids(filled, min_score=big["score"]) == [big["id"]]
    assert ids(filled, max_score=small["score"]) == [small["id"]]
    assert ids(filled, host="fs-01") == [big["id"]]
    assert ids(filled, host="WEB") == [small["id"]]
    assert ids(filled, user="<img") == [big["id"]]
    assert ids(filled, user="root") == [small["id"]]
    assert ids(filled, phase="delivery") == [big["id"]]
    assert ids(filled, phase="lateral-movement") == [big["id"]]  # an ATT&CK tactic
    assert ids(filled, phase="exploitation") == [big["id"], small["id"]]
    assert ids(filled, since="2026-03-02T17:00:00Z") == [small["id"]]
    assert ids(filled, until="2026-03-02T09:00:00Z") == [big["id"]]
    assert ids(filled, run_id="RUN-other") == []
    filled.set_triage(small["id"], "ana", status="closed")
    assert ids(filled, status="closed") == [small["id"]]
    assert ids(filled, status="new") == [big["id"]]
    assert ids(filled, sort="status") == [big["id"], small["id"]]  # "new" > "closed"
    assert ids(filled, limit=1, offset=1) == [small["id"]]


def test_filter_values_are_parameters_not_sql(filled: Store) -> None:
    assert ids(filled, host="x' OR '1'='1") == []
    assert filled.counts()["incidents"] == 2
    with pytest.raises(UsageError, match="unknown sort key"):
        IncidentFilter(sort="score; DROP TABLE incidents")
    with pytest.raises(UsageError, match="unknown status"):
        IncidentFilter(status="pwned")


def test_incident_alerts_and_graph(filled: Store) -> None:
    inc = result_document()["incidents"][0]
    alerts = filled.incident_alerts(inc["id"])
    assert sorted(a["id"] for a in alerts) == sorted(inc["alert_ids"])
    assert [a["time"] for a in alerts] == sorted(a["time"] for a in alerts)
    graph = filled.incident_graph(inc["id"])
    nodes = {n["id"] for n in graph["nodes"]}
    assert {"host:WKS-05", "host:FS-01", f"user:{XSS_USER}", "process:{AAAA-2}"} <= nodes
    links = {(lk["source"], lk["target"], lk["kind"]) for lk in graph["links"]}
    assert (f"user:{XSS_USER}", "host:FS-01", "logged-on") in links
    assert ("process:{AAAA-2}", "host:WKS-05", "runs-on") in links
    with pytest.raises(UnknownIdError):
        filled.incident("INC-nope")


def test_matrix_heat_and_coverage(filled: Store) -> None:
    matrix = filled.matrix("RUN-test")
    cells = {c["id"]: c for t in matrix["tactics"] for c in t["techniques"]}
    assert cells["T1003"]["alerts"] == 1
    assert cells["T1003"]["subtechniques"] == [
        {"id": "T1003.001", "name": cells["T1003"]["subtechniques"][0]["name"], "alerts": 1}
    ]
    assert cells["T1486"]["alerts"] == 1 and cells["T1110"]["alerts"] == 1
    assert cells["T1566"]["alerts"] == 1
    assert matrix["max"] == 1
    assert matrix["tactics"][0]["short_name"] == "reconnaissance"
    only = filled.matrix("RUN-test", only_hit=True)
    assert sum(len(t["techniques"]) for t in only["tactics"]) >= 8
    cov = filled.coverage("RUN-test")
    killchain = {p["id"]: p for p in cov["killchain"]["phases"]}
    assert killchain["delivery"]["alerts"] >= 1
    assert "reconnaissance" in cov["killchain"]["gaps"]
    assert "delivery" not in cov["killchain"]["gaps"]
    assert len(cov["killchain"]["phases"]) == 7 and len(cov["ukc"]["phases"]) == 18
    with pytest.raises(UnknownIdError):
        filled.matrix("RUN-missing")
