"""Hunt benchmark: read + every SigmaHQ Windows rule over evtx-attack-samples repeated N times.

Prints records/s, rule evaluations/s, the time split (rules load, read + detect) and peak memory
(this process and the reader processes). The repeats are symlinks in a temporary folder, never
copies. Usage:

    .venv/bin/python bench/bench_hunt.py [--repeat 50] [--workers 2] [--profile-rules] [--in-main]
        [--all-detectors] [--whole-batches] [--alerts-out FILE] [--transfer] [--floor]

Sigma alone by default (``--all-detectors``: also analytics, verdicts and incidents, as a
``chainbreaker hunt`` runs). The rules run in the reader processes (as a hunt does); ``--in-main``
evaluates them in the main process instead, for comparison. The reader processes send only the rows
and columns the detectors declare they read (detect/interest.py); ``--whole-batches`` adds a
detector that declares nothing, so whole batches cross as before that projection (for comparison:
same alerts, more transfer); ``--transfer`` only prints what would cross (rows, cells, LZ4 IPC
bytes) for one pass over the EVTX files, for each interest. ``--alerts-out`` writes the sorted
(rule id, event) list, to check that a change of the engine left every alert as it was (``cmp``
two lists). ``--floor`` then times the bare ``evtx`` parse of the same links (bench_ingest.py's
floor, in one and two processes) and prints the hunt's ratio to each.

Needs the shared corpora (``../shared/datasets``: evtx-attack-samples and sigma).
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import polars as pl

from chainbreaker.alerts import Alert
from chainbreaker.detect.base import Detector

ROOT = Path(__file__).resolve().parent.parent
UNPACK = ROOT.parent / "shared" / "datasets" / "unpack"


def corpus(name: str) -> Path:
    out = subprocess.run(["bash", str(UNPACK), name], check=True, capture_output=True, text=True)
    return Path(out.stdout.strip().splitlines()[-1])


def peak_mib() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


class ReadsEverything(Detector):
    """Raises nothing and declares no interest (``--whole-batches``): the readers send every row
    and column, as before they sent only what the detectors read."""

    name = "reads-everything"

    def observe(self, batch: pl.DataFrame) -> list[Alert]:
        return []


def bare_parse(paths: list[str]) -> list[tuple[int, dict[str, Any]]]:
    """The reader floor over the hunt's own links: bench_ingest's bare parse, in 1 and 2 processes."""
    from bench_ingest import floor  # the script's folder is on sys.path (and the spawned workers')

    return [(processes, floor(paths, processes)) for processes in (1, 2)]


def transfer(files: list[Path], rules: list[Any]) -> None:
    """Rows, cells and LZ4 Arrow IPC bytes the reader workers send for one pass over ``files``:
    whole batches, and projected to a Sigma-only and a default hunt's interests (in this process)."""
    from chainbreaker.correlate.hooks import LinkLearner
    from chainbreaker.detect.analytics import AnalyticsDetector
    from chainbreaker.detect.interest import combine
    from chainbreaker.detect.sigma.detector import SigmaDetector
    from chainbreaker.detect.verdicts import VerdictDetector
    from chainbreaker.readers import ReadReport, read_paths

    batches = list(read_paths(files, ReadReport(), workers=1))
    print(f"one pass: {sum(b.height for b in batches):,} records in {len(batches)} batches")
    others: list[list[Detector] | None] = [None, [], [AnalyticsDetector(), VerdictDetector(), LinkLearner()]]
    for label, extra in zip(("whole batches", "Sigma only", "default hunt"), others, strict=True):
        sigma = SigmaDetector(rules)
        evaluator = sigma.worker_transform()
        assert evaluator is not None
        if extra is not None:
            evaluator = evaluator.projecting(combine(d.interest() for d in [sigma, *extra]))
        sent = [frame for batch in batches for frame in evaluator(batch)] + evaluator.flush()
        size = 0
        for frame in sent:
            buffer = io.BytesIO()
            frame.write_ipc(buffer, compression="lz4")
            size += buffer.tell()
        rows, cells = sum(f.height for f in sent), sum(f.height * f.width for f in sent)
        print(f"{label:14s} {len(sent):4d} frames {rows:9,d} rows {cells:12,d} cells {size / 1e6:8.2f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--profile-rules", action="store_true")
    parser.add_argument(
        "--in-main", action="store_true", help="evaluate the rules in the main process, not the readers"
    )
    parser.add_argument(
        "--all-detectors", action="store_true", help="also analytics, verdicts and incidents (hunt's default)"
    )
    parser.add_argument(
        "--whole-batches",
        action="store_true",
        help="readers send whole batches (no projection), for comparison",
    )
    parser.add_argument("--alerts-out", type=Path, help="write the sorted (rule id, event ref) list here")
    parser.add_argument("--transfer", action="store_true", help="print what crosses per interest, one pass")
    parser.add_argument(
        "--floor",
        action="store_true",
        help="after the hunt, time the bare evtx parse of the same links (1 and 2 processes) and the ratio",
    )
    args = parser.parse_args()

    from chainbreaker.detect.sigma import load_rules
    from chainbreaker.pipeline import HuntOptions, hunt, result_document

    if args.in_main:  # the pre-worker layout, for comparison: untagged batches are evaluated in observe
        from chainbreaker.detect.sigma.detector import SigmaDetector

        SigmaDetector.worker_transform = lambda self: None  # type: ignore[method-assign]

    samples = corpus("evtx-attack-samples") / "EVTX-ATTACK-SAMPLES"
    rules_dir = corpus("sigma") / "sigma" / "rules" / "windows"
    start = time.perf_counter()
    ruleset = load_rules([rules_dir])  # warm the compiled cache: the hunt below measures a second run
    print(f"rules: {len(ruleset.rules)} compiled in {time.perf_counter() - start:.2f} s "
          f"(from cache: {ruleset.from_cache})")  # fmt: skip

    # The EVTX files only (277 files, 8,255 records): the corpus folder also holds web server logs
    # and a packet capture, which other readers take but which are not the EVTX workload measured
    # here (nor Zircolite's).
    evtx_files = sorted(samples.rglob("*.evtx"))
    if args.transfer:
        transfer(evtx_files, ruleset.rules)
        return
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):
            for path in evtx_files:  # the folder layout kept: alert lists compare across versions
                link = Path(tmp) / f"copy{i:03d}" / path.relative_to(samples)
                link.parent.mkdir(parents=True, exist_ok=True)
                os.symlink(path, link)
        options = HuntOptions(sigma=[rules_dir], workers=args.workers, profile_rules=args.profile_rules)
        if not args.all_detectors:  # the Sigma hunt alone, as measured before the other detectors came
            options.analytics = options.verdicts = options.correlate = False
        start = time.perf_counter()
        cpu = time.process_time()
        result = hunt([tmp], options, extra_detectors=[ReadsEverything()] if args.whole_batches else [])
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu
        floors = bare_parse(sorted(str(p) for p in Path(tmp).rglob("*.evtx"))) if args.floor else []
    hunt_peak, _ = peak_mib()
    doc = result_document(result)
    stats = doc["stats"]
    records = stats["records"]
    own, children = peak_mib()
    print(f"records: {records:,}  files: {stats['files']:,}  alerts: {stats['alerts']:,}")
    selected, evaluations = stats["rules_selected"], stats["rule_evaluations"]
    print(f"rules selected: {selected:,}  rule x event-group evaluations: {evaluations:,}")
    print(f"rules load (cache): {result.rules.load_seconds if result.rules else 0:.2f} s")
    print(f"hunt total: {elapsed:.2f} s  ->  {records / elapsed:,.0f} records/s, "
          f"{stats['rule_evaluations'] / elapsed:,.0f} rule evaluations/s, "
          f"{records * stats['rules_selected'] / elapsed:,.0f} rule x record checks/s")  # fmt: skip
    print(f"main process CPU (detection + merging, readers excluded): {cpu:.2f} s")
    print(f"peak RSS: main {hunt_peak:.0f} MiB during the hunt, {own:.0f} MiB with the result document; "
          f"largest reader process {children:.0f} MiB")  # fmt: skip
    if args.alerts_out:  # compare two runs: the alert list must not change with the engine's speed-ups
        lines = sorted(
            f"{a.rule_id}\t{ref.file.replace(tmp, '')}\t{ref.record}"
            for a in result.alerts
            for ref in a.event_refs
        )
        args.alerts_out.write_text("".join(line + "\n" for line in lines))
        print(f"alert list: {len(lines):,} lines -> {args.alerts_out}")
    for processes, figures in floors:
        print(f"bare parse (evtx records_json + orjson, bench_ingest.floor), {processes} process(es): "
              f"{figures['seconds']:.2f} s, {figures['cpu_seconds']:.2f} CPU s -> hunt / parse "
              f"{elapsed / figures['seconds']:.2f}x")  # fmt: skip
    for rid, title, seconds in result.rule_seconds:
        print(f"  {seconds:8.4f} s  {rid}  {title}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
