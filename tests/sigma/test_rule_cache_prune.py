"""The compiled-rule cache keeps its most recently used entries and prunes the rest, safely.

Entries are real compiled rule sets (pySigma + our compiler on a rule written here); times are set
with ``os.utime`` so that "newest" does not depend on the clock's resolution.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chainbreaker.detect.sigma import cache
from chainbreaker.detect.sigma.loader import compile_yaml, load_rules
from chainbreaker.detect.sigma.rules import RuleSet

RULE = """title: whoami
id: 3e9f0c1a-2b4d-4e6f-8a0b-1c2d3e4f5a6b
status: test
level: low
logsource: {product: windows, category: process_creation}
detection:
  sel: {Image|endswith: '\\\\whoami.exe'}
  condition: sel
"""


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CHAINBREAKER_CACHE_DIR", str(tmp_path))
    return cache.cache_dir()


@pytest.fixture(scope="module")
def ruleset() -> RuleSet:
    compiled = compile_yaml(RULE)
    assert [r.title for r in compiled.rules] == ["whoami"]
    return compiled


def entries(folder: Path) -> list[str]:
    return sorted(p.stem for p in folder.glob("*.pickle"))


def age(folder: Path, key: str, when: float) -> None:
    os.utime(folder / f"{key}.pickle", (when, when))


def test_a_write_keeps_the_newest_entries(folder: Path, ruleset: RuleSet) -> None:
    past = time.time() - 10_000
    for n in range(cache.KEEP_ENTRIES + 4):
        cache.write(f"k{n:02d}", ruleset)
        age(folder, f"k{n:02d}", past + n)  # k00 oldest ... k19 newest

    # Each write pruned to KEEP_ENTRIES: the four oldest went, the last write stays.
    assert entries(folder) == [f"k{n:02d}" for n in range(4, cache.KEEP_ENTRIES + 4)]
    assert not list(folder.glob("*.tmp"))
    kept = cache.read("k19")
    assert kept is not None and kept.rules == ruleset.rules


def test_a_read_makes_an_entry_the_newest(folder: Path, ruleset: RuleSet) -> None:
    past = time.time() - 10_000
    for n in range(cache.KEEP_ENTRIES):
        cache.write(f"k{n:02d}", ruleset)
        age(folder, f"k{n:02d}", past + n)

    assert cache.read("k00") is not None  # the oldest, used now
    cache.write("fresh", ruleset)

    names = entries(folder)
    assert "k00" in names and "k01" not in names and "fresh" in names
    assert len(names) == cache.KEEP_ENTRIES


def test_the_entry_just_written_is_never_removed(folder: Path, ruleset: RuleSet) -> None:
    future = time.time() + 10_000  # entries that look newer than anything written now
    for n in range(cache.KEEP_ENTRIES + 2):
        cache.write(f"k{n:02d}", ruleset)
        age(folder, f"k{n:02d}", future + n)

    cache.write("now", ruleset)

    names = entries(folder)
    assert "now" in names and len(names) == cache.KEEP_ENTRIES + 1
    assert cache.read("now") is not None


def test_temporary_files_of_killed_writes_are_removed_fresh_ones_kept(folder: Path, ruleset: RuleSet) -> None:
    folder.mkdir(parents=True)
    stale, fresh = folder / "killed.tmp", folder / "writing.tmp"
    stale.write_bytes(b"partial")
    fresh.write_bytes(b"partial")
    old = time.time() - cache.STALE_TMP_SECONDS - 60
    os.utime(stale, (old, old))

    cache.write("k", ruleset)

    assert not stale.exists() and fresh.exists() and entries(folder) == ["k"]


def test_prune_skips_files_that_are_gone_and_reports_what_it_removed(folder: Path, ruleset: RuleSet) -> None:
    past = time.time() - 10_000
    for n in range(5):
        cache.write(f"k{n}", ruleset)
        age(folder, f"k{n}", past + n)

    removed = cache.prune(folder, entries=2)
    assert sorted(p.stem for p in removed) == ["k0", "k1", "k2"]
    assert cache.prune(folder, entries=2) == []  # nothing left to remove: no error either
    assert cache.prune(folder / "missing", entries=0) == []


def test_a_hunt_whose_entry_vanished_compiles_afresh(folder: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "whoami.yml").write_text(RULE)
    first = load_rules([rules])
    for entry in folder.glob("*.pickle"):
        entry.unlink()  # as another hunt's prune would
    second = load_rules([rules])
    third = load_rules([rules])
    assert (first.from_cache, second.from_cache, third.from_cache) == (False, False, True)
    assert first.rules == second.rules == third.rules


CONCURRENT = """
import sys
from chainbreaker.detect.sigma import cache
from chainbreaker.detect.sigma.loader import compile_yaml

ruleset = compile_yaml(sys.argv[2])
for n in range(60):
    cache.write(f"{sys.argv[1]}-{n:02d}", ruleset)
    cache.read(f"{sys.argv[1]}-{n // 2:02d}")  # may be pruned by another writer: None, no crash
"""


def test_concurrent_hunts_pruning_one_folder_do_not_crash(folder: Path) -> None:
    env = {**os.environ, "CHAINBREAKER_CACHE_DIR": str(folder.parent)}
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", CONCURRENT, name, RULE], env=env, stderr=subprocess.PIPE, text=True
        )
        for name in ("a", "b", "c")
    ]
    outcomes = [(w.communicate(timeout=300)[1], w.returncode) for w in writers]
    assert outcomes == [("", 0)] * 3
    names = entries(folder)
    # Each writer's last prune keeps KEEP_ENTRIES plus its own entry; all three finish at once at worst.
    assert cache.KEEP_ENTRIES <= len(names) <= cache.KEEP_ENTRIES + 3
    assert not list(folder.glob("*.tmp"))
