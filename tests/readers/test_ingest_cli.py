"""`chainbreaker ingest`, `stats` and `readers` through the real CLI on the EVTX corpus."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pytest
from typer.testing import CliRunner

from chainbreaker.cli import app
from chainbreaker.errors import UsageError
from chainbreaker.events import NORMALISED_SCHEMA
from chainbreaker.readers import scan_parquet_parts

runner = CliRunner()
#: The corpus's "Command and Control" folder also holds an IIS log (4,298 requests), an Apache
#: access log (2,661) and a packet capture (112 DNS transactions, 110 flows), which the web and
#: pcap readers take (their own tests count them independently): 7,181 records beside the EVTX.
NON_EVTX_RECORDS = 4298 + 2661 + 112 + 110


@pytest.fixture(scope="module")
def evtx_root(dataset: Any) -> Path:
    return dataset("evtx-attack-samples")


def test_ingest_writes_a_parquet_dataset_with_every_record(evtx_root: Path, tmp_path: Path):
    out = tmp_path / "events.parquet"
    result = runner.invoke(
        app, ["ingest", str(evtx_root), "-o", str(out), "--batch-size", "3000", "-f", "json"]
    )
    assert result.exit_code == 0, result.output
    summary = orjson.loads(result.stdout)
    assert summary["records"] == 8255 + NON_EVTX_RECORDS and summary["skipped"] == 0
    parts = sorted(out.glob("part-*.parquet"))
    # one part per frame: a batch of 3000 records comes as one frame per Windows channel
    assert summary["parts"] == len(parts) >= 3
    assert all(pl.scan_parquet(part).select(pl.len()).collect().item() <= 3000 for part in parts)
    frame = scan_parquet_parts(out).collect()
    assert frame.height == summary["records"]
    evtx_rows = frame.filter(pl.col("event_ref").struct.field("file").str.ends_with(".evtx"))
    assert evtx_rows.height == 8255 and evtx_rows["source"].str.starts_with("windows").all()
    assert {name: frame.schema[name] for name in NORMALISED_SCHEMA} == NORMALISED_SCHEMA
    assert frame.filter(pl.col("event_code") == 4688)["NewProcessName"].null_count() == 0
    # Every warning is a file of the corpus folder no reader takes (readme, ETL, images...).
    assert summary["warnings"] and all(not w["file"].endswith(".evtx") for w in summary["warnings"])
    again = runner.invoke(app, ["ingest", str(evtx_root), "-o", str(out)])
    # the CLI's main() maps UsageError to exit code 2
    assert isinstance(again.exception, UsageError) and "--overwrite" in str(again.exception)
    replaced = runner.invoke(app, ["ingest", str(evtx_root), "-o", str(out), "--overwrite", "-f", "json"])
    assert replaced.exit_code == 0
    assert len(sorted(out.glob("part-*.parquet"))) == orjson.loads(replaced.stdout)["parts"] < len(parts)


def test_stats_counts_sources_channels_event_ids_and_hosts(evtx_root: Path):
    result = runner.invoke(app, ["stats", str(evtx_root), "-f", "json"])
    assert result.exit_code == 0, result.output
    stats = orjson.loads(result.stdout)
    assert stats["records"] == 8255 + NON_EVTX_RECORDS and stats["skipped"] == 0
    assert {"warnings", "files", "first", "last", "sources", "channels", "event_ids", "hosts"} <= set(stats)
    assert all({"file", "position", "reason"} == set(w) for w in stats["warnings"])
    sources = {row["source"]: row["records"] for row in stats["sources"]}
    assert sources["windows.sysmon"] == 3241 and sources["windows.security"] == 1577
    assert sum(n for source, n in sources.items() if source.startswith("windows")) == 8255
    assert sum(sources.values()) == stats["records"]
    assert sum(row["records"] for row in stats["event_ids"]) == stats["records"]
    assert sum(row["records"] for row in stats["hosts"]) == stats["records"]
    assert stats["first"] < stats["last"]
    table = runner.invoke(app, ["stats", str(evtx_root)])
    assert table.exit_code == 0 and "windows.sysmon" in table.stdout


def test_readers_lists_the_registry():
    result = runner.invoke(app, ["readers", "-f", "json"])
    assert result.exit_code == 0
    names = [row["name"] for row in orjson.loads(result.stdout)]
    assert names.index("evtx") < names.index("windows-json")
