"""Benchmark: EVTX ingest speed against the evtx package's own parse, and memory as input grows.

Run: .venv/bin/python bench/bench_ingest.py [--repeats 49] [--small 12] [--large 120] [--no-memory]
     [--src OTHER/src]  (ingest with another source tree, e.g. a checkout of an older commit, for
     before/after figures taken in the same conditions) [--parquet] [--phases]

The evtx-attack-samples corpus (8,255 records in 277 files) is repeated by symbolic links in a
temporary folder (never copied) until it holds >= 400,000 records. Measured:

(a) the floor: ``PyEvtxParser(path).records_json()`` + ``orjson.loads`` of every record, on one
    core and in two processes;
(b) ``chainbreaker ingest`` to a Parquet dataset folder (two worker processes, default batch size);
(d) with ``--parquet``: the Parquet write alone, as a worker does it (one Polars thread): the speed
    run's input read in one process, each frame timed through ``stream.write_part`` only (CPU
    seconds, part files, bytes written); the write path's share of (b) without its noise;
(e) with ``--phases``: where an ingest's CPU time goes, in one process as a worker runs it (one Rust
    and one Polars thread), the speed run's input: planning, ``fill`` (the Rust parse and the
    flattening), ``take`` (native columns -> Polars frames), normalising, the Parquet write and the
    rest (reader detection, file opens, per-batch Python), each the ``process_time`` spent inside
    those functions (``time.process_time`` wrappers around them); the imports come first, uncounted;
(c) peak memory (ru_maxrss) of the ingest's main process and of its largest worker, at ``--small``
    and ``--large`` repeats (10x the input), with ``--memory-batch-size`` (default 10,000) so that
    both runs fill whole batches: memory is bounded by the batch size, and a run too small to
    fill one batch would look flatter than it is. The speed run's peak is in the JSON summary.

Prints one line per figure (wall time and CPU time of all processes), the load average before and
after, and a JSON summary. The machine is shared: wall figures are noisy, CPU figures less so.
Each ingest line says which EVTX flattening ran: ``compiled`` (the ``_evtxflat`` extension) or
``Python`` (not built, an older ``--src``, or ``CHAINBREAKER_PURE_PYTHON=1`` in the environment,
which the measured processes inherit: run the script once with and once without it to compare).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
from evtx import PyEvtxParser

ROOT = Path(__file__).resolve().parent.parent
UNPACK = ROOT.parent / "shared" / "datasets" / "unpack"

_MEASURE = """
import resource, sys, time
from pathlib import Path
from chainbreaker.readers import ReadReport, write_parquet_parts
from chainbreaker.readers import evtx
report = ReadReport()
started = time.perf_counter()
parts = write_parquet_parts([sys.argv[1]], Path(sys.argv[2]), report, int(sys.argv[3]), workers=2)
seconds = time.perf_counter() - started
peak_main = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
peak_worker = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
native = getattr(evtx, "NATIVE", None) is not None
print(report.records, report.skipped, len(parts), seconds, peak_main, peak_worker, int(native))
"""


_WRITE = """
import sys, time
from pathlib import Path
from chainbreaker.readers import ReadReport, read_paths
from chainbreaker.readers.stream import write_part
out = Path(sys.argv[2])
out.mkdir()
cpu = 0.0
records = parts = 0
for frame in read_paths([sys.argv[1]], ReadReport(), int(sys.argv[3]), workers=1):
    started = time.process_time()
    write_part(frame, str(out / f"{parts}.parquet"))
    cpu += time.process_time() - started
    records += frame.height
    parts += 1
print(records, parts, cpu, sum(p.stat().st_size for p in out.iterdir()))
"""


_PHASES = """
import collections, gc, json, os, sys, tempfile, time
from chainbreaker.readers import ReadReport, stream
from chainbreaker.readers import evtx, windows_fields
from chainbreaker.readers.registry import registered_readers
registered_readers()  # imports first, as in a worker
evtx.EvtxReader.threads = 1
gc.freeze()
cost = collections.Counter()
def timed(name, function):
    def wrapper(*args, **kwargs):
        started = time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            cost[name] += time.process_time() - started
    return wrapper
evtx._fill = timed("fill", evtx._fill)
if hasattr(evtx, "_NativeColumns"):
    evtx._NativeColumns.take = timed("take", evtx._NativeColumns.take)
