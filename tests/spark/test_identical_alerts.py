"""The Spark engine gives the embedded engine's alerts on a real corpus, and ``hunt --engine spark`` works.

Corpus: evtx-attack-samples (EVTX -> ``ingest``-style Parquet parts). Rules: the SigmaHQ folders
``windows/builtin/security`` and ``windows/sysmon`` only (a subset: the whole ``windows`` set
takes many minutes in local mode on a busy 2-core CI machine; bench/bench_spark.py runs it).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from chainbreaker.cli import app
from chainbreaker.engines.spark.hunt import spark_hunt
from chainbreaker.errors import UsageError
from chainbreaker.pipeline import HuntOptions, hunt
from chainbreaker.readers import ReadReport, write_parquet_parts

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]

RULE_FOLDERS = ("windows/builtin/security", "windows/sysmon")


@pytest.fixture(scope="module")
def corpus(dataset: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    evtx = dataset("evtx-attack-samples")
    parquet = tmp_path_factory.mktemp("ingest") / "events.parquet"
    write_parquet_parts([evtx], parquet, ReadReport(), workers=1)
    return evtx, parquet


@pytest.fixture(scope="module")
def rule_paths(dataset: Callable[[str], Path]) -> list[Path]:
    root = dataset("sigma") / "sigma" / "rules"
    return [root / folder for folder in RULE_FOLDERS]


def _key(alert: Any) -> tuple[Any, ...]:
    return (alert.rule_id, alert.event_refs, alert.id, alert.time, alert.host, alert.user)


def test_spark_alerts_equal_embedded_alerts_on_evtx_attack_samples(
    spark: Any,
    corpus: tuple[Path, Path],
    rule_paths: list[Path],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("CHAINBREAKER_CACHE_DIR", str(tmp_path))
    evtx, parquet = corpus
    # Sigma only on both sides: analytics and sensor verdicts are not distributed (docs/SCALE.md)
    options = HuntOptions(sigma=rule_paths, workers=1, analytics=False, verdicts=False)
    embedded = hunt([evtx], options)
    distributed = spark_hunt([parquet], options)
    assert len(embedded.alerts) > 20  # the corpus does trigger these rules
    assert [_key(a) for a in distributed.alerts] == [_key(a) for a in embedded.alerts]
    assert distributed.read.records == embedded.read.records
    assert distributed.incidents  # correlated on the driver
    alert_ids = {a.id for a in distributed.alerts}
    assert all(set(i["alert_ids"]) <= alert_ids for i in distributed.incidents)


def test_hunt_command_runs_on_spark(
    spark: Any,
    corpus: tuple[Path, Path],
    rule_paths: list[Path],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("CHAINBREAKER_CACHE_DIR", str(tmp_path))
    _, parquet = corpus
    args = ["hunt", "--engine", "spark", "--master", "local[2]", str(parquet), "--format", "json"]
    result = CliRunner().invoke(app, [*args, "--sigma", str(rule_paths[0])])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["stats"]["alerts"] == len(document["alerts"]) > 0
    assert document["stats"]["records"] > 1000
    bad = CliRunner().invoke(app, ["hunt", "--engine", "hadoop", str(parquet)])
    assert isinstance(bad.exception, UsageError)
