"""Differential check: our engine against pySigma's SQLite back end, rule by rule, on real events.

The events of evtx-attack-samples are loaded into in-memory SQLite tables, one per log source
target (the rows our engine would give the rule, with the target's field names applied as
column aliases instead of our IR renaming, and its row condition applied in SQL instead of as
an IR test: Sysmon 12 rows of registry_add rules are the CreateKey ones). Every Windows rule is
converted to SQL by pysigma-backend-sqlite from a fresh parse and run there; its matched rows
must equal ours.

Known, documented differences of the reference (docs/SIGMA.md), handled here:
* SQLite column names are case-insensitive, so of two columns differing only in case
  (System ``ProcessID`` and EventData ``ProcessId``) the table keeps the fuller one;
* keyword (field-less) rules need a full-text column the reference does not build: skipped.
"""

from __future__ import annotations

import re
import sqlite3
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from sigma.backends.sqlite import sqliteBackend
from sigma.rule import SigmaRule

from chainbreaker.detect.sigma import RuleSet, SigmaEngine
from chainbreaker.detect.sigma.engine import drop_absent, partitions
from chainbreaker.detect.sigma.loader import parse_file
from chainbreaker.detect.sigma.logsources import Target
from chainbreaker.events import NORMALISED_SCHEMA, concat
from chainbreaker.readers import read_paths

ROW = "_row"


def _regexp(pattern: str, value: object) -> bool:
    return value is not None and re.search(pattern, str(value)) is not None


class Reference:
    """SQLite tables of the batch, one per target, and pySigma's SQL run over them."""

    def __init__(self, batch: pl.DataFrame) -> None:
        self.conn = sqlite3.connect(":memory:")
        self.conn.create_function("REGEXP", 2, _regexp, deterministic=True)
        self.parts = list(partitions(batch))
        self.tables: dict[Target, tuple[str, int]] = {}

    def table(self, target: Target) -> tuple[str, int]:
        if target in self.tables:
            return self.tables[target]
        name = f"t{len(self.tables)}"
        frames = [f for key, f in self.parts if target.matches(key)]
        if not frames:
            self.tables[target] = (name, 0)
            return self.tables[target]
        frame = drop_absent(pl.concat(frames))
        frame = frame.with_columns(pl.col(c).alias(s) for s, c in target.fields if c in frame.columns)
        columns = [c for c in frame.columns if c not in NORMALISED_SCHEMA or c == "timestamp"]
        nulls = dict(zip(frame.columns, frame.null_count().row(0), strict=True))
        fullest: dict[str, str] = {}
        for c in columns:  # SQLite names are case-insensitive: keep the fuller of ProcessID/ProcessId
            if c.lower() not in fullest or nulls[c] < nulls[fullest[c.lower()]]:
                fullest[c.lower()] = c
        columns = [c for c in columns if fullest[c.lower()] == c]
        frame = frame.select(columns).with_columns(pl.col("timestamp").dt.strftime("%Y-%m-%dT%H:%M:%S%.6f"))
        declared = ", ".join(f'"{c}" INTEGER' if c == ROW else f'"{c}" TEXT COLLATE NOCASE' for c in columns)
        self.conn.execute(f"CREATE TABLE {name} ({declared})")
        marks = ",".join("?" * len(columns))
        self.conn.executemany(f"INSERT INTO {name} VALUES ({marks})", frame.rows())
        rows = frame.height
        for column, values in target.where:  # the target's row condition, as SQL on the table
            if column not in columns:
                self.conn.execute(f"DELETE FROM {name}")
                continue
            accepted = ",".join("?" * len(values))  # the NOCASE column compares case-insensitively
            self.conn.execute(
                f'DELETE FROM {name} WHERE "{column}" IS NULL OR "{column}" NOT IN ({accepted})', values
            )
        if target.where:
            rows = self.conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
        self.tables[target] = (name, rows)
        return self.tables[target]

    def run(self, query: str, table: str) -> set[int]:
        sql = query.replace("SELECT *", f'SELECT "{ROW}"', 1)
        for _ in range(100):
            try:
                return {row[0] for row in self.conn.execute(sql)}
            except sqlite3.OperationalError as exc:
                missing = re.match(r"no such column: (.+)", str(exc))
                if not missing:
                    raise
                self.conn.execute(f'ALTER TABLE {table} ADD COLUMN "{missing.group(1)}" TEXT')
        raise AssertionError(f"too many missing columns for {query}")


@pytest.mark.slow
def test_same_matches_as_pysigma_sqlite_backend(
    dataset: Callable[[str], Path], sigmahq_rules: RuleSet
) -> None:
    evtx = sorted(str(p) for p in dataset("evtx-attack-samples").rglob("*.evtx"))  # not its web logs/pcap
    batch = concat(list(read_paths(evtx, workers=1)))
    batch = batch.with_columns(pl.int_range(pl.len()).alias(ROW))
    assert batch.height == 8255
    rules = [r for r in sigmahq_rules.rules if r.logsource[0] == "windows"]
    ours: dict[str, set[int]] = defaultdict(set)
    for match in SigmaEngine(rules).matches(batch):
        ours[match.rule.id] |= set(match.rows[ROW].to_list())

    reference = Reference(batch)
    by_file: dict[str, list[str]] = defaultdict(list)
    for rule in rules:
        by_file[rule.file].append(rule.id)
    compiled = {r.id: r for r in rules}
    differences, compared, skipped_keywords = [], 0, 0
    for file, ids in by_file.items():
        for index, parsed in enumerate(parse_file(Path(file)).rules):
            if not isinstance(parsed, SigmaRule) or str(parsed.id) not in ids:
                continue
            rule = compiled[str(parsed.id)]
            theirs: set[int] = set()
            try:
                for target in rule.targets:
                    table, rows = reference.table(target)
                    if rows:
                        fresh = parse_file(Path(file)).rules[index]  # convert() mutates the rule
                        theirs |= reference.run(sqliteBackend(table=table).convert_rule(fresh)[0], table)
            except Exception as exc:  # only the documented keyword limitation may pass
                assert "Keyword search requires fulltext_field" in str(exc), (rule.file, exc)
                skipped_keywords += 1
                continue
            compared += 1
            if theirs != ours.get(rule.id, set()):
                differences.append((rule.id, rule.title, len(ours.get(rule.id, ())), len(theirs)))
    assert compared > 2400
    assert skipped_keywords < 10
    assert sum(1 for rid in ours if ours[rid]) > 300  # the comparison is not all-empty
    assert differences == []
