"""`eval` numbers on tiny hand-made cases, one per label format; expected values computed by hand."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest

from chainbreaker.evaluate import evaluate, findings_from_document, load_labels
from chainbreaker.evaluate.labels import FileLabels, GroundTruth


def alert(
    aid: str,
    time: str,
    refs: list[tuple[str, int]],
    tactics: Sequence[str] = (),
    phases: Sequence[str] = (),
    techniques: Sequence[str] = (),
) -> dict[str, Any]:
    return {
        "id": aid,
        "rule_id": f"r-{aid}",
        "time": time,
        "host": "WKS-01",
        "tactics": list(tactics),
        "techniques": list(techniques),
        "killchain_phases": list(phases),
        "event_ref": {"file": refs[0][0], "record": refs[0][1]} if refs else None,
        "event_refs": [{"file": f, "record": r} for f, r in refs],
    }


def by_key(rows: tuple, key: str) -> Any:
    return next(r for r in rows if r.key == key)


# -- (a) simulator ground truth -------------------------------------------------------------------
@pytest.fixture
def ground_truth(tmp_path: Path) -> Path:
    lines = [
        {
            "file": "logs/zeek/conn.log",
            "record": 9,
            "phase": "reconnaissance",
            "technique": "T1595.001",
            "tactic": "reconnaissance",
            "host": None,
            "time": "2026-01-05T10:00:00.000000Z",
            "step": "scan",
        },
        {
            "file": "logs/zeek/conn.log",
            "record": 10,
            "phase": "reconnaissance",
            "technique": "T1595.001",
            "tactic": "reconnaissance",
            "host": None,
            "time": "2026-01-05T10:05:00.000000Z",
            "step": "scan",
        },
        {
            "file": "logs/zeek/conn.log",
            "record": 20,
            "phase": "command-and-control",
            "technique": "T1071.001",
            "tactic": "command-and-control",
            "host": "WKS-01",
            "time": "2026-01-05T10:10:00.000000Z",
            "step": "beacon",
        },
        {
            "file": "logs/windows/WKS-01/Sysmon.jsonl",
            "record": 3,
            "phase": "command-and-control",
            "technique": "T1071.001",
            "tactic": "command-and-control",
            "host": "WKS-01",
            "time": "2026-01-05T10:20:00.000000Z",
            "step": "beacon",
        },
    ]
    (tmp_path / "ground_truth.jsonl").write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))
    (tmp_path / "ground_truth.json").write_bytes(
        orjson.dumps(
            {
                "incidents": [
                    {"id": "case-1", "hosts": ["WKS-01"], "phases": ["reconnaissance", "command-and-control"]}
                ]
            }
        )
    )
    return tmp_path


def test_ground_truth_recall_precision_f1_and_time_to_detect(ground_truth: Path) -> None:
    root = "/hunts/case/"
    doc = {
        "alerts": [
            # A1 cites the second scan record (detected 330 s after the first malicious event)
            alert(
                "A1",
                "2026-01-05T10:05:30Z",
                [(root + "logs/zeek/conn.log", 10)],
                ["reconnaissance"],
                ["reconnaissance"],
            ),
            # A2 cites both C2 records
            alert(
                "A2",
                "2026-01-05T10:20:00Z",
                [(root + "logs/zeek/conn.log", 20), (root + "logs\\windows\\WKS-01\\Sysmon.jsonl", 3)],
                ["command-and-control"],
                ["command-and-control"],
            ),
            # A3 is a false positive: a benign record, and a look-alike path that is not the labelled file
            alert(
                "A3",
                "2026-01-05T10:01:00Z",
                [(root + "logs/zeek/conn.log", 11), ("/x/notlogs/zeek/conn.log", 20)],
                ["command-and-control"],
                ["command-and-control"],
            ),
        ],
        "incidents": [
            {
                "id": "I1",
                "hosts": ["WKS-01"],
                "killchain_phases": ["reconnaissance", "command-and-control"],
                "alert_ids": ["A1", "A2"],
            },
            {
                "id": "I2",
                "hosts": ["WKS-02"],
                "killchain_phases": ["command-and-control"],
                "alert_ids": ["A3"],
            },
        ],
    }
    labels = load_labels(ground_truth)
    assert isinstance(labels, GroundTruth)
    result = evaluate(labels, findings_from_document(doc))
    overall = result.overall
    assert (overall.truth, overall.detected, overall.alerts, overall.true_alerts) == (4, 3, 3, 2)
    assert overall.recall == pytest.approx(0.75)
    assert overall.precision == pytest.approx(2 / 3)
    assert overall.f1 == pytest.approx(2 * (2 / 3) * 0.75 / (2 / 3 + 0.75))  # 0.70588
    assert overall.time_to_detect_s == pytest.approx(330.0)
    recon = by_key(result.phases, "reconnaissance")
    assert (recon.recall, recon.precision, recon.time_to_detect_s) == (0.5, 1.0, 330.0)
    assert recon.f1 == pytest.approx(2 / 3)
    c2 = by_key(result.phases, "command-and-control")
    assert (c2.truth, c2.detected, c2.alerts, c2.true_alerts) == (2, 2, 2, 1)
    assert (c2.recall, c2.precision) == (1.0, 0.5)
    assert c2.time_to_detect_s == pytest.approx(600.0)  # first C2 event 10:10 -> A2 at 10:20
    assert [s.key for s in result.phases] == ["reconnaissance", "command-and-control"]
    assert by_key(result.tactics, "command-and-control").recall == 1.0
    assert result.unmatched_alerts == 1
    inc = result.incidents
    assert (inc["expected"], inc["found"], inc["result_incidents"], inc["false_incidents"]) == (1, 1, 2, 1)
    assert inc["details"][0]["hosts_found"] == ["WKS-01"]
    assert inc["details"][0]["phases_found"] == ["reconnaissance", "command-and-control"]


def test_an_alert_detects_a_record_no_earlier_than_the_record(ground_truth: Path) -> None:
    """One alert stamped with its first record's time (10:00) also cites the C2 record of 10:20: for
    the C2 phase it counts from 10:20, not from 10:00 (time to detect 600 s after 10:10, not -600 s).
    The alert carries both phases: a phase row credits only alerts of that phase (next test)."""
    refs = [("logs/zeek/conn.log", 9), ("logs/windows/WKS-01/Sysmon.jsonl", 3)]
    both = ["reconnaissance", "command-and-control"]
    doc = {"alerts": [alert("A", "2026-01-05T10:00:00Z", refs, both, both)]}
    result = evaluate(load_labels(ground_truth), findings_from_document(doc))
    assert by_key(result.phases, "command-and-control").time_to_detect_s == pytest.approx(600.0)
    assert by_key(result.phases, "reconnaissance").time_to_detect_s == pytest.approx(0.0)
    assert result.overall.time_to_detect_s == pytest.approx(0.0)


def test_a_phase_row_credits_only_alerts_of_that_phase(ground_truth: Path) -> None:
    """The same alert carrying C2 only: it still detects the scan record overall, but not for the
    reconnaissance row (no detection, no time to detect there)."""
    refs = [("logs/zeek/conn.log", 9), ("logs/windows/WKS-01/Sysmon.jsonl", 3)]
    doc = {
        "alerts": [alert("A", "2026-01-05T10:00:00Z", refs, ["command-and-control"], ["command-and-control"])]
    }
    result = evaluate(load_labels(ground_truth), findings_from_document(doc))
    recon = by_key(result.phases, "reconnaissance")
    assert (recon.truth, recon.detected, recon.alerts, recon.time_to_detect_s) == (2, 0, 0, None)
    assert by_key(result.phases, "command-and-control").time_to_detect_s == pytest.approx(600.0)
    assert (result.overall.detected, result.overall.time_to_detect_s) == (2, 0.0)


def test_no_alerts_gives_zero_recall_and_undefined_precision(ground_truth: Path) -> None:
    result = evaluate(
        load_labels(ground_truth / "ground_truth.jsonl"), findings_from_document({"alerts": []})
    )
    assert result.overall.recall == 0.0
    assert result.overall.precision is None
    assert result.overall.time_to_detect_s is None
    assert result.incidents["found"] == 0


# -- (b) folder -> tactic -------------------------------------------------------------------------
@pytest.fixture
def tactic_tree(tmp_path: Path) -> Path:
    root = tmp_path / "SAMPLES"
    for rel in (
        "Lateral Movement/readme.md",
        "Lateral Movement/a.evtx",
        "Lateral Movement/sub/b.evtx",
        "Defense Evasion/c.evtx",
        "Other/d.evtx",
        "AutomatedTestingTools/e.evtx",
        "Discovery/f.evtx",
    ):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"x")
    return tmp_path  # the single top folder is descended into


def test_tactic_folders(tactic_tree: Path) -> None:
    labels = load_labels(tactic_tree)
    assert isinstance(labels, FileLabels) and labels.format == "tactic-folders"
    assert set(labels.tactics) == {
        "Lateral Movement/a.evtx",
        "Lateral Movement/sub/b.evtx",
        "Defense Evasion/c.evtx",
        "Discovery/f.evtx",
    }
    assert labels.tactics["Defense Evasion/c.evtx"] == {"stealth"}
    assert set(labels.skipped) == {"Other", "AutomatedTestingTools"}
    base = str(tactic_tree / "SAMPLES") + "/"
    doc = {
        "alerts": [
            alert(
                "1",
                "2026-01-01T00:00:00Z",
                [(base + "Lateral Movement/a.evtx", 5)],
                ["lateral-movement"],
                ["actions-on-objectives"],
            ),
            alert(
                "2",
                "2026-01-01T00:00:00Z",
                [(base + "Defense Evasion/c.evtx", 1)],
                ["defense-evasion"],  # old name
                ["installation"],
            ),
            alert(
                "3",
                "2026-01-01T00:00:00Z",
                [(base + "Lateral Movement/sub/b.evtx", 2)],
                ["discovery"],
                ["actions-on-objectives"],
            ),
            alert(
                "4", "2026-01-01T00:00:00Z", [(base + "Other/d.evtx", 2)], ["lateral-movement"]
            ),  # skipped folder
        ]
    }
    result = evaluate(labels, findings_from_document(doc))
    lateral = by_key(result.tactics, "lateral-movement")
    assert (lateral.truth, lateral.detected, lateral.alerts, lateral.true_alerts) == (2, 1, 1, 1)
    assert (lateral.recall, lateral.precision) == (0.5, 1.0)
    assert by_key(result.tactics, "stealth").recall == 1.0
    discovery = by_key(result.tactics, "discovery")  # f.evtx missed; b.evtx flagged discovery wrongly
    assert (discovery.truth, discovery.detected, discovery.alerts, discovery.true_alerts) == (1, 0, 1, 0)
    assert discovery.precision == 0.0 and discovery.f1 == 0.0
    # phases: lateral-movement and discovery -> actions-on-objectives (3 files), stealth -> installation
    aoo = by_key(result.phases, "actions-on-objectives")
    assert (aoo.truth, aoo.detected, aoo.alerts) == (3, 2, 2)
    assert by_key(result.phases, "installation").recall == 1.0
    assert result.overall.detected == 3 and result.overall.truth == 4
    assert result.unmatched_alerts == 1


def test_tactic_folders_of_the_real_corpus(dataset: Any) -> None:
    root = dataset("evtx-attack-samples")
    labels = load_labels(root)
    assert isinstance(labels, FileLabels)
    samples = root / "EVTX-ATTACK-SAMPLES"
    lateral = [p for p in (samples / "Lateral Movement").rglob("*") if p.is_file()]
    assert sum(1 for ts in labels.tactics.values() if "lateral-movement" in ts) == len(lateral)
    evtx = [p.relative_to(samples).as_posix() for p in samples.glob("*/**/*.evtx")]
    scored = [p for p in evtx if p.split("/")[0] not in ("AutomatedTestingTools", "Other")]
    assert len(scored) > 200 and set(scored) <= set(labels.tactics)
    assert "Command and Control/readme.md" not in labels.tactics
    assert "AutomatedTestingTools" in labels.skipped and "Other" in labels.skipped
    assert any("stealth" in ts for ts in labels.tactics.values())


# -- (c) OTRF metadata ---------------------------------------------------------------------------
def test_otrf_metadata(tmp_path: Path) -> None:
    meta = tmp_path / "metadata.jsonl"
    meta.write_bytes(
        b"".join(
            orjson.dumps(x) + b"\n"
            for x in [
                {
                    "meta": "m1.yaml",
                    "id": "SD1",
                    "attack": [["T1003", "001", ["TA0006"]]],
                    "files": [{"rel": "datasets/atomic/windows/credential_access/host/lsass.zip"}],
                },
                {
                    "meta": "m2.yaml",
                    "id": "SD2",
                    "attack": [["T1021", "002", ["TA0008"]], ["T1569", "002", ["TA0002"]]],
                    "files": [{"rel": "datasets/atomic/windows/lateral_movement/host/psexec.zip"}],
                },
                {
                    "meta": "m3.yaml",
                    "id": "SD3",
                    "attack": [],
                    "files": [{"rel": "datasets/atomic/none.zip"}],
                },
            ]
        )
    )
    labels = load_labels(meta)
    assert isinstance(labels, FileLabels) and labels.format == "otrf"
    assert labels.techniques["datasets/atomic/windows/lateral_movement/host/psexec.zip"] == {
        "T1021.002",
        "T1569.002",
    }
    base = "/data/Security-Datasets/datasets/atomic/windows/"
    doc = {
        "alerts": [
            alert(
                "1",
                "2026-01-01T00:00:00Z",
                [(base + "credential_access/host/lsass.zip!lsass.json", 7)],
                ["credential-access"],
                ["actions-on-objectives"],
                ["T1003"],
            ),  # parent technique counts
            alert(
                "2",
                "2026-01-01T00:00:00Z",
                [(base + "lateral_movement/host/psexec.zip!psexec.json", 1)],
                ["execution"],
                ["exploitation"],
                ["T1569.002"],
            ),
        ]
    }
    result = evaluate(labels, findings_from_document(doc))
    assert by_key(result.tactics, "credential-access").recall == 1.0
    lateral = by_key(result.tactics, "lateral-movement")
    assert (lateral.truth, lateral.detected, lateral.alerts) == (1, 0, 0)
    execution = by_key(result.tactics, "execution")
    assert (execution.recall, execution.precision) == (1.0, 1.0)
    assert by_key(result.techniques, "T1003.001").detected == 1
    assert by_key(result.techniques, "T1021.002").detected == 0
    assert by_key(result.techniques, "T1569.002").detected == 1
    assert result.overall.truth == 2 and result.overall.detected == 2


def test_otrf_metadata_of_the_real_corpus_jsonl_and_yaml_agree(dataset: Any) -> None:
    root = dataset("otrf-atomic") / "Security-Datasets"
    from_jsonl = load_labels(root / "metadata.jsonl")
    from_yaml = load_labels(root / "datasets" / "atomic" / "_metadata")
    assert isinstance(from_jsonl, FileLabels) and isinstance(from_yaml, FileLabels)
    # metadata.jsonl also lists compound datasets, whose metadata is not under atomic/_metadata
    assert len(from_yaml.tactics) > 100
    assert set(from_yaml.tactics) <= set(from_jsonl.tactics)
    for f in from_yaml.tactics:
        assert from_jsonl.tactics[f] == from_yaml.tactics[f], f
