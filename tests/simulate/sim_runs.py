"""The small simulated runs the simulator tests read (one per scenario), imported by basename
(``from sim_runs import SMALL, ATTACKS``); the ``runs`` fixture of conftest.py builds them once."""

from __future__ import annotations

from chainbreaker.simulate import SimConfig

#: Scenario -> configuration: a few hosts over a few hours, enough for every phase to show.
SMALL = {
    name: SimConfig(hosts=hosts, days=0.2, noise=20, seed=seed)
    for name, hosts, seed in (("lockbit", 5, 11), ("clop", 4, 12), ("blackcat", 5, 13), ("benign", 4, 14))
}
ATTACKS = ("lockbit", "clop", "blackcat")
