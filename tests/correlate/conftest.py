"""Correlation test fixtures: alerts are built with tests/store/store_scenario.py's ``make_alert``
(tags parsed and phases mapped as the detectors do), so that folder goes on the import path."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "store"))
