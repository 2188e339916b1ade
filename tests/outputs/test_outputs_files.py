"""Each output's files, read back with the consumer's own rules (CSV reader, stix2 parser...)."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import stix2

from chainbreaker.outputs import get_output


def test_json_and_jsonl_round_trip(tmp_path: Path, result: dict[str, Any]) -> None:
    get_output("json").write(result, tmp_path)
    assert orjson.loads((tmp_path / "chainbreaker.json").read_bytes()) == result
    get_output("jsonl").write(result, tmp_path)
    alerts = [orjson.loads(line) for line in (tmp_path / "alerts.jsonl").read_bytes().splitlines()]
    incidents = [orjson.loads(line) for line in (tmp_path / "incidents.jsonl").read_bytes().splitlines()]
    assert alerts == result["alerts"] and incidents == result["incidents"]


def test_timesketch_timeline_has_the_mandatory_fields(tmp_path: Path, result: dict[str, Any]) -> None:
    get_output("timesketch").write(result, tmp_path)
    with (tmp_path / "timeline.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(result["alerts"]) + len(result["incidents"])
    incident = result["incidents"][0]
    (start,) = [r for r in rows if r["kind"] == "incident"]
    assert start["incident_id"] == incident["id"] and start["timestamp_desc"] == "Incident first seen"
    assert start["datetime"] == incident["first_seen"].replace("Z", "+00:00")
    rows = [r for r in rows if r["kind"] == "alert"]
    assert len(rows) == len(result["alerts"])
    for row in rows:
        assert row["message"] and row["timestamp_desc"] == "Alert time"
        when = datetime.fromisoformat(row["datetime"])
        assert when.tzinfo is not None
        assert int(row["timestamp"]) == int(when.timestamp() * 1_000_000)
        in_incident = row["alert_id"] in incident["alert_ids"]
        assert row["incident_id"] == (incident["id"] if in_incident else "")
    assert [r["datetime"] for r in rows] == sorted(r["datetime"] for r in rows)
    hostile = next(r for r in rows if r["rule_id"] == "lsass-dump")
    assert hostile["message"] == "[critical] LSASS memory dump on HR-LAPTOP-3 (T1003.001)"
    jsonl = [orjson.loads(x) for x in (tmp_path / "timeline.jsonl").read_bytes().splitlines()]
    assert [j["alert_id"] for j in jsonl if j["kind"] == "alert"] == [r["alert_id"] for r in rows]


def test_navigator_layers(tmp_path: Path, result: dict[str, Any]) -> None:
    files = get_output("navigator").write(result, tmp_path)
    incident = result["incidents"][0]
    assert [f.name for f in files] == ["navigator.json", f"navigator-{incident['id']}.json"]
    run = orjson.loads((tmp_path / "navigator.json").read_bytes())
    assert run["versions"]["layer"] == "4.5" and run["domain"] == "enterprise-attack"
    assert run["versions"]["attack"].isdigit()
    scores = {t["techniqueID"]: t["score"] for t in run["techniques"]}
    assert scores == {"T1204.002": 1, "T1071.004": 1, "T1003.001": 1, "T1021.002": 1, "T1082": 1}
    assert run["gradient"]["maxValue"] > run["gradient"]["minValue"]
    per_incident = orjson.loads(files[1].read_bytes())
    assert "T1082" not in {t["techniqueID"] for t in per_incident["techniques"]}  # the loose alert
    assert next(t for t in per_incident["techniques"] if t["techniqueID"] == "T1003.001")["comment"] == (
        "LSASS memory dump"
    )


def test_stix_bundle_parses_and_is_stable(tmp_path: Path, result: dict[str, Any]) -> None:
    get_output("stix").write(result, tmp_path)
    text = (tmp_path / "stix.json").read_text()
    bundle = stix2.parse(text, allow_custom=False)
    by_type: dict[str, list[Any]] = {}
    for obj in bundle.objects:
        by_type.setdefault(obj.type, []).append(obj)
    assert len(by_type["report"]) == 1 and by_type["report"][0].report_types == ["incident"]
    assert len(by_type["incident"]) == 1 and len(by_type["identity"]) == 1
    ids = {p.external_references[0].external_id for p in by_type["attack-pattern"]}
    assert ids == {"T1204.002", "T1071.004", "T1003.001", "T1021.002"}
    lsass = next(p for p in by_type["attack-pattern"] if p.external_references[0].external_id == "T1003.001")
    assert lsass.name == "LSASS Memory"
    assert {s.sighting_of_ref for s in by_type["sighting"]} == {p.id for p in by_type["attack-pattern"]}
    patterns = sorted(i.pattern for i in by_type["indicator"])
    assert patterns == ["[domain-name:value = 'x1.tunnel-c2.example']", "[ipv4-addr:value = '198.51.100.9']"]
    report = by_type["report"][0]
    assert {o.id for o in bundle.objects} - {report.id} == set(report.object_refs)
    get_output("stix").write(result, tmp_path / "again")
    assert (tmp_path / "again" / "stix.json").read_text() == text


def test_containment_lists(tmp_path: Path, result: dict[str, Any]) -> None:
    get_output("containment").write(result, tmp_path)
    folder = tmp_path / "containment"
    assert (folder / "hosts.txt").read_text() == "DC01\nHR-LAPTOP-3\n"
    assert (folder / "accounts.txt").read_text() == "ACME\\dana\n"
    assert (folder / "addresses.txt").read_text() == "198.51.100.9\n"
    assert (folder / "domains.txt").read_text() == "x1.tunnel-c2.example\n"
