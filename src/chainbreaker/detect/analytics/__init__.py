"""Behavioural analytics, one module per analytic family; importing this package registers them all."""

from chainbreaker.detect.analytics import (  # noqa: F401  (importing registers)
    accounts,
    c2,
    credential,
    credential_dumping,
    delivery,
    discovery,
    dns,
    exploitation,
    http,
    impact,
    lateral,
    netlogon,
    persistence,
    recon,
    sessions,
)
from chainbreaker.detect.analytics.base import Analytic, Params, param
from chainbreaker.detect.analytics.detector import AnalyticsDetector
from chainbreaker.detect.analytics.registry import (
    analytic_class,
    build_analytics,
    register,
    registered_analytics,
)

__all__ = [
    "Analytic",
    "AnalyticsDetector",
    "Params",
    "analytic_class",
    "build_analytics",
    "param",
    "register",
    "registered_analytics",
]
