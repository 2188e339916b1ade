"""Threat intelligence: indicator loading (STIX 2.1, MISP, CSV/text) and vectorised matching."""

from chainbreaker.detect.intel.indicators import KINDS
from chainbreaker.detect.intel.loaders import load_file, load_indicators
from chainbreaker.detect.intel.matcher import IntelDetector

__all__ = ["KINDS", "IntelDetector", "load_file", "load_indicators"]
