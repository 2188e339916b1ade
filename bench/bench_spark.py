"""Spark benchmark: the embedded (Polars) engine vs Spark ``local[N]`` on the same Parquet events.

Builds a Parquet dataset of N events by repeating the ingested evtx-attack-samples (each copy gets
its own event references, so alerts stay distinct), in a temporary folder, then runs the same
compiled SigmaHQ rules with both engines and prints, for each size, seconds, seconds per million
events, CPU seconds (the embedded process; the driver process plus the local Spark JVM), Spark's
time per step, how many rule x key pairs survived pruning, the load average, and whether both
engines raised the same alerts. Usage:

    .venv/bin/python bench/bench_spark.py [--events 1000000 3000000] [--master local[2]]
        [--rules windows/builtin/security windows/process_creation]   # SigmaHQ rules/ sub-folders

    # Spark only (no embedded run), or another job size (rule x key pairs per Spark job):
    .venv/bin/python bench/bench_spark.py --events 3000000 --no-embedded --chunk-pairs 512

    # Spark's code generation for the rule projections (off by default, see docs/SCALE.md):
    .venv/bin/python bench/bench_spark.py --events 100000 --conf spark.sql.codegen.wholeStage=true \
        spark.sql.codegen.factoryMode=FALLBACK

    # the 10M point of docs/BENCHMARKS.md "Spark" (about 400 MB of temporary Parquet; ~950k
    # matched rows, over Spark's default 1 GiB spark.driver.maxResultSize):
    .venv/bin/python bench/bench_spark.py --events 10000000 --driver-memory 8g \
        --conf spark.driver.maxResultSize=4g

Needs the shared corpora (``../shared/datasets``: evtx-attack-samples and sigma) and PySpark + Java.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import polars as pl

from chainbreaker.detect.sigma.rules import CompiledRule
from chainbreaker.engines.spark.job import CHUNK_PAIRS, SparkRun

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


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def jvm_cpu(session: Any) -> float:
    """CPU seconds (user + system) of the local Spark JVM so far (/proc; 0 when not found)."""
    try:
        pid = session.sparkContext._gateway.proc.pid
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (AttributeError, OSError, ValueError, IndexError):
        return 0.0


def embedded(folder: Path, rules: list[CompiledRule]) -> tuple[float, float, set[tuple[str, str, int]]]:
    from chainbreaker.detect.sigma.engine import SigmaEngine

    engine = SigmaEngine(rules)
    found: set[tuple[str, str, int]] = set()
    start, cpu = time.perf_counter(), own_cpu()
    for part in sorted(folder.glob("part-*.parquet")):
        for match in engine.matches(pl.read_parquet(part)):
            for ref in match.rows.get_column("event_ref").to_list():
                found.add((match.rule.id, ref["file"], ref["record"]))
    return time.perf_counter() - start, own_cpu() - cpu, found


def spark(
    folder: Path,
    rules: list[CompiledRule],
    session: Any,
    chunk_pairs: int,
) -> tuple[float, float, set[tuple[str, str, int]], SparkRun]:
    from chainbreaker.engines.spark.job import read_events, run_rules

    start, cpu = time.perf_counter(), own_cpu() + jvm_cpu(session)
    run = run_rules(session, read_events(session, [str(folder)]), rules, chunk_pairs=chunk_pairs)
    seconds = time.perf_counter() - start
    cpu = own_cpu() + jvm_cpu(session) - cpu
    found = {
        (m.rule.id, ref["file"], ref["record"])
        for m in run.matches
        for ref in m.rows.get_column("event_ref").to_list()
    }
    return seconds, cpu, found, run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, nargs="+", default=[1_000_000, 3_000_000])
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="3g")
    parser.add_argument("--conf", nargs="*", default=[], help="extra Spark settings KEY=VALUE")
    parser.add_argument("--chunk-pairs", type=int, default=CHUNK_PAIRS, help="rule x key pairs per Spark job")
    parser.add_argument("--no-embedded", action="store_true", help="run Spark only (no comparison)")
    parser.add_argument(
        "--rules", nargs="+", default=["windows/builtin/security", "windows/process_creation"]
    )
    args = parser.parse_args()

    from chainbreaker.detect.sigma import load_rules
    from chainbreaker.engines.spark import spark_session

    rules_root = corpus("sigma") / "sigma" / "rules"
    rules = load_rules([rules_root / r for r in args.rules]).rules
    base = base_events(corpus("evtx-attack-samples"))
    conf = {"spark.driver.memory": args.driver_memory, "spark.ui.showConsoleProgress": "false"}
    conf |= dict(kv.split("=", 1) for kv in args.conf)
    session = spark_session(args.master, conf)
    session.sparkContext.setLogLevel("ERROR")
    print(f"rules: {len(rules)} ({', '.join(args.rules)}); base events: {base.height}; master: {args.master}")
    print(f"spark settings: {conf}")
    print(f"{'events':>10} {'engine':>9} {'seconds':>9} {'s/M events':>11} {'CPU s':>8} {'alerts':>8}  steps")
    with tempfile.TemporaryDirectory(prefix="cb-bench-spark-") as tmp:
        for events in args.events:
            folder = Path(tmp) / f"events-{events}.parquet"
            build_dataset(base, events, folder)
            million = events / 1e6
            row = f"{events:>10} {{:>9}} {{:>9.1f}} {{:>11.1f}} {{:>8.0f}} {{:>8}}"
            e_found: set[tuple[str, str, int]] | None = None
            if not args.no_embedded:
                e_seconds, e_cpu, e_found = embedded(folder, rules)
                print(row.format("embedded", e_seconds, e_seconds / million, e_cpu, len(e_found)), flush=True)
            s_seconds, s_cpu, s_found, run = spark(folder, rules, session, args.chunk_pairs)
            shown = " ".join(f"{k}={v:.1f}" for k, v in run.seconds.items())
            print(row.format("spark", s_seconds, s_seconds / million, s_cpu, len(s_found)) + "  " + shown)
            print(
                f"{'':>10} rule x key pairs planned {run.evaluations}, run on Spark {run.evaluated} "
                f"({run.rules_evaluated} of {run.rules_planned} rules); load average "
                f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}"
            )
            if e_found is not None:
                print(f"{'':>10} identical alerts: {e_found == s_found}", flush=True)
            for part in folder.glob("*.parquet"):
                part.unlink()
    session.stop()
    sys.exit(0)


if __name__ == "__main__":
    main()
