"""Fixtures of the output tests: the result document built in outputs_scenario."""

from __future__ import annotations

from typing import Any

import pytest
from outputs_scenario import build_result  # type: ignore[import-not-found]


@pytest.fixture
def result() -> dict[str, Any]:
    return build_result()
