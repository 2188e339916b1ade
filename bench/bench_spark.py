"""Spark benchmark: the embedded (Polars) engine vs Spark ``local[N]`` on the same Parquet events.

Builds a Parquet dataset of N events by repeating the ingested evtx-attack-samples (each copy gets
its own event references, so alerts stay distinct), in a temporary folder, then runs the same
compiled SigmaHQ rules with both engines and prints seconds and seconds per million events for
each size, and whether both engines raised the same alerts. Usage:

    .venv/bin/python bench/bench_spark.py [--events 1000000 3000000] [--master local[2]]
        [--rules windows/builtin/security windows/process_creation]   # SigmaHQ rules/ sub-folders

    # Spark's code generation for the rule projections (off by default, see docs/SCALE.md):
    .venv/bin/python bench/bench_spark.py --events 100000 --conf spark.sql.codegen.wholeStage=true \
        spark.sql.codegen.factoryMode=FALLBACK

    # the 10M point of docs/BENCHMARKS.md "Spark" (about 400 MB of temporary Parquet):
    .venv/bin/python bench/bench_spark.py --events 1000000 3000000 10000000 --driver-memory 6g

Needs the shared corpora (``../shared/datasets``: evtx-attack-samples and sigma) and PySpark + Java.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
UNPACK = ROOT.parent / "shared" / "datasets" / "unpack"
PART_ROWS = 250_000


def corpus(name: str) -> Path:
    out = subprocess.run(["bash", str(UNPACK), name], check=True, capture_output=True, text=True)
    return Path(out.stdout.strip().splitlines()[-1])


def base_events(folder: Path) -> pl.DataFrame:
    from chainbreaker.readers import ReadReport, read_paths

    return pl.concat(list(read_paths([folder], ReadReport(), workers=1)), how="diagonal_relaxed")


def build_dataset(base: pl.DataFrame, events: int, out: Path) -> None:
    """``events`` rows: copies of ``base`` whose event_ref files are ``copy-K/<file>``, in part files."""
    out.mkdir(parents=True)
    copies, written, part = [], 0, 0
    copy = 0
    while written < events:
        take = min(base.height, events - written)
        ref = pl.col("event_ref")
        frame = base.head(take).with_columns(
            pl.struct(
                (pl.lit(f"copy-{copy}/") + ref.struct.field("file")).alias("file"), ref.struct.field("record")
            ).alias("event_ref")
        )
        copies.append(frame)
        written += take
        copy += 1
        if sum(f.height for f in copies) >= PART_ROWS or written >= events:
            pl.concat(copies, how="diagonal_relaxed").write_parquet(out / f"part-000000-{part:05d}.parquet")
            copies, part = [], part + 1


def embedded(folder: Path, rules: list) -> tuple[float, set[tuple[str, str, int]]]:  # type: ignore[type-arg]
    from chainbreaker.detect.sigma.engine import SigmaEngine

    engine = SigmaEngine(rules)
    found: set[tuple[str, str, int]] = set()
    start = time.perf_counter()
    for part in sorted(folder.glob("part-*.parquet")):
        for match in engine.matches(pl.read_parquet(part)):
            for ref in match.rows.get_column("event_ref").to_list():
                found.add((match.rule.id, ref["file"], ref["record"]))
    return time.perf_counter() - start, found


def spark(folder: Path, rules: list, session: object) -> tuple[float, set[tuple[str, str, int]], dict]:  # type: ignore[type-arg]
    from chainbreaker.engines.spark.job import read_events, run_rules

    start = time.perf_counter()
    run = run_rules(session, read_events(session, [str(folder)]), rules)  # type: ignore[arg-type]
    seconds = time.perf_counter() - start
    found = {
        (m.rule.id, ref["file"], ref["record"])
        for m in run.matches
        for ref in m.rows.get_column("event_ref").to_list()
    }
    return seconds, found, run.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, nargs="+", default=[1_000_000, 3_000_000])
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="3g")
    parser.add_argument("--conf", nargs="*", default=[], help="extra Spark settings KEY=VALUE")
    parser.add_argument(
        "--rules", nargs="+", default=["windows/builtin/security", "windows/process_creation"]
    )
    args = parser.parse_args()

    from chainbreaker.detect.sigma import load_rules
    from chainbreaker.engines.spark import spark_session

    rules_root = corpus("sigma") / "sigma" / "rules"
    rules = load_rules([rules_root / r for r in args.rules]).rules
    base = base_events(corpus("evtx-attack-samples"))
    conf = {"spark.driver.memory": args.driver_memory} | dict(kv.split("=", 1) for kv in args.conf)
    session = spark_session(args.master, conf)
    session.sparkContext.setLogLevel("ERROR")
    print(f"rules: {len(rules)} ({', '.join(args.rules)}); base events: {base.height}; master: {args.master}")
    print(f"spark settings: {conf}")
    print(f"{'events':>10} {'engine':>9} {'seconds':>9} {'s/M events':>11} {'alerts':>8}  steps")
    with tempfile.TemporaryDirectory(prefix="cb-bench-spark-") as tmp:
        for events in args.events:
            folder = Path(tmp) / f"events-{events}.parquet"
            build_dataset(base, events, folder)
            e_seconds, e_found = embedded(folder, rules)
            s_seconds, s_found, steps = spark(folder, rules, session)
            million = events / 1e6
            row = f"{events:>10} {{:>9}} {{:>9.1f}} {{:>11.1f}} {{:>8}}"
            print(row.format("embedded", e_seconds, e_seconds / million, len(e_found)))
            shown = " ".join(f"{k}={v:.1f}" for k, v in steps.items())
            print(row.format("spark", s_seconds, s_seconds / million, len(s_found)) + "  " + shown)
            print(f"{'':>10} identical alerts: {e_found == s_found}", flush=True)
            for part in folder.glob("*.parquet"):
                part.unlink()
    session.stop()
    sys.exit(0)


if __name__ == "__main__":
    main()
