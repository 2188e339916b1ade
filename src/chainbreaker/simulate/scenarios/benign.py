"""Noise only: the same network and benign activity, no attacker (false-positive rates)."""

from __future__ import annotations

import random

from chainbreaker.simulate.model import Environment
from chainbreaker.simulate.scenarios.base import Plan, Scenario, register


@register
class Benign(Scenario):
    name = "benign"
    description = "ordinary users and servers only; no attack"

    def plan(self, env: Environment, rng: random.Random, start: float) -> Plan:
        return Plan(start)
