"""Regenerate the bundled demo scenario set: ``python -m chainbreaker.simulate.demo [DEMO_DIR]``.

The demo is committed under demo/ (see docs/SCENARIOS.md); this command rewrites it byte for
byte from the fixed settings below, so a diff after running it means the simulator changed.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from chainbreaker.simulate.engine import SimulationResult, simulate
from chainbreaker.simulate.model import SimConfig

#: scenario -> settings of the bundled demo (4 Windows hosts, ~3.6 hours of a Monday morning).
DEMO_SETS: dict[str, SimConfig] = {
    "lockbit": SimConfig(
        hosts=4, days=0.15, noise=40.0, seed=2026, start=datetime(2026, 1, 5, 8, 30, tzinfo=UTC)
    ),
}


def default_demo_dir() -> Path:
    """demo/ at the repository root (this file is src/chainbreaker/simulate/demo.py)."""
    return Path(__file__).resolve().parents[3] / "demo"


def regenerate(root: Path) -> list[SimulationResult]:
    return [simulate(name, root / name, config, force=True) for name, config in DEMO_SETS.items()]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    root = Path(args[0]) if args else default_demo_dir()
    for result in regenerate(root):
        # This module is a script entry point (python -m), not library code, so it reports on stdout.
        print(f"{result.out}: {result.events} events, {result.malicious} malicious")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
