"""Simulator fixtures: the output and intel-feed tests read the same runs, simulated once a session."""

from __future__ import annotations

from pathlib import Path

import pytest
from sim_runs import SMALL

from chainbreaker.simulate import simulate


@pytest.fixture(scope="session")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Scenario name -> output folder of one small run (configs in sim_runs.SMALL)."""
    out = {}
    for name, config in SMALL.items():
        folder = tmp_path_factory.mktemp(name)
        simulate(name, folder, config)
        out[name] = folder
    return out
