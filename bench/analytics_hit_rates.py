"""Per-folder hit rates of the behavioural analytics on the public Windows corpora, and the alert
count of each network analytic on the busy zeek-wrccdc traffic (false-positive check).

Run: .venv/bin/python bench/analytics_hit_rates.py [--datasets ROOT]
Prints Markdown tables (pasted into docs/ANALYTICS.md). Each input file is analysed on its own:
"fired" = at least one analytic alert; "family" = an alert from an analytic whose ATT&CK tactics
include the folder's tactic (credential access, lateral movement, persistence...).
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter, defaultdict
from pathlib import Path

from chainbreaker.alerts import Alert
from chainbreaker.detect.analytics import AnalyticsDetector, build_analytics
from chainbreaker.readers import read_paths
from chainbreaker.readers.base import ReadReport

DEFAULT_ROOT = Path(os.environ.get("CHAINBREAKER_DATASETS", Path.home() / ".cache" / "chainbreaker-datasets"))
FOCUS = ("credential-access", "lateral-movement", "persistence")


def analyse(paths: list[Path]) -> list[Alert]:
    detector = AnalyticsDetector()
    for batch in read_paths(paths, ReadReport()):
        detector.observe(batch)
    return detector.finish()


def tactic_of(folder: str) -> str:
    return folder.strip().lower().replace(" ", "-").replace("_", "-")


def folder_rates(files: dict[str, list[Path]]) -> list[str]:
    tactics = {a.id: set(a.tactics) for a in build_analytics()}
    lines = ["| folder | files | fired | family | analytics that fired (files) |", "|---|---|---|---|---|"]
    for folder in sorted(files):
        fired = family = 0
        which: Counter[str] = Counter()
        for path in files[folder]:
            alerts = analyse([path])
            ids = {a.rule_id for a in alerts}
            which.update(ids)
            fired += bool(ids)
            family += any(tactic_of(folder) in tactics[i] for i in ids)
        n = len(files[folder])
        top = ", ".join(f"{k} ({v})" for k, v in which.most_common(6))
        mark = "**" if tactic_of(folder) in FOCUS else ""
        rates = f"{fired} ({fired / n:.0%}) | {family} ({family / n:.0%})"
        lines.append(f"| {mark}{folder}{mark} | {n} | {rates} | {top} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--datasets", type=Path, default=DEFAULT_ROOT)
    root = parser.parse_args().datasets
    start = time.perf_counter()
    evtx = root / "evtx-attack-samples" / "EVTX-ATTACK-SAMPLES"
    files: dict[str, list[Path]] = defaultdict(list)
    for path in sorted(evtx.rglob("*.evtx")):
        files[path.relative_to(evtx).parts[0]].append(path)
    print("### evtx-attack-samples (one file at a time)\n")
    print("\n".join(folder_rates(files)))
    atomic = root / "otrf-atomic" / "Security-Datasets" / "datasets" / "atomic" / "windows"
    files = defaultdict(list)
    for path in sorted(atomic.rglob("*.zip")):
        files[path.relative_to(atomic).parts[0]].append(path)
    print("\n### otrf-atomic (one dataset at a time)\n")
    print("\n".join(folder_rates(files)))
    wrccdc = root / "zeek-wrccdc"
    alerts = analyse([wrccdc])
    counts = Counter(a.rule_id for a in alerts)
    network = [
        a
        for a in build_analytics()
        if a.sources & {"zeek.conn", "zeek.dns", "zeek.http", "zeek.dce_rpc", "suricata.flow"}
    ]
    print("\n### zeek-wrccdc: alerts per network analytic (false-positive check)\n")
    print("| analytic | alerts |\n|---|---|")
    for analytic in network:
        print(f"| {analytic.id} | {counts.get(analytic.id, 0)} |")
    for alert in alerts[:20]:
        print(f"<!-- {alert.rule_id}: {alert.description[:160]} -->")
    print(f"\n(computed in {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
