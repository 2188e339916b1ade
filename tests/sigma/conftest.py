"""Fixtures of the Sigma engine tests: the SigmaHQ corpus compiled once per session."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from chainbreaker.detect.sigma import RuleSet, load_rules

SIGMAHQ_FOLDERS = ("rules", "rules-emerging-threats", "rules-threat-hunting")


@pytest.fixture(scope="session")
def sigmahq(dataset: Callable[[str], Path]) -> Path:
    """The SigmaHQ repository folder of the ``sigma`` corpus."""
    return dataset("sigma") / "sigma"


@pytest.fixture(scope="session")
def sigmahq_rules(sigmahq: Path, tmp_path_factory: pytest.TempPathFactory) -> RuleSet:
    """Every SigmaHQ rule, compiled afresh (a private cache dir, so no earlier run is reused)."""
    cache = tmp_path_factory.mktemp("sigma-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CHAINBREAKER_CACHE_DIR", str(cache))
        return load_rules([sigmahq / f for f in SIGMAHQ_FOLDERS])
