"""Scaling benchmark: ingest, full hunt and correlation at 1M, 3M and 10M simulated events.

Run:  .venv/bin/python bench/bench_scale.py [--sizes 1m 3m 10m] [--steps ingest hunt correlate]
      [--cache /tmp/chainbreaker-bench-scale] [--src OTHER/src] [--synthetic 100000 1000000]
      [--sigma RULES_DIR] [--workers 2] [--summary FILE]

The corpus is the simulator's multi-source network (``chainbreaker simulate lockbit --hosts 200
--seed 1``: Windows Security/Sysmon JSON lines, Zeek, Suricata EVE, auth.log); the sizes differ by
the length of the window (``--days``), so 10M is the same 200-host network watched 22 days
instead of 1.7. Each corpus is generated once into the cache folder and reused (a ``.complete``
marker says it finished). For each size, every step is a fresh process (so its ru_maxrss is its
own peak) that runs the CLI in-process and reports wall time, CPU time (itself and its reader
processes) and peak RSS (itself, and its largest reader process):

1. ``chainbreaker ingest DIR -o OUT`` (Parquet dataset; removed afterwards);
2. ``chainbreaker hunt DIR --sigma RULES --json OUT``: every SigmaHQ rule of ``rules/`` (all
   products), analytics, verdicts and correlation on, as a user runs it; the compiled rules come
   from a cache warmed once beforehand (its cold compile time is reported). The hunt's alerts and
   learnt address -> host links are kept (pickled) for step 3;
3. ``chainbreaker.correlate.build_incidents`` alone (what the hunt's correlation step calls) over
   those alerts, and over synthetic sets made by repeating the largest hunt's alerts with shifted
   hosts, users and times (``--synthetic`` sizes; a size below the hunt's count takes its first
   alerts), to show the curve where alert counts grow.

``--src`` runs another source tree (PYTHONPATH), e.g. an exported commit, so that figures belong to
that commit. Prints a table and a JSON summary with the machine (cores, memory, load average before
and after each step), the commands and the commit.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import resource
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
UNPACK = ROOT.parent / "shared" / "datasets" / "unpack"
HOSTS = 200
#: Window length (days, from the simulator's default Monday 07:00 start) for each size label.
SIZES = {"1m": 1.7, "3m": 5.0, "10m": 22.0}


# --- child side: one measured step per process -------------------------------------------------


def _usage() -> dict[str, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)  # reader processes, once joined
    return {
        "cpu_main_s": own.ru_utime + own.ru_stime,
        "cpu_workers_s": kids.ru_utime + kids.ru_stime,
        "rss_main_mb": own.ru_maxrss / 1024,  # Linux: KiB
        "rss_worker_mb": kids.ru_maxrss / 1024,
    }


def _run_cli(argv: list[str]) -> int:
    from chainbreaker.cli import main

    sys.argv = ["chainbreaker", *argv]
    try:
        main()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def child_cli(argv: list[str], report: Path, keep: Path | None) -> None:
    """Run one CLI command in this process; with ``keep``, also capture what the hunt correlated."""
    captured: dict[str, Any] = {}
    if keep is not None:  # wrap the hunt's correlation step: time it, keep its input for step 3
        import chainbreaker.correlate.hooks as hooks

        original = hooks.correlation_step

        def step_with_capture(learner: Any, config: Any = None) -> Any:
            step = original(learner, config)

            def timed(result: Any) -> None:
                started = time.perf_counter()
                step(result)
                captured["correlate_s"] = time.perf_counter() - started
                captured["alerts"] = result.alerts
                captured["links"] = learner.learner.links

            return timed

        hooks.correlation_step = step_with_capture
    started = time.perf_counter()
    code = _run_cli(argv)
    figures: dict[str, Any] = {"exit": code, "wall_s": time.perf_counter() - started, **_usage()}
    if "correlate_s" in captured:
        figures["correlate_in_hunt_s"] = captured["correlate_s"]
    report.write_text(json.dumps(figures))
    if keep is not None and "alerts" in captured:  # after the figures: not part of the measurement
        with keep.open("wb") as fh:
            pickle.dump((captured["alerts"], captured["links"]), fh, protocol=pickle.HIGHEST_PROTOCOL)


def _shifted(alerts: list[Any], copies: int) -> list[Any]:
    """``copies`` x the alerts; copy k has its hosts and users renamed and its times moved later.

    Copy k starts after copy k-1 ended (plus a day), so each copy is a separate stretch of time
    on separate machines: incidents grow with the copies instead of merging into a few big ones.
    """
    from dataclasses import replace
    from datetime import timedelta

    from chainbreaker.events import EventRef

    if not alerts:
        return []
    span = max(a.time for a in alerts) - min(a.time for a in alerts) + timedelta(days=1)
    out = []
    for k in range(copies):
        if k == 0:
            out.extend(alerts)
            continue
        for a in alerts:
            out.append(
                replace(
                    a,
                    id="",  # recomputed from the new refs and time
                    time=a.time + span * k,
                    host=_renamed(a.host, ".", k),
                    user=_renamed(a.user, "@", k),
                    event_refs=tuple(EventRef(f"{r.file}#c{k}", r.record) for r in a.event_refs),
                )
            )
    return out


def _renamed(name: str | None, cut: str, k: int) -> str | None:
    """``WKS-01.corp.example`` -> ``WKS-01-c3.corp.example`` (the part correlation keys on)."""
    if not name:
        return name
    head, sep, tail = name.partition(cut)
    return f"{head}-c{k}{sep}{tail}"


def child_correlate(kept: Path, target: int, report: Path) -> None:
    """Time ``build_incidents`` over the kept alerts, repeated up to ``target`` (0: as they are)."""
    from chainbreaker.correlate import build_incidents

    with kept.open("rb") as fh:
        alerts, links = pickle.load(fh)
    if target:
        copies = max(1, -(-target // max(1, len(alerts))))
        alerts = _shifted(alerts, copies)[:target]
    before = _usage()
    started = time.perf_counter()
    incidents = build_incidents(alerts, links, None)
    wall = time.perf_counter() - started
    after = _usage()
    figures = {
        "exit": 0,
        "wall_s": wall,
        **after,
        "cpu_main_s": after["cpu_main_s"] - before["cpu_main_s"],  # build_incidents alone
        "rss_before_mb": before["rss_main_mb"],  # alerts loaded, before correlating
        "alerts": len(alerts),
        "incidents": len(incidents),
        "alerts_in_incidents": sum(len(i.alert_ids) for i in incidents),
    }
    report.write_text(json.dumps(figures))


# --- parent side ------------------------------------------------------------------------------


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def commit_of(src: str | None) -> str:
    """HEAD of this checkout (read-only git); with ``--src`` and no ``--commit``, say it is unknown."""
    done = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    return done.stdout.strip() if src is None else f"unknown (--src {src}; HEAD here {done.stdout.strip()})"


def child_env(src: str | None, cache: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("POLARS_MAX_THREADS", "2")
    env["CHAINBREAKER_CACHE_DIR"] = str(cache / "compiled-rules")  # our own, warmed once
    if src:  # spawned reader processes inherit sys.path from the measured process
        env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    return env


def measure(env: dict[str, str], args: list[str], stdout: Path) -> dict[str, Any]:
    """Run ``bench_scale.py --child ...`` in a fresh process; its figures + load before/after."""
    report = stdout.with_suffix(".figures.json")
    before = load()
    with stdout.open("wb") as out:
        done = subprocess.run(
            [sys.executable, __file__, "--child", str(report), *args],
            stdout=out,
            stderr=subprocess.PIPE,
            env=env,
        )
    if done.returncode != 0 or not report.is_file():
        raise RuntimeError(f"step {args} failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
    figures: dict[str, Any] = json.loads(report.read_text())
    if figures["exit"] != 0:
        raise RuntimeError(f"step {args} exited {figures['exit']}: {done.stderr.decode()[-2000:]}")
    figures["cpu_s"] = figures["cpu_main_s"] + figures["cpu_workers_s"]
    figures["load_before"], figures["load_after"] = before, load()
    return figures


def corpus(cache: Path, label: str, env: dict[str, str]) -> tuple[Path, dict[str, Any]]:
    """The simulated corpus for ``label``, generated once (``.complete`` marks a finished run)."""
    days = SIZES[label]
    folder = cache / f"lockbit-h{HOSTS}-d{days}-s1"
    command = ["simulate", "lockbit", "-o", str(folder), "--hosts", str(HOSTS), "--days", str(days)]
    command += ["--seed", "1", "--force"]
    if not (folder / ".complete").is_file():
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "chainbreaker", *command], env=env, capture_output=True)
        if done.returncode != 0:
            raise RuntimeError(f"simulate failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
        (folder / ".complete").write_text(f"{time.perf_counter() - started:.0f}\n")
    return folder, {"command": "chainbreaker " + " ".join(command)}


def sigma_rules(given: str | None) -> Path:
    if given:
        return Path(given)
    out = subprocess.run(["bash", str(UNPACK), "sigma"], check=True, capture_output=True, text=True)
    return Path(out.stdout.strip().splitlines()[-1]) / "sigma" / "rules"


def warm_rules(env: dict[str, str], rules: Path) -> float:
    """Compile the rule set once into the cache the hunts read (cold compile seconds)."""
    code = "import sys; from pathlib import Path; from chainbreaker.detect.sigma import load_rules\n"
    code += "r = load_rules([Path(sys.argv[1])]); print(len(r.rules), r.load_seconds, r.from_cache)"
    started = time.perf_counter()
    command = [sys.executable, "-c", code, str(rules)]
    out = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - started
    print(f"rules (count, load s, from cache): {out.stdout.strip()}; {seconds:.1f} s with start-up")
    return seconds


def sources_of(ingest_stdout: Path) -> dict[str, int]:
    """Records per reader, from ``chainbreaker ingest --format json``'s file list."""
    summary = json.loads(ingest_stdout.read_text())
    per: Counter[str] = Counter()
    for f in summary.get("files", []):
        if f.get("records"):
            per[str(f.get("reader"))] += int(f["records"])
    return dict(per.most_common())


