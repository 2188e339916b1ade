"""Correlation: entities and links, alerts -> incidents, kill-chain progression, scores.

The pipeline calls::

    learner = EntityLearner()
    for batch in batches:
        learner.observe(batch)          # learns address -> host from logons, Sysmon 3, DHCP, NTLM
    incidents = build_incidents(alerts, learner.links, config)   # ranked by score
"""

from chainbreaker.correlate.entities import normalise_address, normalise_host, normalise_user
from chainbreaker.correlate.incidents import build_incidents, incident_id
from chainbreaker.correlate.links import EntityLearner, EntityLinks
from chainbreaker.correlate.progression import alert_phases, progression
from chainbreaker.correlate.settings import CorrelateSettings
from chainbreaker.correlate.summary import killchain_bar, render_incidents

__all__ = [
    "CorrelateSettings",
    "EntityLearner",
    "EntityLinks",
    "alert_phases",
    "build_incidents",
    "incident_id",
    "killchain_bar",
    "normalise_address",
    "normalise_host",
    "normalise_user",
    "progression",
    "render_incidents",
]
