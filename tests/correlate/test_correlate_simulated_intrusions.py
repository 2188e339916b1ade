"""Issue 7: every simulated intrusion is reconstructed as ONE incident with all seven kill-chain
phases, by the real hunt (shipped Sigma rules, analytics, Suricata/Zeek verdicts, the campaign's
threat-intel feed the simulator writes, correlation); the benign network gives no incident."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from chainbreaker.pipeline import HuntOptions, hunt
from chainbreaker.simulate import SimConfig, simulate
from chainbreaker.simulate.model import KILLCHAIN_PHASE_IDS

SMALL = {
    "lockbit": SimConfig(hosts=5, days=0.15, noise=20, seed=31),
    "clop": SimConfig(hosts=4, days=0.15, noise=20, seed=32),
    "blackcat": SimConfig(hosts=5, days=0.15, noise=20, seed=33),
    "benign": SimConfig(hosts=5, days=0.15, noise=20, seed=34),
}
ATTACKS = ("lockbit", "clop", "blackcat")


@pytest.fixture(scope="module")
def hunted(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, tuple[dict[str, Any], list[dict[str, Any]]]]:
    out = {}
    feeds: list[Path] = []
    for name, config in SMALL.items():  # the attacks first: benign is hunted with all their feeds
        folder = tmp_path_factory.mktemp(name)
        simulate(name, folder, config)
        summary = json.loads((folder / "ground_truth.json").read_text())
        intel = [folder / summary["intel"]] if summary["intel"] else list(feeds)
        feeds += intel
        result = hunt([folder / "logs"], HuntOptions(workers=1, intel=intel))
        out[name] = (summary, result.incidents)
    return out


@pytest.mark.parametrize("name", ATTACKS)
def test_intrusion_is_one_incident_with_all_seven_phases(hunted: dict, name: str) -> None:
    summary, incidents = hunted[name]
    (expected,) = summary["incidents"]
    assert len(incidents) == 1, [(i["title"], i["hosts"]) for i in incidents]
    (incident,) = incidents
    assert incident["killchain_phases"] == list(KILLCHAIN_PHASE_IDS)
    assert {h.lower() for h in expected["hosts"]} <= {h.lower() for h in incident["hosts"]}


def _full_without_feed(name: str, folder: Path) -> list[dict[str, Any]]:
    simulate(name, folder, SMALL[name])
    incidents = hunt([folder / "logs"], HuntOptions(workers=1)).incidents
    return [i for i in incidents if i["killchain_phases"] == list(KILLCHAIN_PHASE_IDS)]


@pytest.mark.parametrize("name", ["lockbit", "blackcat"])
def test_without_the_feed_weaponization_is_missing(hunted: dict, name: str, tmp_path: Path) -> None:
    """Only the feed's tool hashes show these attacks' weaponization: without it they fall short."""
    assert not _full_without_feed(name, tmp_path / name)


def test_clop_needs_no_feed(hunted: dict, tmp_path: Path) -> None:
    """clop's exploit tool shows in its User-Agent (weaponization) and the exploit requests are sent
    straight to the server (delivery and exploitation): the logs alone give all seven phases."""
    assert len(_full_without_feed("clop", tmp_path / "clop")) == 1


def test_benign_network_gives_no_incident_even_with_the_feeds_loaded(hunted: dict) -> None:
    summary, incidents = hunted["benign"]
    assert summary["incidents"] == [] and incidents == []
