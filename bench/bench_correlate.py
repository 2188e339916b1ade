"""Benchmark: correlate N generated alerts (hosts, accounts, addresses, repeated rules) into incidents,
then write every output.

Run: .venv/bin/python bench/bench_correlate.py [N]. Prints alerts/s, incidents, findings, the time of
the address -> host learning over a generated logon batch, and the seconds each output takes.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

from chainbreaker.alerts import Alert, Level
from chainbreaker.correlate import EntityLearner, build_incidents
from chainbreaker.events import EventRef, conform
from chainbreaker.frameworks import attack, phases_for
from chainbreaker.outputs import get_output, registered_outputs

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def alerts(n: int, hosts: int = 500, seed: int = 1) -> list[Alert]:
    rng = random.Random(seed)
    techniques = [t for t in attack().current_techniques() if t.tactics][:200]
    levels = [Level.informational, Level.low, Level.low, Level.medium, Level.high, Level.critical]
    out = []
    for i in range(n):
        tech = techniques[rng.randrange(len(techniques))]
        killchain, ukc = phases_for((tech.id,), tech.tactics)
        host = rng.randrange(hosts)
        out.append(
            Alert(
                rule_id=f"rule-{tech.id}",
                title=tech.name,
                level=levels[rng.randrange(len(levels))],
                detector="sigma",
                time=T0 + timedelta(seconds=rng.randrange(7 * 86400)),
                event_refs=(EventRef(f"host{host}.evtx", i),),
                techniques=(tech.id,),
                tactics=tech.tactics,
                killchain_phases=killchain,
                ukc_phases=ukc,
                host=f"WKS-{host}" if i % 5 else None,
                user=f"CORP\\user{rng.randrange(hosts * 2)}",
                src_ip=f"10.0.{host // 256}.{host % 256}" if i % 5 == 0 else None,
                dst_ip=f"203.0.113.{rng.randrange(20)}" if i % 7 == 0 else None,
            )
        )
    return out


def logons(hosts: int) -> pl.DataFrame:
    return conform(
        pl.DataFrame(
            {
                "timestamp": [T0] * hosts,
                "source": ["windows.security"] * hosts,
                "host": ["DC-01"] * hosts,
                "event_code": [4624] * hosts,
                "IpAddress": [f"10.0.{h // 256}.{h % 256}" for h in range(hosts)],
                "WorkstationName": [f"WKS-{h}" for h in range(hosts)],
            }
        )
    )


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    data = alerts(n)
    batch = logons(500)
    start = time.perf_counter()
    learner = EntityLearner()
    learner.observe(batch)
    learn_s = time.perf_counter() - start
    start = time.perf_counter()
    incidents = build_incidents(data, learner.links, {})
    took = time.perf_counter() - start
    findings = sum(len(i.findings) for i in incidents)
    members = sum(len(i.alert_ids) for i in incidents)
    print(f"learn: {len(learner.links)} pairs from {batch.height} logons in {learn_s * 1000:.1f} ms")
    print(f"correlate: {n} alerts in {took:.2f} s ({n / took:,.0f} alerts/s)")
    print(f"incidents: {len(incidents)}, alerts in incidents: {members}, findings: {findings}")
    result = {
        "schema_version": "1.0",
        "alerts": [a.as_dict() for a in data],
        "incidents": [i.as_dict() for i in incidents],
        "stats": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        for cls in registered_outputs():
            start = time.perf_counter()
            get_output(cls.name).write(result, Path(tmp))
            print(f"output {cls.name}: {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
