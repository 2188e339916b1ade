"""Analytics, sensor verdicts and threat intel on the Spark engine give the embedded hunt's alerts.

Data: the bundled demo (demo/lockbit) and a small simulated intrusion (chainbreaker.simulate), each
written to Parquet with ``chainbreaker ingest``; the embedded hunt reads the same logs (ingest
writes one part file per batch of that read). Intel: the demo's campaign feed, the simulated
feed, and a text feed of IPv4 networks built from them (exercises the CIDR join).
Sigma runs one small rule on both sides (the shipped set has its own test, test_identical_alerts.py).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

from chainbreaker.alerts import Alert
from chainbreaker.cli import app
from chainbreaker.detect.intel import load_indicators
from chainbreaker.engines.spark.analytics import builtin_alerts, part_files
from chainbreaker.engines.spark.hunt import spark_hunt
from chainbreaker.engines.spark.job import read_events
from chainbreaker.pipeline import HuntOptions, hunt
from chainbreaker.simulate import SimConfig, simulate

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]

DEMO = Path(__file__).resolve().parents[2] / "demo" / "lockbit"
RULE = """title: Whoami run
id: 6f1f7b7e-2d55-4d0a-9a51-1b7f3f1b2c11
status: test
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        Image|endswith: '\\whoami.exe'
    condition: selection
level: low
"""


def _ingest(logs: Path, out: Path) -> Path:
    result = CliRunner().invoke(app, ["ingest", str(logs), "-o", str(out), "--format", "json"])
    assert result.exit_code == 0, result.output
    return out


def _networks(feed: Path, out: Path) -> Path:
    """A text feed: the /24 of each IP indicator of ``feed`` and the private 10.0.0.0/8."""
    ips = load_indicators([feed]).filter(pl.col("kind") == "ip").get_column("value").to_list()
    assert ips
    lines = [ip.rsplit(".", 1)[0] + ".0/24" for ip in ips] + ["10.0.0.0/8"]
    out.write_text("\n".join(lines) + "\n")
    return out


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path, list[Path]]]:
    """name -> (logs, Parquet dataset, intel feeds); the Sigma rule is ``rule.yml`` next to them."""
    root = tmp_path_factory.mktemp("builtin")
    (root / "rule.yml").write_text(RULE)
    sim = root / "sim"
    simulate("blackcat", sim, SimConfig(hosts=4, days=0.5, seed=3))
    sim_feed = sim / "intel" / "campaign.json"
    demo_feed = DEMO / "intel" / "campaign.json"
    return {
        "demo": (DEMO / "logs", _ingest(DEMO / "logs", root / "demo.parquet"), [demo_feed]),
        "simulated": (
            sim / "logs",
            _ingest(sim / "logs", root / "sim.parquet"),
            [sim_feed, _networks(sim_feed, root / "networks.txt")],
        ),
    }


def _key(alert: Alert) -> tuple[Any, ...]:
    return (
        alert.rule_id,
        alert.event_refs,
        alert.id,
        alert.time,
        alert.host,
        alert.user,
        alert.src_ip,
        alert.dst_ip,
        alert.level,
        alert.count,
        alert.description,
    )


@pytest.mark.parametrize("name", ["demo", "simulated"])
def test_spark_builtin_alerts_equal_embedded(
    spark: Any,
    scenarios: dict[str, tuple[Path, Path, list[Path]]],
    name: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("CHAINBREAKER_CACHE_DIR", str(tmp_path))
    logs, parquet, feeds = scenarios[name]
    options = HuntOptions(sigma=[parquet.parent / "rule.yml"], workers=1, intel=feeds)
    embedded = hunt([logs], options)
    distributed = spark_hunt([parquet], options)
    kinds = Counter(a.detector for a in embedded.alerts)
    assert kinds["analytic"] and kinds["intel"] and kinds["suricata"], kinds  # every detector fires
    if name == "simulated":  # the network feed matched through the CIDR join
        assert any(a.rule_id == "intel.cidr" for a in embedded.alerts)
    # Ties of (time, rule, id) are ordered arbitrarily by both engines: compare as multisets
    assert Counter(map(_key, distributed.alerts)) == Counter(map(_key, embedded.alerts))
    assert distributed.read.records == embedded.read.records
    names = [d.name for d in distributed.detectors]
    assert names == ["sigma", "analytics", "verdicts", "intel"]
    skipped = lambda result: sorted(r for d in result.detectors for r in d.skipped_reasons())  # noqa: E731
    assert skipped(distributed) == skipped(embedded)


def test_part_file_groups_do_not_change_alerts(
    spark: Any, scenarios: dict[str, tuple[Path, Path, list[Path]]]
) -> None:
    """Rows of 10 part files sent in groups of 3 (4 Spark jobs per feed) or all at once."""
    _, parquet, feeds = scenarios["simulated"]
    options = HuntOptions(intel=feeds)
    events = read_events(spark, [str(parquet)])
    assert len(part_files(spark, [str(parquet)], events.schema)) > 3
    grouped, _ = builtin_alerts(spark, events, [str(parquet)], options, chunk_files=3)
    whole, _ = builtin_alerts(spark, events, [str(parquet)], options, chunk_files=1000)
    assert grouped and Counter(map(_key, grouped)) == Counter(map(_key, whole))


def test_spark_hunt_flags_switch_detectors(
    spark: Any,
    scenarios: dict[str, tuple[Path, Path, list[Path]]],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("CHAINBREAKER_CACHE_DIR", str(tmp_path))
    _, parquet, feeds = scenarios["demo"]
    base = [
        "hunt",
        "--engine",
        "spark",
        str(parquet),
        "--sigma",
        str(parquet.parent / "rule.yml"),
        "--format",
        "json",
    ]
    result = CliRunner().invoke(app, [*base, "--intel", str(feeds[0])])
    assert result.exit_code == 0, result.output
    detectors = Counter(a["detector"] for a in json.loads(result.stdout)["alerts"])
    assert {"analytic", "suricata", "intel"} <= set(detectors)
    result = CliRunner().invoke(app, [*base, "--no-analytics", "--no-verdicts"])
    assert result.exit_code == 0, result.output
    assert {a["detector"] for a in json.loads(result.stdout)["alerts"]} <= {"sigma"}
