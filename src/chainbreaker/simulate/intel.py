"""The campaign's threat-intelligence feed, as a SOC would receive it: a STIX 2.1 bundle.

An attack scenario describes what a threat-intel provider publishes about its campaign (the
infrastructure addresses and domains, the maldoc or toolkit file, each indicator with the Lockheed
Martin kill-chain phase it is seen in); :func:`write_feed` writes it as ``OUT/intel/campaign.json``:
an identity (the provider), an intrusion set, a campaign attributed to it, one indicator per
entry ``indicates`` the campaign, and a report grouping them all. It says nothing a feed could not
know: no host names, records or timings of our network.

Built with the stix2 library (it validates every object); ids are UUIDv5 of the scenario and the
indicator and timestamps derive from the simulated window, so the same run writes the same bytes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import stix2

from chainbreaker.simulate.model import KILLCHAIN_PHASE_IDS

INTEL_DIR = "intel"
FEED_FILE = "campaign.json"
KILL_CHAIN_NAME = "lockheed-martin-cyber-kill-chain"
#: Namespace of the deterministic STIX ids the simulator writes.
_NAMESPACE = uuid.UUID("5d1c4c8e-2f0b-4b8e-9c55-6a3f1e0d7b21")


@dataclass(frozen=True, slots=True)
class FeedIndicator:
    """One indicator: comparisons ANDed in one pattern, e.g. (("ipv4-addr:value", "198.51.100.7"),)."""

    phase: str  # Lockheed Martin kill-chain phase id the indicator is seen in
    name: str
    comparisons: tuple[tuple[str, str], ...]
    confidence: int = 80
    indicator_type: str = "malicious-activity"

    def __post_init__(self) -> None:
        if self.phase not in KILLCHAIN_PHASE_IDS:
            raise ValueError(f"unknown kill-chain phase {self.phase!r} for indicator {self.name!r}")

    @property
    def pattern(self) -> str:
        parts = (f"{path} = '{value}'" for path, value in self.comparisons)
        return "[" + " AND ".join(parts) + "]"


@dataclass(frozen=True, slots=True)
class CampaignIntel:
    """What a provider reports about the campaign a scenario plays."""

    campaign: str
    intrusion_set: str
    description: str
    indicators: tuple[FeedIndicator, ...]
    provider: str = "Example Threat Intelligence (simulated)"
    published_days_before: int = 3  # the report came out this many days before the window starts


def _id(kind: str, scenario: str, key: str) -> str:
    return f"{kind}--{uuid.uuid5(_NAMESPACE, f'{scenario}:{kind}:{key}')}"


def feed_bundle(scenario: str, intel: CampaignIntel, window_start: float) -> stix2.Bundle:
    day = datetime.fromtimestamp(window_start, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    published = day - timedelta(days=intel.published_days_before)
    first_seen = published - timedelta(days=14)
    provider = stix2.Identity(
        id=_id("identity", scenario, intel.provider),
        created=published,
        modified=published,
        name=intel.provider,
        identity_class="organization",
    )
    common = {"created": published, "modified": published, "created_by_ref": provider.id}
    actor = stix2.IntrusionSet(
        id=_id("intrusion-set", scenario, intel.intrusion_set), name=intel.intrusion_set, **common
    )
    campaign = stix2.Campaign(
        id=_id("campaign", scenario, intel.campaign),
        name=intel.campaign,
        description=intel.description,
        first_seen=first_seen,
        **common,
    )

    def relate(source: Any, kind: str, target: Any) -> stix2.Relationship:
        """A relationship with an id derived from its source and kind, so the feed is stable."""
        return stix2.Relationship(
            id=_id("relationship", scenario, f"{source.id}:{kind}"),
            relationship_type=kind,
            source_ref=source.id,
            target_ref=target.id,
            **common,
        )

    objects: list[object] = [provider, actor, campaign, relate(campaign, "attributed-to", actor)]
    for entry in intel.indicators:
        indicator = stix2.Indicator(
            id=_id("indicator", scenario, entry.pattern),
            name=entry.name,
            pattern=entry.pattern,
            pattern_type="stix",
            valid_from=first_seen,
            indicator_types=[entry.indicator_type],
            kill_chain_phases=[stix2.KillChainPhase(kill_chain_name=KILL_CHAIN_NAME, phase_name=entry.phase)],
            confidence=entry.confidence,
            **common,
        )
        objects.append(indicator)
        objects.append(relate(indicator, "indicates", campaign))
    report = stix2.Report(
        id=_id("report", scenario, intel.campaign),
        name=f"{intel.campaign}: indicators",
        description=intel.description,
        published=published,
        report_types=["campaign"],
        object_refs=[getattr(o, "id") for o in objects[1:]],  # noqa: B009 - stix2 objects are untyped
        **common,
    )
    objects.append(report)
    return stix2.Bundle(objects, id=_id("bundle", scenario, intel.campaign))


def write_feed(out: Path, scenario: str, intel: CampaignIntel, window_start: float) -> Path:
    """Write ``out/intel/campaign.json``; returns its path."""
    folder = out / INTEL_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / FEED_FILE
    path.write_text(
        feed_bundle(scenario, intel, window_start).serialize(pretty=True) + "\n", encoding="utf-8"
    )
    return path