windows_fields.normalise_frames = timed("normalise", windows_fields.normalise_frames)
write = timed("parquet", stream.write_part)
report = ReadReport()
started = time.process_time()
tasks = stream.plan([sys.argv[1]], report)
cost["plan"] = time.process_time() - started
out = tempfile.mkdtemp(dir=sys.argv[2])
records = 0
for index, task in enumerate(tasks):
    for seq, batch in enumerate(stream.run_task(task, report, int(sys.argv[3]))):
        write(batch, os.path.join(out, stream.part_name(index, seq)))
        records += batch.height
total = time.process_time() - started
cost["other"] = total - sum(cost.values())
print(json.dumps({"records": records, "total": total, **cost}))
"""


def corpus() -> Path:
    out = subprocess.run(
        ["bash", str(UNPACK), "evtx-attack-samples"], check=True, capture_output=True, text=True
    )
    return Path(out.stdout.strip().splitlines()[-1])


def repeated(files: list[Path], repeats: int, into: Path) -> Path:
    """A folder of ``repeats`` x ``files`` as symbolic links."""
    into.mkdir()
    for r in range(repeats):
        sub = into / f"r{r:04d}"
        sub.mkdir()
        for i, path in enumerate(files):
            (sub / f"{i:04d}.evtx").symlink_to(path)
    return into


def parse_count(paths: list[str]) -> int:
    n = 0
    loads = orjson.loads
    for path in paths:
        for record in PyEvtxParser(path, number_of_threads=1).records_json():
            loads(record["data"])  # type: ignore[index]  # the package's stubs say Optional
            n += 1
    return n


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and of every child it has waited for."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def floor(paths: list[str], processes: int) -> dict[str, Any]:
    started, cpu = time.perf_counter(), cpu_seconds()
    if processes == 1:
        n = parse_count(paths)
    else:
        with mp.get_context("spawn").Pool(processes) as pool:
            n = sum(pool.map(parse_count, [paths[i::processes] for i in range(processes)]))
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    return {"records": n, "seconds": seconds, "cpu_seconds": cpu, "records_per_s": n / seconds}


def ingest(folder: Path, out: Path, batch_size: int, src: str | None = None) -> dict[str, Any]:
    cpu = cpu_seconds()
    command = [sys.executable, "-c", _MEASURE, str(folder), str(out), str(batch_size)]
    env = dict(os.environ)
    if src:  # spawned workers inherit sys.path from the measured process
        env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    result = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
    cpu = cpu_seconds() - cpu
    records, skipped, parts, seconds, rss_main, rss_worker, native = result.stdout.split()
    return {
        "records": int(records),
        "skipped": int(skipped),
        "parts": int(parts),
        "seconds": float(seconds),
        "cpu_seconds": cpu,  # includes interpreter start and imports in the main and worker processes
        "records_per_s": int(records) / float(seconds),
        "rss_main_mb": int(rss_main) / 1024,
        "rss_worker_mb": int(rss_worker) / 1024,
        "flattening": "compiled" if native == "1" else "Python",
    }


def parquet_write(folder: Path, out: Path, batch_size: int, src: str | None = None) -> dict[str, Any]:
    env = dict(os.environ, POLARS_MAX_THREADS="1")  # as in the reader workers (stream.WORKER_ENVIRONMENT)
    if src:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    command = [sys.executable, "-c", _WRITE, str(folder), str(out), str(batch_size)]
    result = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
    records, parts, cpu, size = result.stdout.split()
    return {"records": int(records), "parts": int(parts), "cpu_seconds": float(cpu), "bytes": int(size)}


def phases(folder: Path, out: Path, batch_size: int, src: str | None = None) -> dict[str, Any]:
    env = dict(os.environ, POLARS_MAX_THREADS="1")  # as in the reader workers
    if src:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    out.mkdir()
    command = [sys.executable, "-c", _PHASES, str(folder), str(out), str(batch_size)]
    result = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
    split: dict[str, Any] = json.loads(result.stdout)
    return split


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=49, help="corpus copies for the speed runs")
    parser.add_argument("--small", type=int, default=12, help="corpus copies, small memory run")
    parser.add_argument("--large", type=int, default=120, help="corpus copies, large memory run")
    parser.add_argument("--batch-size", type=int, default=50_000, help="batch size of the speed run")
    parser.add_argument(
        "--memory-batch-size",
        type=int,
        default=10_000,
        help="batch size of the memory runs (batches full in both)",
    )
    parser.add_argument("--no-memory", action="store_true", help="skip the memory runs (c)")
    parser.add_argument("--parquet", action="store_true", help="also time the Parquet write alone (d)")
    parser.add_argument("--phases", action="store_true", help="also split one process's CPU time (e)")
    parser.add_argument("--src", help="source tree to ingest with (default: the installed package)")
    args = parser.parse_args()
    files = sorted(corpus().rglob("*.evtx"))
    summary: dict[str, Any] = {
        "batch_size": args.batch_size,
        "memory_batch_size": args.memory_batch_size,
        "workers": 2,
        "src": args.src,
        "load_before": os.getloadavg(),
    }
    print(f"load average before: {load()}" + (f"; ingest from {args.src}" if args.src else ""))
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        base = Path(tmp)
        folder = repeated(files, args.repeats, base / "speed")
        paths = [str(p) for p in sorted(folder.rglob("*.evtx"))]
        for processes in (1, 2):
            f = summary[f"floor_{processes}p"] = floor(paths, processes)
            print(f"(a) evtx records_json + orjson, {processes} process(es): {f['records']:,} records, "
                  f"{f['seconds']:.2f} s wall, {f['records_per_s']:,.0f} records/s, "
                  f"{f['cpu_seconds']:.2f} CPU s")  # fmt: skip
        run = summary["ingest"] = ingest(folder, base / "out-speed", args.batch_size, args.src)
        print(f"(b) chainbreaker ingest -> Parquet, 2 workers, {run['flattening']} flattening: "
              f"{run['records']:,} records, "
              f"{run['seconds']:.2f} s wall, {run['records_per_s']:,.0f} records/s, "
              f"{run['cpu_seconds']:.2f} CPU s, {run['parts']} part files, peak RSS main "
              f"{run['rss_main_mb']:.0f} MB, largest worker {run['rss_worker_mb']:.0f} MB")  # fmt: skip
        floor2 = summary["floor_2p"]
        print(f"    ingest / floor, both on 2 cores: wall {run['seconds'] / floor2['seconds']:.2f}x, "
              f"CPU {run['cpu_seconds'] / floor2['cpu_seconds']:.2f}x")  # fmt: skip
        if args.parquet:
            w = parquet_write(folder, base / "out-write", args.batch_size, args.src)
            summary["parquet_write"] = w
            per_record = w["cpu_seconds"] / w["records"] * 1e6
            print(f"(d) Parquet write alone (write_part, 1 process, 1 Polars thread): "
                  f"{w['records']:,} records, {w['parts']} part files, {w['cpu_seconds']:.2f} CPU s "
                  f"({per_record:.1f} us/record), {w['bytes'] / 1e6:.1f} MB")  # fmt: skip
        if args.phases:
            split = summary["phases"] = phases(folder, base / "out-phases", args.batch_size, args.src)
            shown = ("plan", "fill", "take", "normalise", "parquet", "other")
            print(f"(e) one process, CPU s: {split['total']:.2f} = "
                  + " + ".join(f"{name} {split.get(name, 0.0):.2f}" for name in shown))  # fmt: skip
        if args.no_memory:
            summary["load_after"] = os.getloadavg()
            print(f"load average after: {load()}")
            print(json.dumps(summary, default=float))
            return
        for label, repeats in (("small", args.small), ("large", args.large)):
            data = repeated(files, repeats, base / label)
            mem = ingest(data, base / f"out-{label}", args.memory_batch_size, args.src)
            summary[f"memory_{label}"] = mem
            print(f"(c) {label}, {mem['flattening']} flattening: {mem['records']:,} records, "
                  f"{mem['seconds']:.1f} s, peak RSS main "
                  f"{mem['rss_main_mb']:.0f} MB, largest worker {mem['rss_worker_mb']:.0f} MB")  # fmt: skip
        small, large = summary["memory_small"], summary["memory_large"]
        ratio = (large["rss_main_mb"] + large["rss_worker_mb"]) / (
            small["rss_main_mb"] + small["rss_worker_mb"]
        )
        print(f"    peak memory, {args.large // args.small}x the input: {ratio:.2f}x")
    summary["load_after"] = os.getloadavg()
    print(f"load average after: {load()}")
    print(json.dumps(summary, default=float))


def load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg()) + " (1, 5, 15 min)"


if __name__ == "__main__":
    os.environ.setdefault("POLARS_MAX_THREADS", "2")
    main()
