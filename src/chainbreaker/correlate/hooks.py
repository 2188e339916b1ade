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
from chainbreaker.detect.interest import Interest, Where

#: The columns :class:`EntityLearner` reads (correlate/links.py ``_pairs_from``): event id, time,
#: logon client and address, Sysmon 3's endpoints and direction, Zeek DHCP and NTLM names.
LEARNED_COLUMNS = frozenset(
    {"source", "provider", "event_code", "timestamp", "host", "WorkstationName", "IpAddress", "src_ip",
     "SourceIp", "DestinationIp", "dst_ip", "Initiated", "host_name", "client_fqdn", "assigned_addr",
     "hostname", "id.orig_h"}
)  # fmt: skip

#: The rows :class:`EntityLearner` may learn a pair from, or more (never fewer): logons (4624,
#: 4625), network connections (event 3; the learner checks it is Sysmon's), DHCP leases (an
#: assigned address) and Zeek NTLM records. Kept in step with correlate/links.py ``_pairs_from``
#: (tests/detect/test_detect_interest.py compares the pairs learnt from projected batches).
LEARNED_ROWS: tuple[Where, ...] = (("event_code", frozenset({3, 4624, 4625})), ("assigned_addr", None))
LEARNED_SOURCES = frozenset({"zeek.ntlm"})


class LinkLearner(Detector):
    name = "entity-links"
    description = "Learns which address belongs to which host (logons, Sysmon 3, DHCP, NTLM); no alerts."

    def __init__(self) -> None:
        self.learner = EntityLearner()

    def observe(self, batch: pl.DataFrame) -> list[Alert]:
        self.learner.observe(batch)
        return []

    def interest(self) -> Interest:
        """The rows and columns the address -> host pairs come from (see :data:`LEARNED_ROWS`)."""
        return Interest(columns=LEARNED_COLUMNS, sources=LEARNED_SOURCES, where=LEARNED_ROWS)


def correlation_step(learner: LinkLearner, config: Mapping[str, Any] | None = None) -> Callable[[Any], None]:
    """A post-processor: ``result.incidents`` = the incidents of ``result.alerts``, as dicts.

    Settings are checked here, before the (long) run starts, so a bad ``[correlate]`` fails early.
    """
    CorrelateSettings.from_mapping(config)

    def step(result: Any) -> None:
        incidents = build_incidents(result.alerts, learner.learner.links, config)
        result.incidents = [incident.as_dict() for incident in incidents]

    return step
