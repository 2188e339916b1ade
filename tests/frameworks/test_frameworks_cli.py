"""`chainbreaker frameworks` and `chainbreaker explain` in both formats, and their errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from chainbreaker.cli import app
from chainbreaker.frameworks import attack

runner = CliRunner()


def _json(args: list[str]) -> dict:
    result = runner.invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_frameworks_defaults_to_the_killchain_table():
    result = runner.invoke(app, ["frameworks"])
    assert result.exit_code == 0
    assert "Lockheed Martin Cyber Kill Chain" in result.stdout
    for name in ("Reconnaissance", "Weaponization", "Delivery", "Exploitation", "Installation"):
        assert name in result.stdout


def test_frameworks_killchain_json():
    doc = _json(["frameworks", "killchain"])
    assert [p["id"] for p in doc["phases"]][:3] == ["reconnaissance", "weaponization", "delivery"]
    assert [p["ocsf_id"] for p in doc["phases"]] == list(range(1, 8))
    assert all(p["countermeasures"] and p["typical_attacks"] for p in doc["phases"])


def test_frameworks_ukc_table_and_json():
    result = runner.invoke(app, ["frameworks", "ukc"])
    assert result.exit_code == 0 and "Unified Kill Chain" in result.stdout and "Pivoting" in result.stdout
    doc = _json(["frameworks", "ukc"])
    assert len(doc["phases"]) == 18
    assert doc["phases"][8] == {
        "id": "pivoting",
        "name": "Pivoting",
        "group": "through",
        "order": 9,
        "description": doc["phases"][8]["description"],
    }


def test_frameworks_attack_json_lists_every_tactic_and_current_technique():
    doc = _json(["frameworks", "attack"])
    assert list(doc) == ["attack_version", "tactics", "techniques"]
    assert doc["attack_version"] == attack().version
    assert len(doc["tactics"]) == 15
    assert {"id": "TA0005", "short_name": "stealth", "name": "Stealth"} in doc["tactics"]
    assert {"id": "TA0112", "short_name": "defense-impairment", "name": "Defense Impairment"} in doc[
        "tactics"
    ]
    expected = sorted(t.id for t in attack().techniques.values() if not (t.deprecated or t.revoked))
    assert sorted(t["id"] for t in doc["techniques"]) == expected
    ps = next(t for t in doc["techniques"] if t["id"] == "T1059.001")
    assert ps["name"] == "PowerShell" and ps["tactics"] == ["execution"] and ps["parent"] == "T1059"


def test_frameworks_attack_table():
    result = runner.invoke(app, ["frameworks", "attack"])
    assert result.exit_code == 0
    assert "TA0112" in result.stdout and "T1059.001" in result.stdout


def test_frameworks_rejects_an_unknown_model():
    result = runner.invoke(app, ["frameworks", "diamond"])
    assert result.exit_code == 2


def test_explain_spearphishing_attachment_json():
    doc = _json(["explain", "T1566.001"])
    assert doc["kind"] == "technique" and doc["id"] == "T1566.001"
    assert [t["short_name"] for t in doc["tactics"]] == ["initial-access"]
    assert [p["id"] for p in doc["killchain_phases"]] == ["delivery"]
    assert [p["id"] for p in doc["ukc_phases"]] == ["delivery", "social-engineering"]
    delivery = next(p for p in doc["killchain_phases"] if p["id"] == "delivery")
    assert doc["countermeasures"] == delivery["countermeasures"]
    assert any("e-mail" in c for c in doc["countermeasures"])


def test_explain_table_walks_the_chain():
    result = runner.invoke(app, ["explain", "t1566.001"])
    assert result.exit_code == 0
    out = result.stdout
    assert "Spearphishing Attachment" in out and "Initial Access" in out
    assert out.index("Initial Access") < out.index("3. Delivery") < out.index("Social Engineering")
    assert "break the chain" in out


@pytest.mark.parametrize(
    ("value", "kind", "ident", "killchain"),
    [
        ("TA0005", "tactic", "TA0005", ["installation"]),
        ("defense-evasion", "tactic", "TA0005", ["installation"]),
        ("weaponization", "killchain-phase", "weaponization", ["weaponization"]),
        ("3", "killchain-phase", "delivery", ["delivery"]),
        ("pivoting", "ukc-phase", "pivoting", ["actions-on-objectives"]),
    ],
)
def test_explain_tactics_and_phases(value, kind, ident, killchain):
    doc = _json(["explain", value])
    assert (doc["kind"], doc["id"]) == (kind, ident)
    assert [p["id"] for p in doc["killchain_phases"]] == killchain


@pytest.mark.parametrize(
    ("value", "suggestion"),
    [("T1059.01", "T1059.001"), ("persistance", "persistence"), ("delivry", "delivery")],
)
def test_explain_unknown_id_exits_2_with_suggestions(value, suggestion):
    result = runner.invoke(app, ["explain", value, "--format", "json"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "unknown" in result.stderr and f"'{value}'" in result.stderr
    assert f"did you mean {suggestion}" in result.stderr
