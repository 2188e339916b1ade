"""Attack scenarios, one module each; importing this package registers them all."""

from chainbreaker.simulate.scenarios import benign, blackcat, clop, lockbit  # noqa: F401
from chainbreaker.simulate.scenarios.base import Plan, Scenario, get_scenario, register, scenario_names

__all__ = ["Plan", "Scenario", "get_scenario", "register", "scenario_names"]
