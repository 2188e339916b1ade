"""The whole hunt (real readers, Sigma engine, analytics) with correlation on the bundled demo
scenario, judged against the scenario's own ground truth file (not against numbers written here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parents[2] / "demo" / "lockbit"


@pytest.mark.skipif(not (DEMO / "ground_truth.json").exists(), reason="demo data not present")
def test_demo_intrusion_is_one_incident_on_the_attacked_hosts() -> None:
    from chainbreaker.correlate.hooks import LinkLearner, correlation_step
    from chainbreaker.detect.analytics import AnalyticsDetector
    from chainbreaker.pipeline import HuntOptions, hunt

    truth = json.loads((DEMO / "ground_truth.json").read_text())
    (expected,) = truth["incidents"]
    learner = LinkLearner()
    result = hunt(
        [DEMO / "logs"],
        HuntOptions(workers=1),
        extra_detectors=[learner, AnalyticsDetector()],
        post=[correlation_step(learner, {})],
    )
    assert result.incidents, "the intrusion opens an incident"
    top = result.incidents[0]  # ranked by score
    assert set(top["hosts"]) == set(expected["hosts"])
    assert set(top["killchain_phases"]) <= set(expected["phases"])
    assert top["break_at"] == min(top["killchain_phases"], key=expected["phases"].index)
    assert top["first_seen"] >= expected["first_event"][:19]
    # Whatever the scenario's noise raised stays out of the intrusion's incident.
    attacked = {h.lower() for h in expected["hosts"]}
    for alert in result.alerts:
        if alert.id in top["alert_ids"] and alert.host:
            assert alert.host.split(".")[0].lower() in attacked
