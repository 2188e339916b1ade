"""Hooks that plug correlation into the hunt pipeline (chainbreaker.pipeline).

``hunt(paths, options, extra_detectors=[learner], post=[correlation_step(learner, config)])``:
:class:`LinkLearner` rides along the detectors to see every batch (it raises no alerts, it learns
address -> host pairs), and the post-processing step turns the run's alerts into incidents.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import polars as pl

from chainbreaker.alerts import Alert
from chainbreaker.correlate.incidents import build_incidents
from chainbreaker.correlate.links import EntityLearner
from chainbreaker.correlate.settings import CorrelateSettings
from chainbreaker.detect.base import Detector


class LinkLearner(Detector):
    name = "entity-links"
    description = "Learns which address belongs to which host (logons, Sysmon 3, DHCP, NTLM); no alerts."

    def __init__(self) -> None:
        self.learner = EntityLearner()

    def observe(self, batch: pl.DataFrame) -> list[Alert]:
        self.learner.observe(batch)
        return []


def correlation_step(learner: LinkLearner, config: Mapping[str, Any] | None = None) -> Callable[[Any], None]:
    """A post-processor: ``result.incidents`` = the incidents of ``result.alerts``, as dicts.

    Settings are checked here, before the (long) run starts, so a bad ``[correlate]`` fails early.
    """
    CorrelateSettings.from_mapping(config)

    def step(result: Any) -> None:
        incidents = build_incidents(result.alerts, learner.learner.links, config)
        result.incidents = [incident.as_dict() for incident in incidents]

    return step
