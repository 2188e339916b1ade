"""Attack-scenario simulator: realistic multi-source telemetry plus ground truth.

``simulate("lockbit", Path("out"), SimConfig(hosts=6, days=1, seed=7))`` writes
``out/logs/...`` (Windows evtx_dump-style JSONL, Zeek TSV, Suricata EVE, Linux auth.log) and
``out/ground_truth.jsonl`` / ``out/ground_truth.json``. See docs/SCENARIOS.md.
"""

from chainbreaker.simulate.engine import SimulationResult, simulate
from chainbreaker.simulate.model import DEFAULT_NOISE, DEFAULT_START, Label, SimConfig
from chainbreaker.simulate.scenarios import get_scenario, scenario_names

__all__ = [
    "DEFAULT_NOISE",
    "DEFAULT_START",
    "Label",
    "SimConfig",
    "SimulationResult",
    "get_scenario",
    "scenario_names",
    "simulate",
]
