"""The pre-v19 "Defense Evasion" folder accepts either half of ATT&CK v19's split."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chainbreaker.evaluate import load_labels
from chainbreaker.evaluate.labels import FileLabels


def tree(tmp_path: Path, *rels: str) -> Path:
    for rel in rels:
        path = tmp_path / "SAMPLES" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    return tmp_path


def test_defense_evasion_folder_accepts_stealth_or_defense_impairment(tmp_path: Path) -> None:
    labels = load_labels(tree(tmp_path, "Defense Evasion/a.evtx", "Stealth/b.evtx", "Discovery/c.evtx"))
    assert isinstance(labels, FileLabels)
    # the label itself stays the tactic that kept TA0005's id
    assert labels.tactics["Defense Evasion/a.evtx"] == {"stealth"}
    assert labels.accepted("Defense Evasion/a.evtx", "stealth") == {"stealth", "defense-impairment"}
    assert labels.detects("Defense Evasion/a.evtx", "stealth", {"defense-impairment"})
    assert labels.detects("Defense Evasion/a.evtx", "stealth", {"stealth", "execution"})
    assert not labels.detects("Defense Evasion/a.evtx", "stealth", {"privilege-escalation"})
    # a folder already named with the v19 tactic, or any other tactic, is strict
    assert labels.tactics["Stealth/b.evtx"] == {"stealth"}
    assert labels.accepted("Stealth/b.evtx", "stealth") == {"stealth"}
    assert not labels.detects("Stealth/b.evtx", "stealth", {"defense-impairment"})
    assert not labels.detects("Discovery/c.evtx", "discovery", {"stealth"})
    assert labels.accepted("Discovery/c.evtx", "discovery") == {"discovery"}


def test_split_spellings_of_the_old_folder_name(tmp_path: Path) -> None:
    labels = load_labels(tree(tmp_path, "defense_evasion/a.evtx", "Lateral Movement/b.evtx"))
    assert isinstance(labels, FileLabels)
    assert labels.accepted("defense_evasion/a.evtx", "stealth") == {"stealth", "defense-impairment"}


def test_split_on_the_real_corpus(dataset: Any) -> None:
    labels = load_labels(dataset("evtx-attack-samples"))
    assert isinstance(labels, FileLabels)
    evasion = [f for f in labels.tactics if f.startswith("Defense Evasion/")]
    assert len(evasion) > 30
    assert all(labels.detects(f, "stealth", {"defense-impairment"}) for f in evasion)
    others = [f for f in labels.tactics if not f.startswith("Defense Evasion/")]
    assert others and not any(
        labels.detects(f, t, {"defense-impairment"}) for f in others for t in labels.tactics[f]
    )
