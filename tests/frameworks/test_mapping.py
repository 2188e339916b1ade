"""ATT&CK -> Lockheed kill chain and Unified Kill Chain: every row, every override, full coverage."""

from __future__ import annotations

import pytest

from chainbreaker.frameworks import KILLCHAIN_PHASES, UKC_PHASES, attack, mapping, phases_for

# Our tactic -> phase table, as stated in the issue and docs/FRAMEWORKS.md.
TACTIC_ROWS = {
    "reconnaissance": (("reconnaissance",), ("reconnaissance",)),
    "resource-development": (("weaponization",), ("resource-development",)),
    "initial-access": (("delivery",), ("delivery",)),
    "execution": (("exploitation",), ("execution",)),
    "persistence": (("installation",), ("persistence",)),
    "privilege-escalation": (("installation",), ("privilege-escalation",)),
    "stealth": (("installation",), ("defense-evasion",)),
    "defense-impairment": (("installation",), ("defense-evasion",)),
    "credential-access": (("actions-on-objectives",), ("credential-access",)),
    "discovery": (("actions-on-objectives",), ("discovery",)),
    "lateral-movement": (("actions-on-objectives",), ("pivoting", "lateral-movement")),
    "collection": (("actions-on-objectives",), ("collection",)),
    "command-and-control": (("command-and-control",), ("command-and-control",)),
    "exfiltration": (("actions-on-objectives",), ("exfiltration",)),
    "impact": (("actions-on-objectives",), ("impact", "objectives")),
}

# technique, tactic it is used under (None: its own ATT&CK tactics) -> expected phases.
OVERRIDES = {
    ("T1583", None): (("weaponization",), ("resource-development",)),
    ("T1587", None): (("weaponization",), ("resource-development",)),
    ("T1588", None): (("weaponization",), ("resource-development",)),
    ("T1598", None): (("reconnaissance",), ("reconnaissance", "social-engineering")),
    ("T1566", None): (("delivery",), ("delivery", "social-engineering")),
    ("T1189", None): (("delivery",), ("delivery",)),
    ("T1133", "initial-access"): (("delivery",), ("delivery",)),
    ("T1190", None): (("delivery", "exploitation"), ("delivery", "exploitation")),
    ("T1078", "initial-access"): (("exploitation",), ("exploitation",)),
    ("T1203", None): (("exploitation",), ("exploitation",)),
    ("T1204", None): (("exploitation",), ("social-engineering", "exploitation")),
    ("T1068", None): (("exploitation",), ("exploitation", "privilege-escalation")),
    ("T1071", None): (("command-and-control",), ("command-and-control",)),
    ("T1090", None): (("command-and-control",), ("command-and-control", "pivoting")),
    ("T1572", None): (("command-and-control",), ("command-and-control", "pivoting")),
    ("T1534", None): (("actions-on-objectives",), ("social-engineering", "lateral-movement")),
}


def test_the_table_covers_every_attack_tactic():
    assert set(TACTIC_ROWS) == {t.short_name for t in attack().tactics}
    assert set(mapping().tactics) == set(TACTIC_ROWS)


@pytest.mark.parametrize(("tactic", "expected"), TACTIC_ROWS.items(), ids=list(TACTIC_ROWS))
def test_tactic_row(tactic, expected):
    assert phases_for((), (tactic,)) == expected


@pytest.mark.parametrize(("key", "expected"), OVERRIDES.items(), ids=[k[0] for k in OVERRIDES])
def test_technique_override(key, expected):
    tid, tactic = key
    assert phases_for((tid,), (tactic,) if tactic else ()) == expected


def test_every_override_in_the_data_file_is_tested_and_names_match_attack():
    assert {k[0] for k in OVERRIDES} == set(mapping().overrides)
    for tid, override in mapping().overrides.items():
        assert attack().techniques[tid].name == override.name


@pytest.mark.parametrize(
    ("sub", "parent"),
    [
        ("T1566.001", "T1566"),
        ("T1566.002", "T1566"),
        ("T1588.002", "T1588"),
        ("T1071.004", "T1071"),
        ("T1078.002", "T1078"),
    ],
)
def test_subtechniques_inherit_the_parent_override(sub, parent):
    assert (
        phases_for((sub,), ("initial-access",) if parent == "T1078" else ())
        == OVERRIDES[(parent, "initial-access" if parent == "T1078" else None)]
    )


def test_scoped_override_leaves_the_other_tactics_of_the_technique_alone():
    # Valid Accounts used for persistence is installation, not exploitation.
    assert phases_for(("T1078",), ("persistence",)) == (("installation",), ("persistence",))
    # Without tactics every ATT&CK tactic of T1078 counts: the override for initial access, rows for the rest.
    kc, ukc = phases_for(("T1078",), ())
    assert kc == ("exploitation", "installation")
    assert ukc == ("exploitation", "persistence", "defense-evasion", "privilege-escalation")


def test_rule_tactics_choose_among_the_technique_tactics():
    # T1053.005 Scheduled Task is execution, persistence and privilege escalation in ATT&CK.
    assert phases_for(("T1053.005",), ("persistence",)) == (("installation",), ("persistence",))
    assert phases_for(("T1053.005",), ()) == (
        ("exploitation", "installation"),
        ("persistence", "privilege-escalation", "execution"),
    )


def test_tactics_not_covered_by_a_technique_still_count():
    # An exploit technique refines initial access; the rule's other tactic maps through its row.
    assert phases_for(("T1190",), ("initial-access", "persistence")) == (
        ("delivery", "exploitation", "installation"),
        ("delivery", "exploitation", "persistence"),
    )
    # A second initial-access technique without override keeps the delivery row.
    assert phases_for(("T1078", "T1091"), ("initial-access",)) == (
        ("delivery", "exploitation"),
        ("delivery", "exploitation"),
    )


def test_inputs_in_any_spelling_and_unknowns():
    assert phases_for(("t1566.001",), ("Initial Access",)) == OVERRIDES[("T1566", None)]
    assert phases_for((), ("Defense Evasion",)) == TACTIC_ROWS["stealth"]
    assert phases_for(("T9999",), ("not-a-tactic",)) == ((), ())
    assert phases_for() == ((), ())


def test_results_are_in_chain_order():
    kc, ukc = phases_for((), ("impact", "reconnaissance", "command-and-control", "execution"))
    assert kc == ("reconnaissance", "exploitation", "command-and-control", "actions-on-objectives")
    assert ukc == ("reconnaissance", "command-and-control", "execution", "impact", "objectives")
    assert [p.id for p in KILLCHAIN_PHASES if p.id in kc] == list(kc)
    assert [p.id for p in UKC_PHASES if p.id in ukc] == list(ukc)


def test_every_technique_maps_to_at_least_one_phase_of_each_model():
    unmapped = []
    for tech in attack().techniques.values():
        kc, ukc = phases_for((tech.id,), ())
        if not kc or not ukc:
            unmapped.append(tech.id)
        for tac in tech.tactics:  # and under each of its tactics on its own
            kc, ukc = phases_for((tech.id,), (tac,))
            if not kc or not ukc:
                unmapped.append(f"{tech.id}/{tac}")
    assert unmapped == []
    assert len(attack().techniques) > 600  # the loop really ran over the whole release
