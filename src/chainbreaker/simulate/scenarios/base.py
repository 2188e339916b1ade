"""Scenario interface and registry. A scenario plans attack activities over the simulated network."""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Callable
from functools import partial
from typing import Any, ClassVar

from chainbreaker.errors import UnknownIdError
from chainbreaker.simulate.intel import CampaignIntel
from chainbreaker.simulate.model import Environment
from chainbreaker.simulate.telemetry import Telemetry

Activity = tuple[float, Callable[[Telemetry], None]]


def _call(fn: Callable[[Telemetry, float], None], t: float, tel: Telemetry) -> None:
    fn(tel, t)


class Plan:
    """Attack activities at offsets (seconds) from the attack's start, plus state the steps share."""

    def __init__(self, start: float) -> None:
        self.start = start
        self.items: list[Activity] = []
        self.state: dict[str, Any] = {}

    def at(self, offset: float, fn: Callable[[Telemetry, float], None]) -> None:
        t = self.start + offset
        self.items.append((t, partial(_call, fn, t)))

    def sorted(self) -> list[Activity]:
        return sorted(self.items, key=lambda a: a[0])


class Scenario(ABC):
    name: ClassVar[str]
    description: ClassVar[str]
    #: Extra host roles the scenario needs besides dc, fileserver and workstations.
    roles: ClassVar[tuple[str, ...]] = ()
    #: Seconds from the attack's start to its last step (the window must be longer).
    duration: ClassVar[float] = 0.0
    #: Seconds into the window at which the attack starts (at most; shorter windows start earlier).
    lead_in: ClassVar[float] = 2 * 3600.0
    #: What threat intelligence publishes about the campaign (written as OUT/intel/campaign.json).
    intel: ClassVar[CampaignIntel | None] = None

    @abstractmethod
    def plan(self, env: Environment, rng: random.Random, start: float) -> Plan:
        """The attack's activities, starting at ``start`` (epoch seconds)."""


_REGISTRY: dict[str, type[Scenario]] = {}


def register(cls: type[Scenario]) -> type[Scenario]:
    if cls.name in _REGISTRY:
        raise ValueError(f"scenario {cls.name!r} is already registered")
    _REGISTRY[cls.name] = cls
    return cls


def scenario_names() -> list[str]:
    return sorted(_REGISTRY)


def get_scenario(name: str) -> Scenario:
    try:
        return _REGISTRY[name]()
    except KeyError:
        import difflib

        raise UnknownIdError(
            "scenario", name, difflib.get_close_matches(name, list(_REGISTRY)) or scenario_names()
        ) from None
