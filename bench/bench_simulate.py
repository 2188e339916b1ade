"""Benchmark: `chainbreaker simulate` throughput (events/s) and peak memory at 1,000,000 events.

Run:  .venv/bin/python bench/bench_simulate.py [EVENTS] [--hosts H] [--scenario NAME]
      (default 1,000,000 events, 50 hosts, lockbit; for the 10M corpus: ... 10000000 --hosts 200).

A pilot run over one simulated day measures events per day for the chosen hosts; the window is
then sized to reach EVENTS. Each measured run is a fresh process so that its peak RSS
(ru_maxrss) is its own; two sizes (EVENTS/5 and EVENTS) show that memory stays flat as volume
grows. Output goes to a temporary folder that is removed afterwards.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

from chainbreaker.simulate import SimConfig, simulate


def child(scenario: str, hosts: int, days: float, out: Path) -> None:
    result = simulate(scenario, out, SimConfig(hosts=hosts, days=days, seed=1), force=True)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    usage = resource.getrusage(resource.RUSAGE_SELF)
    rss_mb = usage.ru_maxrss / 1024  # Linux: KiB
    cpu = usage.ru_utime + usage.ru_stime
    print(
        json.dumps(
            {"events": result.events, "seconds": result.seconds, "cpu": cpu, "rss_mb": rss_mb, "bytes": size}
        )
    )


def measure(scenario: str, hosts: int, days: float, out: Path) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--child", scenario, str(hosts), repr(days), str(out)]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _, _, scenario, hosts, days, out = sys.argv
        child(scenario, int(hosts), float(days), Path(out))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("events", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--scenario", default="lockbit")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-simulate-") as tmp:
        # A week of 10 hosts (weekends are quiet) gives events per host-day; volume scales with hosts.
        pilot = measure(args.scenario, 10, 7.0, Path(tmp) / "pilot")
        per_day = pilot["events"] / 7 / 10 * args.hosts
        print(f"pilot (10 hosts, 7 days) -> {pilot['events']:,}; ~{per_day:,.0f}/day at {args.hosts} hosts")
        header = (
            "events",
            "days",
            "wall s",
            "events/s",
            "CPU s",
            "events/CPU s",
            "peak RSS MB",
            "MB written",
        )
        print("".join(f"{h:>14}" for h in header))
        for target in (args.events // 5, args.events):
            days = min(366.0, max(0.2, round(target / per_day, 2)))
            run = measure(args.scenario, args.hosts, days, Path(tmp) / f"run{target}")
            rate = run["events"] / run["seconds"]
            cells = (
                f"{run['events']:,}",
                str(days),
                f"{run['seconds']:.1f}",
                f"{rate:,.0f}",
                f"{run['cpu']:.1f}",
                f"{run['events'] / run['cpu']:,.0f}",
                f"{run['rss_mb']:.0f}",
                f"{run['bytes'] / 1e6:.0f}",
            )
            print("".join(f"{c:>14}" for c in cells))


if __name__ == "__main__":
    main()
