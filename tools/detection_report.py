"""Detection quality on the public corpora, per tactic (docs/DETECTION.md).

Runs ``chainbreaker hunt`` (SigmaHQ rules/windows, web and network + the shipped rules + the analytics, with
correlation) over evtx-attack-samples and the OTRF atomic datasets, scores each result with
``chainbreaker eval`` and prints Markdown tables: per-tactic recall/precision, the same with the
pre-v19 "Defense Evasion" read as Stealth *or* Defense Impairment (ATT&CK v19 split the old tactic
in two, and SigmaHQ already tags impair-defence rules `attack.defense-impairment`), alerts per
file (noise), and the incidents with their kill-chain phases.

    .venv/bin/python tools/detection_report.py [--datasets DIR] [--out DIR] [--reuse] [--shipped DIR]

``--reuse`` scores result documents already in ``--out`` instead of hunting again.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from chainbreaker.evaluate.labels import FileLabels, load_labels

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "chainbreaker"]
#: The whole shipped rule folder (base rules under sigma/ and the correlation rules under
#: correlation/), as a hunt without --sigma loads it; pass 1 and 2 used sigma/ only, so the
#: shipped correlation rules did not run in their figures.
SHIPPED = ROOT / "src" / "chainbreaker" / "rules"
#: Pre-v19 Defense Evasion = today's Stealth + Defense Impairment.
SPLIT = {"stealth": {"stealth", "defense-impairment"}}


def run(args: list[str]) -> str:
    done = subprocess.run(CLI + args, check=True, capture_output=True, text=True, cwd=ROOT)
    return done.stdout


def hunt(paths: list[Path], sigma: list[Path], out: Path, reuse: bool) -> dict[str, Any]:
    if not (reuse and out.is_file()):
        args = ["hunt", *map(str, paths), "--json", str(out), "--workers", "1", "--format", "json"]
        for folder in sigma:
            args += ["--sigma", str(folder)]
        run(args)
    doc: dict[str, Any] = json.loads(out.read_text())
    return doc


def cited_files(alert: dict[str, Any]) -> set[str]:
    refs = alert.get("event_refs") or [alert["event_ref"]]
    return {r["file"].replace("\\", "/").split("!", 1)[0] for r in refs if r}


def label_of(path: str, labels: FileLabels) -> str | None:
    """The labelled file that ``path`` is (whole-component suffix match, as eval does)."""
    for name in labels.tactics:
        if path == name or path.endswith("/" + name):
            return name
    return None


def present_labels(root: Path, labels: FileLabels) -> set[str]:
    """The labelled files that exist under ``root`` (OTRF's metadata also lists datasets, such as
    its pcap members and host archives, that the corpus copy does not hold)."""
    found = (label_of(str(path), labels) for path in root.rglob("*") if path.is_file())
    return {name for name in found if name is not None}


def per_tactic(doc: dict[str, Any], labels: FileLabels, only: set[str] | None = None) -> list[dict[str, Any]]:
    """Recall per labelled tactic, strict (eval's rule) and split-aware, plus alerts per file
    (``only``: score these labelled files, not every one the labels name)."""
    tactics_of: dict[str, set[str]] = defaultdict(set)
    alerts_of: Counter[str] = Counter()
    for alert in doc["alerts"]:
        for path in cited_files(alert):
            name = label_of(path, labels)
            if name is not None:
                tactics_of[name].update(alert["tactics"])
                alerts_of[name] += 1
    rows: dict[str, dict[str, Any]] = {}
    for name, wanted in labels.tactics.items():
        if only is not None and name not in only:
            continue
        for tactic in wanted:
            row = rows.setdefault(
                tactic, {"tactic": tactic, "files": 0, "strict": 0, "split": 0, "any": 0, "alerts": []}
            )
            row["files"] += 1
            row["strict"] += tactic in tactics_of[name]
            row["split"] += bool(SPLIT.get(tactic, {tactic}) & tactics_of[name])
            row["any"] += alerts_of[name] > 0
            row["alerts"].append(alerts_of[name])
    return sorted(rows.values(), key=lambda r: r["tactic"])


def tactic_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| tactic | files | right tactic | (stealth or defense-impairment) | any alert"
        " | alerts/file median | max |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    total = Counter[str]()
    for r in rows:
        split = f"{r['split']} ({r['split'] / r['files']:.0%})" if r["tactic"] in SPLIT else ""
        lines.append(
            f"| {r['tactic']} | {r['files']} | {r['strict']} ({r['strict'] / r['files']:.0%}) | {split} | "
            f"{r['any']} | {statistics.median(r['alerts']):g} | {max(r['alerts'])} |"
        )
        for key in ("files", "strict", "split", "any"):
            total[key] += r[key]
    lines.append(
        f"| **all** | {total['files']} | {total['strict']} ({total['strict'] / total['files']:.0%}) | "
        f"{total['split']} ({total['split'] / total['files']:.0%}) | {total['any']} | | |"
    )
    return "\n".join(lines)


def eval_table(result: Path, labels: Path) -> str:
    scored = json.loads(run(["eval", "--labels", str(labels), "--result", str(result), "--format", "json"]))
    lines = ["| tactic | truth | detected | recall | precision |", "|---|---:|---:|---:|---:|"]
    for r in scored["tactics"]:
        recall = "" if r["recall"] is None else f"{r['recall']:.0%}"
        precision = "" if r["precision"] is None else f"{r['precision']:.0%}"
        lines.append(f"| {r['key']} | {r['truth']} | {r['detected']} | {recall} | {precision} |")
    return "\n".join(lines)


def incidents(doc: dict[str, Any]) -> str:
    phases: Counter[str] = Counter()
    reached: Counter[int] = Counter()
    for incident in doc["incidents"]:
        phases.update(incident["killchain_phases"])
        reached[len(incident["killchain_phases"])] += 1
    spread = ", ".join(f"{n} phase(s): {c}" for n, c in sorted(reached.items()))
    per_phase = ", ".join(f"{p} {c}" for p, c in phases.most_common())
    return f"{len(doc['incidents'])} incidents ({spread}); incidents per kill-chain phase: {per_phase}"


def noise(doc: dict[str, Any]) -> str:
    per_file: Counter[str] = Counter()
    for alert in doc["alerts"]:
        for path in cited_files(alert):
            per_file[path] += 1
    counts = sorted(per_file.values())
    return (
        f"{len(doc['alerts'])} alerts on {len(counts)} files; per file with an alert: median "
        f"{statistics.median(counts):g}, 90th percentile {counts[int(len(counts) * 0.9)]}, max {counts[-1]}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=Path, default=Path("/root/.cache/chainbreaker-datasets"))
    parser.add_argument("--out", type=Path, default=Path("/tmp/chainbreaker-detection"))
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument(
        "--shipped", type=Path, default=SHIPPED, help="shipped rule folder (to compare versions)"
    )
    opts = parser.parse_args()
    opts.out.mkdir(parents=True, exist_ok=True)
    sigmahq = opts.datasets / "sigma" / "sigma" / "rules"
    # the Windows rules, and the web server and network (DNS) rules for the samples that are
    # IIS/Apache logs and packet captures
    sigma = [sigmahq / "windows", sigmahq / "web", sigmahq / "network", opts.shipped]

    evtx = opts.datasets / "evtx-attack-samples" / "EVTX-ATTACK-SAMPLES"
    evtx_labels = load_labels(evtx)
    assert isinstance(evtx_labels, FileLabels)
    evtx_doc = hunt([evtx], sigma, opts.out / "evtx.json", opts.reuse)
    print("## evtx-attack-samples\n")
    print(tactic_table(per_tactic(evtx_doc, evtx_labels)) + "\n")
    print("`chainbreaker eval` (split-aware for the pre-v19 Defense Evasion folder):\n")
    print(eval_table(opts.out / "evtx.json", evtx) + "\n")
    print(noise(evtx_doc) + "\n")
    print(incidents(evtx_doc) + "\n")

    otrf = opts.datasets / "otrf-atomic" / "Security-Datasets"
    otrf_labels = load_labels(otrf / "datasets" / "atomic" / "_metadata")
    assert isinstance(otrf_labels, FileLabels)
    otrf_doc = hunt([otrf / "datasets" / "atomic" / "windows"], sigma, opts.out / "otrf.json", opts.reuse)
    print("## OTRF Security-Datasets (atomic/windows)\n")
    print(tactic_table(per_tactic(otrf_doc, otrf_labels)) + "\n")
    present = present_labels(otrf / "datasets" / "atomic", otrf_labels)
    print(f"Only the {len(present)} of {len(otrf_labels.tactics)} labelled files the corpus holds:\n")
    print(tactic_table(per_tactic(otrf_doc, otrf_labels, present)) + "\n")
    print(noise(otrf_doc) + "\n")
    print(incidents(otrf_doc) + "\n")


if __name__ == "__main__":
    main()
