"""The two kill-chain models: order, ids, OCSF numbers, groups and lookups."""

from __future__ import annotations

import pytest

from chainbreaker.errors import UnknownIdError
from chainbreaker.frameworks import KILLCHAIN_PHASES, UKC_PHASES, killchain_phase, ukc_phase

LOCKHEED = [
    "reconnaissance",
    "weaponization",
    "delivery",
    "exploitation",
    "installation",
    "command-and-control",
    "actions-on-objectives",
]

UKC = {
    "in": [
        "reconnaissance",
        "resource-development",
        "delivery",
        "social-engineering",
        "exploitation",
        "persistence",
        "defense-evasion",
        "command-and-control",
    ],
    "through": [
        "pivoting",
        "discovery",
        "privilege-escalation",
        "execution",
        "credential-access",
        "lateral-movement",
    ],
    "out": ["collection", "exfiltration", "impact", "objectives"],
}


def test_lockheed_phases_in_chain_order_with_ocsf_ids():
    assert [p.id for p in KILLCHAIN_PHASES] == LOCKHEED
    assert [p.ocsf_id for p in KILLCHAIN_PHASES] == [1, 2, 3, 4, 5, 6, 7]


@pytest.mark.parametrize("phase", KILLCHAIN_PHASES, ids=lambda p: p.id)
def test_every_lockheed_phase_is_documented(phase):
    assert len(phase.description) > 40
    assert phase.typical_attacks and all(phase.typical_attacks)
    assert phase.countermeasures and all(phase.countermeasures)


def test_lockheed_countermeasures_follow_the_product_table():
    text = {p.id: " ".join(p.countermeasures).lower() for p in KILLCHAIN_PHASES}
    assert "threat intelligence" in text["reconnaissance"]
    assert "patch" in text["weaponization"]
    assert "e-mail" in text["delivery"] and "web" in text["delivery"]
    assert "edr" in text["exploitation"]
    assert "application control" in text["installation"] and "sandbox" in text["installation"]
    assert "ips" in text["command-and-control"]
    assert "xdr" in text["actions-on-objectives"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("delivery", "delivery"),
        (3, "delivery"),
        ("3", "delivery"),
        ("Command and Control", "command-and-control"),
        ("command & control", "command-and-control"),
        ("actions_on_objectives", "actions-on-objectives"),
    ],
)
def test_killchain_phase_lookup(value, expected):
    assert killchain_phase(value).id == expected


def test_ukc_phases_in_order_with_groups():
    assert [p.id for p in UKC_PHASES] == UKC["in"] + UKC["through"] + UKC["out"]
    assert [p.order for p in UKC_PHASES] == list(range(1, 19))
    for group, ids in UKC.items():
        assert [p.id for p in UKC_PHASES if p.group == group] == ids


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("pivoting", "pivoting"),
        (9, "pivoting"),
        ("Command & Control", "command-and-control"),
        ("Defense Evasion", "defense-evasion"),
    ],
)
def test_ukc_phase_lookup(value, expected):
    assert ukc_phase(value).id == expected


def test_unknown_phase_suggests_close_matches():
    with pytest.raises(
        UnknownIdError, match=r"unknown kill-chain phase 'delivry'; did you mean delivery"
    ) as exc:
        killchain_phase("delivry")
    assert exc.value.suggestions[0] == "delivery"
    assert exc.value.exit_code == 2
    with pytest.raises(UnknownIdError, match="did you mean pivoting"):
        ukc_phase("pivotting")
    with pytest.raises(UnknownIdError):
        killchain_phase(0)  # OCSF "unknown" is not a phase
