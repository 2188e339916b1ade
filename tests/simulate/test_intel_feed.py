"""The campaign's threat-intelligence feed the simulator writes: valid STIX 2.1 that our intel
loader reads, grouped by one report and campaign, and no copy of the ground truth."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import stix2
from sim_runs import ATTACKS

from chainbreaker.detect.intel.loaders import load_indicators
from chainbreaker.simulate.intel import FeedIndicator
from chainbreaker.simulate.model import KILLCHAIN_PHASE_IDS


@pytest.mark.parametrize("name", ATTACKS)
def test_feed_is_a_valid_stix_bundle_grouped_by_one_report(runs: dict[str, Path], name: str) -> None:
    summary = json.loads((runs[name] / "ground_truth.json").read_text())
    assert summary["intel"] == "intel/campaign.json"
    bundle = stix2.parse((runs[name] / summary["intel"]).read_text(), allow_custom=False)
    by_type: dict[str, list] = {}
    for obj in bundle.objects:
        by_type.setdefault(obj.type, []).append(obj)
    (campaign,) = by_type["campaign"]
    (report,) = by_type["report"]
    (actor,) = by_type["intrusion-set"]
    indicators = by_type["indicator"]
    assert len(indicators) >= 4
    assert set(report.object_refs) >= {campaign.id, actor.id, *(i.id for i in indicators)}
    indicates = {r.source_ref for r in by_type["relationship"] if r.relationship_type == "indicates"}
    assert indicates == {i.id for i in indicators}
    assert all(
        r.target_ref == campaign.id for r in by_type["relationship"] if r.relationship_type == "indicates"
    )
    for indicator in indicators:
        (phase,) = indicator.kill_chain_phases
        assert phase.kill_chain_name == "lockheed-martin-cyber-kill-chain"
        assert phase.phase_name in KILLCHAIN_PHASE_IDS
        assert indicator.valid_from <= report.published


@pytest.mark.parametrize("name", ATTACKS)
def test_our_intel_loader_reads_the_feed_with_its_phases(runs: dict[str, Path], name: str) -> None:
    table = load_indicators([runs[name] / "intel" / "campaign.json"])
    phases = set(table.get_column("phase").to_list())
    # clop's weaponization is the exploit tool's fingerprint, seen by the IPS rather than by a feed
    assert {"command-and-control", "weaponization" if name != "clop" else "delivery"} <= phases
    assert table.filter(table["kind"] == "ip").height >= 2
    assert table.filter(table["kind"].is_in(["sha256", "filename"])).height >= 1


@pytest.mark.parametrize("name", ATTACKS)
def test_feed_names_no_host_or_internal_address_of_the_victim(runs: dict[str, Path], name: str) -> None:
    summary = json.loads((runs[name] / "ground_truth.json").read_text())
    text = (runs[name] / "intel" / "campaign.json").read_text().lower()
    for host in summary["hosts"]:
        assert (
            host["name"].lower() not in text
            and f'"{host["ip"]}' not in text
            and f"'{host['ip']}'" not in text
        )
    assert summary["config"]["start"][:16] not in text  # no simulated event time either


def test_benign_writes_no_feed(runs: dict[str, Path]) -> None:
    assert json.loads((runs["benign"] / "ground_truth.json").read_text())["intel"] is None
    assert not (runs["benign"] / "intel").exists()


def test_indicator_phase_must_be_a_kill_chain_phase() -> None:
    with pytest.raises(ValueError, match="kill-chain phase"):
        FeedIndicator("lateral-movement", "bad", (("ipv4-addr:value", "198.51.100.1"),))
    both = FeedIndicator("weaponization", "doc", (("file:name", "a.doc"), ("file:hashes.'SHA-256'", "ab")))
    assert both.pattern == "[file:name = 'a.doc' AND file:hashes.'SHA-256' = 'ab']"
