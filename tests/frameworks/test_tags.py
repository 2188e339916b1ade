"""Tactic spellings and Sigma ATT&CK tags, including the v19 Defense Evasion -> Stealth rename."""

from __future__ import annotations

import pytest

from chainbreaker.errors import UnknownIdError
from chainbreaker.frameworks import attack, canonical_tactic, parse_attack_tags, tactic
from chainbreaker.frameworks.tags import is_old_defense_evasion


@pytest.mark.parametrize(
    "spelling",
    [
        "defense-evasion",
        "Defense Evasion",
        "TA0005",
        "ta0005",
        "attack.defense_evasion",
        "defense_evasion",
        "stealth",
        "Stealth",
    ],
)
def test_defense_evasion_aliases_resolve_to_stealth(spelling):
    assert canonical_tactic(spelling) == "stealth"


@pytest.mark.parametrize("tac", attack().tactics, ids=lambda t: t.short_name)
def test_every_tactic_resolves_by_short_name_name_id_and_sigma_tag(tac):
    sigma_tag = "attack." + tac.short_name.replace("-", "_")
    for spelling in (tac.short_name, tac.name, tac.id, sigma_tag, tac.name.upper()):
        assert canonical_tactic(spelling) == tac.short_name


@pytest.mark.parametrize("value", ["", "evasion", "TA9999", "attack.t1059", "delivery"])
def test_unknown_tactics_are_none(value):
    assert canonical_tactic(value) is None


def test_defense_impairment_and_command_and_control_spellings():
    assert canonical_tactic("TA0112") == "defense-impairment"
    assert canonical_tactic("attack.command_and_control") == "command-and-control"
    assert canonical_tactic("Command & Control") == "command-and-control"


def test_tactic_object_and_unknown_tactic_error():
    assert tactic("Defense Evasion").id == "TA0005"
    with pytest.raises(UnknownIdError, match="did you mean") as exc:
        tactic("persistance")
    assert "persistence" in exc.value.suggestions


def test_parse_attack_tags_example_from_the_issue():
    tags = ["attack.t1059.001", "attack.execution", "attack.defense-evasion", "cve.2021-1"]
    assert parse_attack_tags(tags) == (("T1059.001",), ("execution", "stealth"))


def test_parse_attack_tags_keeps_order_and_drops_duplicates_and_other_namespaces():
    tags = [
        "attack.defense_evasion",
        "attack.t1218.011",
        "attack.stealth",  # same tactic as defense_evasion
        "attack.T1218.011",  # same technique, other case
        "attack.g0016",  # a group
        "attack.s0002",  # a software
        "attack.ta0112",
        "detection.threat-hunting",
        "car.2019-04-002",
        "attack.t1055",
        "attack.persistence",
        "attack.not-a-tactic",
    ]
    assert parse_attack_tags(tags) == (
        ("T1218.011", "T1055"),
        ("stealth", "defense-impairment", "persistence"),
    )


def test_parse_attack_tags_of_nothing():
    assert parse_attack_tags([]) == ((), ())


@pytest.mark.parametrize(
    ("tags", "tactics"),
    [
        # T1112 Modify Registry is under Defense Impairment (and Persistence) in the shipped v19 data
        (["attack.defense-evasion", "attack.t1112"], ("defense-impairment",)),
        (["attack.defense_evasion", "attack.t1036"], ("stealth",)),  # Masquerading: Stealth
        (["attack.t1112", "attack.t1070", "attack.defense-evasion"], ("stealth", "defense-impairment")),
        (["attack.defense-evasion"], ("stealth",)),  # no technique: the fallback
        (["attack.defense-evasion", "attack.t1059"], ("stealth",)),  # techniques under other tactics
        (["attack.defense-evasion", "attack.t9999"], ("stealth",)),  # unknown to the shipped data
        (["attack.defense-evasion", "attack.t1112.999"], ("defense-impairment",)),  # via its parent
        # the new tags are taken as written, whatever the techniques
        (["attack.stealth", "attack.t1112"], ("stealth",)),
        (["attack.defense-impairment", "attack.t1036"], ("defense-impairment",)),
        (["attack.ta0005", "attack.t1112"], ("stealth",)),  # TA0005 is Stealth's own id
        (
            ["attack.persistence", "attack.defense-evasion", "attack.t1112"],
            ("persistence", "defense-impairment"),
        ),
    ],
)
def test_old_defense_evasion_tag_resolves_by_the_rules_techniques(tags, tactics):
    assert parse_attack_tags(tags)[1] == tactics


def test_the_resolution_follows_the_shipped_data():
    t1112 = attack().techniques["T1112"]
    assert "defense-impairment" in t1112.tactics and "stealth" not in t1112.tactics
    assert "stealth" in attack().techniques["T1036"].tactics


@pytest.mark.parametrize(
    ("value", "old"),
    [
        ("defense-evasion", True),
        ("attack.defense_evasion", True),
        ("Defense Evasion", True),
        ("stealth", False),
        ("TA0005", False),
        ("defense-impairment", False),
    ],
)
def test_is_old_defense_evasion(value, old):
    assert is_old_defense_evasion(value) is old