def row(size: str, step: str, f: dict[str, Any], records: int | None) -> str:
    rate = f"{records / f['wall_s']:,.0f}" if records else "-"
    cells = (
        size,
        step,
        f"{records:,}" if records else "-",
        f"{f['wall_s']:.1f}",
        f"{f['cpu_s']:.1f}",
        rate,
        f"{f['rss_main_mb']:.0f}",
        f"{f['rss_worker_mb']:.0f}" if f.get("rss_worker_mb") else "-",
    )
    return "| " + " | ".join(cells) + " |"


def run_size(
    label: str,
    args: argparse.Namespace,
    env: dict[str, str],
    rules: Path,
    work: Path,
    summary: dict[str, Any],
) -> None:
    folder, info = corpus(args.cache, label, env)
    entry: dict[str, Any] = summary["sizes"].setdefault(label, {"corpus": str(folder), **info})
    records: int | None = entry.get("records")
    if "ingest" in args.steps:
        out = work / f"ingest-{label}"
        shutil.rmtree(out, ignore_errors=True)
        argv = ["ingest", str(folder), "-o", str(out), "--workers", str(args.workers), "--format", "json"]
        stdout = work / f"ingest-{label}.out"
        f = entry["ingest"] = measure(env, ["cli", *argv], stdout)
        f["command"] = "chainbreaker " + " ".join(argv)
        f["parquet_mb"] = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 1e6
        entry["sources"] = sources_of(stdout)
        records = entry["records"] = sum(entry["sources"].values())
        shutil.rmtree(out, ignore_errors=True)
        print(row(label, "ingest", f, records), flush=True)
        print(f"    records per reader: {entry['sources']}", flush=True)
    kept = work / f"hunt-{label}.alerts.pickle"
    if "hunt" in args.steps:
        doc_path = work / f"hunt-{label}.json"
        argv = ["hunt", str(folder), "--sigma", str(rules), "--json", str(doc_path)]
        argv += ["--workers", str(args.workers)]
        f = entry["hunt"] = measure(env, ["cli", "--keep", str(kept), *argv], work / f"hunt-{label}.out")
        f["command"] = "chainbreaker " + " ".join(argv)
        stats = json.loads(doc_path.read_bytes())["stats"]
        for key in ("records", "alerts", "incidents", "rules_selected", "rule_evaluations"):
            f[key] = stats[key]
        records = entry["records"] = stats["records"]
        print(row(label, "hunt", f, records), flush=True)
        print(f"    alerts {stats['alerts']:,}, incidents {stats['incidents']:,}, rules selected "
              f"{stats['rules_selected']:,}, correlation inside the hunt "
              f"{f.get('correlate_in_hunt_s', 0):.2f} s", flush=True)  # fmt: skip
    if "correlate" in args.steps and kept.is_file():
        f = entry["correlate"] = measure(env, ["correlate", str(kept), "0"], work / f"correlate-{label}.out")
        print(row(label, "correlate", f, None) + f"  {f['alerts']:,} alerts -> {f['incidents']:,} incidents")


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        report, kind, rest = Path(sys.argv[2]), sys.argv[3], sys.argv[4:]
        if kind == "cli":
            keep = None
            if rest[:1] == ["--keep"]:
                keep, rest = Path(rest[1]), rest[2:]
            child_cli(rest, report, keep)
        else:
            child_correlate(Path(rest[0]), int(rest[1]), report)
        return
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--steps", nargs="+", default=["ingest", "hunt", "correlate"])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/chainbreaker-bench-scale"))
    parser.add_argument("--src", help="source tree to run (PYTHONPATH), e.g. an exported commit's src/")
    parser.add_argument("--commit", help="commit of --src (an exported tree carries no .git)")
    parser.add_argument("--sigma", help="rules folder (default: the SigmaHQ checkout's rules/)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--synthetic", nargs="*", type=int, default=[100_000, 1_000_000])
    parser.add_argument("--summary", type=Path, help="also write the JSON summary here")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    work = args.cache / "runs"
    work.mkdir(exist_ok=True)
    env = child_env(args.src, args.cache)
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    summary: dict[str, Any] = {
        "machine": {"nproc": os.cpu_count(), "memory_gib": round(mem, 1), "python": sys.version.split()[0]},
        "commit": args.commit or commit_of(args.src),
        "src": args.src,
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "load_before": load(),
        "sizes": {},
    }
    print(f"commit {summary['commit']}, {summary['machine']}, load {summary['load_before']}", flush=True)
    rules = sigma_rules(args.sigma)
    if "hunt" in args.steps:
        summary["rules_cold_compile_s"] = warm_rules(env, rules)
    print("| size | step | records | wall s | CPU s | records/s (wall) | peak RSS main MB | worker MB |")
    print("|---|---|---:|---:|---:|---:|---:|---:|", flush=True)
    for label in [s for s in SIZES if s in args.sizes]:
        run_size(label, args, env, rules, work, summary)
    largest = [work / f"hunt-{s}.alerts.pickle" for s in reversed(list(SIZES)) if s in args.sizes]
    kept = next((p for p in largest if p.is_file()), None)
    if "correlate" in args.steps and kept is not None:
        for target in args.synthetic:
            f = measure(env, ["correlate", str(kept), str(target)], work / f"synthetic-{target}.out")
            summary.setdefault("synthetic", {})[str(target)] = f | {"from": kept.name}
            print(row(f"{target:,} alerts", "correlate", f, None) + f"  -> {f['incidents']:,} incidents")
    summary["load_after"] = load()
    text = json.dumps(summary, default=str)
    print(text)
    if args.summary:
        args.summary.write_text(text)


if __name__ == "__main__":
    main()
