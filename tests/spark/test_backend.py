"""The Spark back end against the Polars back end on events built here: every IR leaf kind, same rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest

from chainbreaker.detect.sigma import compile_yaml
from chainbreaker.detect.sigma.engine import SigmaEngine
from chainbreaker.engines.spark.backend import glob_regex, java_regex
from chainbreaker.engines.spark.job import DISTINCT_CAP, read_events, run_rules
from chainbreaker.events import conform

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]

SYSMON = "Microsoft-Windows-Sysmon/Operational"


def _event(record: int, code: int, **fields: str | None) -> dict[str, Any]:
    return {
        "source": "windows.sysmon",
        "channel": SYSMON,
        "event_code": code,
        "host": "ws1",
        "event_ref": {"file": "made-up.evtx", "record": record},
        **fields,
    }


EVENTS = [
    _event(1, 1, Image="C:\\Windows\\System32\\cmd.exe", CommandLine="cmd /c whoami", User="CORP\\Bob"),
    _event(2, 1, Image="C:\\Tools\\PSEXESVC.EXE", CommandLine="psexesvc -accepteula", User="corp\\alice"),
    _event(
        3,
        1,
        Image="C:\\Windows\\notepad.exe",
        CommandLine="notepad a.txt\n",
        ParentImage="c:\\windows\\NOTEPAD.exe",
    ),
    _event(
        4, 1, Image="C:\\Users\\Public\\ab1.exe", CommandLine="ab1.exe --port 4444", IntegrityLevel="High"
    ),
    _event(5, 3, DestinationIp="10.1.2.3", DestinationPort="445", Initiated="true"),
    _event(6, 3, DestinationIp="::ffff:192.168.0.9", DestinationPort=" 8080 ", Initiated="true"),
    _event(7, 3, DestinationIp="fe80::1%eth0", DestinationPort="53"),
    _event(8, 3, DestinationIp="010.1.2.3", DestinationPort="x"),
    _event(9, 3, DestinationIp="8.8.8.8", DestinationPort="443", DestinationHostname="evil.example"),
]

RULES = """
title: contains
id: 00000000-0000-4000-8000-000000000001
logsource: {product: windows, category: process_creation}
detection:
  sel: {CommandLine|contains: [WHOAMI, accepteula]}
  condition: sel
---
title: affix
id: 00000000-0000-4000-8000-000000000002
logsource: {product: windows, category: process_creation}
detection:
  a: {Image|endswith: ['\\psexesvc.exe', '\\cmd.exe']}
  b: {Image|startswith: 'c:\\windows\\'}
  condition: a and b
---
title: glob
id: 00000000-0000-4000-8000-000000000003
logsource: {product: windows, category: process_creation}
detection:
  g: {Image: 'C:\\Users\\Pub*\\ab?.exe'}
  ref: {ParentImage|fieldref: Image}
  condition: g or ref
---
title: regex
id: 00000000-0000-4000-8000-000000000004
logsource: {product: windows, category: process_creation}
detection:
  sel: {CommandLine|re: 'a\\.txt$'}
  sel2: {CommandLine|re: '^cmd /c'}
  condition: sel or sel2
---
title: cased
id: 00000000-0000-4000-8000-000000000005
logsource: {product: windows, category: process_creation}
detection:
  sel: {User|cased: 'CORP\\Bob'}
  condition: sel
---
title: cidr
id: 00000000-0000-4000-8000-000000000006
logsource: {product: windows, category: network_connection}
detection:
  sel: {DestinationIp|cidr: ['10.0.0.0/8', '192.168.0.0/16', 'fe80::/10']}
  condition: sel
---
title: compare
id: 00000000-0000-4000-8000-000000000007
logsource: {product: windows, category: network_connection}
detection:
  sel: {DestinationPort|gte: 1000}
  condition: sel
---
title: nulls
id: 00000000-0000-4000-8000-000000000008
logsource: {product: windows, category: network_connection}
detection:
  sel: {Initiated: 'true'}
  host: {DestinationHostname: null}
  condition: sel and host and not 1 of nothing*
  nothing: {NoSuchField|exists: true}
---
title: keyword
id: 00000000-0000-4000-8000-000000000009
logsource: {product: windows, category: process_creation}
detection:
  keywords: ['PORT 4444']
  condition: keywords
"""


def _matched(matches: Any) -> set[tuple[str, int]]:
    out = set()
    for match in matches:
        for ref in match.rows.get_column("event_ref").to_list():
            out.add((match.rule.title, ref["record"]))
    return out


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pl.DataFrame]:
    frame = conform(pl.DataFrame(EVENTS).with_columns(pl.lit(None, pl.String).alias("user")))
    folder = tmp_path_factory.mktemp("events") / "events.parquet"
    folder.mkdir()
    frame.write_parquet(folder / "part-000000-00000.parquet")
    return folder, frame


# cap 0: no column's distinct values reach the driver, so every leaf runs row-wise in Spark SQL
@pytest.mark.parametrize("cap", [DISTINCT_CAP, 0], ids=["decided-on-distinct-values", "row-wise"])
def test_every_leaf_kind_matches_the_same_events_on_both_engines(
    spark: Any, dataset: tuple[Path, pl.DataFrame], cap: int
) -> None:
    folder, frame = dataset
    rules = compile_yaml(RULES).rules
    assert len(rules) == 9
    embedded = _matched(SigmaEngine(rules).matches(frame))
    run = run_rules(spark, read_events(spark, [str(folder)]), rules, distinct_cap=cap)
    assert _matched(run.matches) == embedded
    # and the expected events, so that "both wrong" cannot pass; ``a\.txt$`` misses "a.txt\n"
    # as Rust's regex does (``$`` is the end of the text), and Java's ``$`` would not
    assert embedded == {
        ("contains", 1), ("contains", 2), ("affix", 1), ("glob", 4), ("glob", 3),
        ("regex", 1), ("cased", 1), ("cidr", 5), ("cidr", 6), ("cidr", 7),
        ("compare", 6), ("nulls", 5), ("nulls", 6), ("keyword", 4),
    }  # fmt: skip
    assert run.records == len(EVENTS)


def test_java_patterns_keep_rust_end_of_text_and_glob_anchors() -> None:
    assert java_regex(r"a\.txt$") == r"(?dU)a\.txt\z"
    assert java_regex(r"[$]x$", "i") == r"(?dU)(?i)[$]x\z"
    assert java_regex(r"^a$", "m") == r"(?dU)(?m)^a$"  # multi-line: $ stays a line end
    assert glob_regex("c:\\\\users\\\\*\\\\ab?.exe").endswith(r"\.exe\z")


def test_result_size_follows_driver_memory_unless_set() -> None:
    from chainbreaker.engines.spark.session import session_conf

    assert session_conf()["spark.driver.maxResultSize"] == session_conf()["spark.driver.memory"] == "2g"
    assert session_conf({"spark.driver.memory": "8g"})["spark.driver.maxResultSize"] == "8g"
    chosen = session_conf({"spark.driver.memory": "8g", "spark.driver.maxResultSize": "3g"})
    assert chosen["spark.driver.maxResultSize"] == "3g"
    assert session_conf({"spark.sql.caseSensitive": "false"})["spark.sql.caseSensitive"] == "true"
