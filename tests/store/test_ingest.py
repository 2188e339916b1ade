"""Ingesting result documents: idempotent upserts keyed by alert id, incident id and input hash."""

from __future__ import annotations

from pathlib import Path

from store_scenario import XSS_USER, result_document, scenario_alerts

from chainbreaker.store import Store, run_id, save_result


def test_ingest_stores_every_alert_incident_and_entity(store: Store) -> None:
    doc = result_document()
    run = store.ingest(doc, {"options": {"sigma": ["rules"]}})
    assert run.startswith("RUN-")
    counts = store.counts()
    assert counts["runs"] == 1
    assert counts["alerts"] == len(doc["alerts"]) == 8
    assert counts["incidents"] == len(doc["incidents"]) == 2
    stored = store.run(run)
    assert stored["alerts"] == 8 and stored["incidents"] == 2 and stored["ingests"] == 1
    assert stored["stats"]["records"] == 1000
    assert stored["options"] == {"sigma": ["rules"]}
    top = store.incident(doc["incidents"][0]["id"])
    assert top["users"] == [XSS_USER]  # hostile text stored verbatim, escaped only when rendered
    assert top["progression"] == doc["incidents"][0]["progression"]
    assert top["triage"]["status"] == "new"


def test_reingest_duplicates_nothing_and_keeps_triage(store: Store) -> None:
    doc = result_document()
    first = store.ingest(doc)
    inc = doc["incidents"][0]["id"]
    store.set_triage(inc, "analyst1", status="investigating", assignee="bob")
    store.add_note(inc, "analyst1", "looked at it")
    second = store.ingest(result_document())
    assert first == second
    counts = store.counts()
    assert (counts["runs"], counts["alerts"], counts["incidents"]) == (1, 8, 2)
    assert store.run(first)["ingests"] == 2
    after = store.incident(inc)
    assert after["triage"]["status"] == "investigating" and after["triage"]["assignee"] == "bob"
    assert [n["body"] for n in after["notes"]] == ["looked at it"]
    assert len(store.incident_alerts(inc)) == len(doc["incidents"][0]["alert_ids"])


def test_run_id_is_a_content_hash_of_the_inputs(tmp_path: Path) -> None:
    doc = result_document()
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "x.log").write_text("one\n")
    (a / "y.log").write_text("two\n")
    (b / "renamed.log").write_text("two\n")
    (b / "other.log").write_text("one\n")
    assert run_id(doc, {"inputs": [str(a)]}) == run_id(doc, {"inputs": [str(b)]})
    (b / "other.log").write_text("one!\n")
    assert run_id(doc, {"inputs": [str(a)]}) != run_id(doc, {"inputs": [str(b)]})
    assert run_id(doc, {"inputs": [str(a)]}) != run_id(doc, {"inputs": [str(a)], "options": {"x": 1}})
    # Without inputs, the deterministic ids of the document key the run.
    assert run_id(doc, {}) == run_id(result_document(), {})


def test_a_second_run_shares_alerts_without_copies(store: Store) -> None:
    alerts = scenario_alerts()
    store.ingest(result_document(alerts[:5]), {"run_id": "RUN-early"})
    store.ingest(result_document(alerts), {"run_id": "RUN-full"})
    assert store.counts()["alerts"] == 8
    assert len(store.alerts(run_id="RUN-early")) == 5
    assert len(store.alerts(run_id="RUN-full")) == 8
    assert [r["id"] for r in store.runs()] == ["RUN-full", "RUN-early"] or len(store.runs()) == 2


def test_save_result_is_the_hunt_hook(tmp_path: Path) -> None:
    folder = tmp_path / "cbstore"
    folder.mkdir()
    run = save_result(folder, result_document(), {"inputs": []})
    with Store(folder) as handle:
        assert (folder / "store.db").is_file()
        assert handle.run(run)["incidents"] == 2
