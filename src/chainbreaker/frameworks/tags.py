"""Tactic names in every spelling seen in the wild, and ATT&CK tags of Sigma rules."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from chainbreaker.errors import UnknownIdError
from chainbreaker.frameworks._data import load_yaml, normalise, suggest
from chainbreaker.frameworks.attack import TECHNIQUE_ID, Tactic, attack, find_technique


@cache
def _tactic_keys() -> dict[str, str]:
    keys: dict[str, str] = {}
    for tac in attack().tactics:
        keys[tac.short_name] = tac.short_name
        keys[tac.id.lower()] = tac.short_name
        keys[normalise(tac.name)] = tac.short_name
    for alias, target in load_yaml("mapping.yaml")["tactic_aliases"].items():
        keys[normalise(alias)] = target
    return keys


@cache
def canonical_tactic(value: str) -> str | None:
    """Any tactic spelling -> its ATT&CK short name (``"Defense Evasion"`` -> ``"stealth"``), else None.

    Accepts short names, display names, TA ids and Sigma tags (``attack.defense_evasion``);
    the pre-v19 name Defense Evasion is an alias of Stealth (same id, TA0005).
    """
    key = normalise(value)
    if key.startswith("attack."):
        key = key[len("attack.") :]
    return _tactic_keys().get(key)


def tactic(value: str) -> Tactic:
    """Resolve a tactic spelling to its :class:`Tactic`, raising UnknownIdError with close matches."""
    short = canonical_tactic(value)
    found = attack().tactic(short) if short else None
    if found is None:
        raise UnknownIdError("ATT&CK tactic", value, suggest(normalise(value), _tactic_keys()))
    return found


#: The tactics ATT&CK v19 split the old Defense Evasion into (the first one kept its id, TA0005).
DEFENSE_EVASION_SUCCESSORS = ("stealth", "defense-impairment")


def is_old_defense_evasion(value: str) -> bool:
    """Whether a tactic spelling is the pre-v19 name Defense Evasion (not its id TA0005, which
    Stealth kept): ``defense-evasion``, ``defense_evasion``, ``Defense Evasion``, with or without
    the ``attack.`` prefix."""
    key = normalise(value)
    return key.removeprefix("attack.") == "defense-evasion"


def successors(value: str) -> frozenset[str]:
    """The v19 tactics that replaced a pre-v19 tactic name (Defense Evasion: Stealth and Defense
    Impairment, in any spelling :func:`is_old_defense_evasion` accepts); empty for any other name."""
    return frozenset(DEFENSE_EVASION_SUCCESSORS) if is_old_defense_evasion(value) else frozenset()


def parse_attack_tags(tags: Iterable[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Sigma tags -> (technique ids, tactic short names), order kept, duplicates dropped.

    Only the ``attack.`` namespace counts; group (``attack.g0016``) and software (``attack.s0002``)
    tags and other namespaces (``cve.``, ``detection.``) are ignored. Well-formed technique ids
    are kept even when the shipped ATT&CK release does not know them (older rules).

    The old ``attack.defense-evasion`` tag means Stealth and/or Defense Impairment since ATT&CK
    v19: it becomes those of the two that the shipped data lists for the rule's techniques
    (``attack.t1112``, Modify Registry, is under Defense Impairment), and Stealth when none of
    them does (no technique tags, or techniques the data places elsewhere or does not know).
    """
    techniques: dict[str, None] = {}
    names: list[str] = []
    for tag in tags:
        namespace, _, name = tag.strip().partition(".")
        if namespace.lower() != "attack" or not name:
            continue
        upper = name.upper()
        if TECHNIQUE_ID.match(upper):
            techniques[upper] = None
        else:
            names.append(name)
    tactics: dict[str, None] = {}
    for name in names:
        if is_old_defense_evasion(name):
            for successor in _defense_evasion_successors(tuple(techniques)):
                tactics[successor] = None
            continue
        short = canonical_tactic(name)  # also resolves TA ids (attack.ta0005)
        if short is not None:
            tactics[short] = None
    return tuple(techniques), tuple(tactics)


def _defense_evasion_successors(techniques: tuple[str, ...]) -> tuple[str, ...]:
    """What the old Defense Evasion tag means for a rule with these techniques (see above)."""
    listed: set[str] = set()
    for tid in techniques:
        found = find_technique(tid) or (find_technique(tid.split(".", 1)[0]) if "." in tid else None)
        if found is not None:
            listed.update(found.tactics)
    return tuple(t for t in DEFENSE_EVASION_SUCCESSORS if t in listed) or DEFENSE_EVASION_SUCCESSORS[:1]
