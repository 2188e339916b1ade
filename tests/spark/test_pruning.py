"""The Spark engine's data-dependent pruning (engines/spark/decide.py): rules whose literals occur
nowhere in a partition key never run on Spark, leaves are decided on distinct values, and both
engines still raise the same alerts. Events and rules are built here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest

from chainbreaker.detect.sigma import compile_yaml, ir
from chainbreaker.detect.sigma.engine import SigmaEngine
from chainbreaker.engines.spark.decide import prune
from chainbreaker.engines.spark.job import read_events, run_rules
from chainbreaker.events import conform

pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark")]

SYSMON = "Microsoft-Windows-Sysmon/Operational"


def _event(record: int, code: int, **fields: str) -> dict[str, Any]:
    ref = {"file": "built.evtx", "record": record}
    return {"source": "windows.sysmon", "channel": SYSMON, "event_code": code, "event_ref": ref, **fields}


EVENTS = [
    _event(1, 1, Image="C:\\Windows\\System32\\cmd.exe", CommandLine="cmd /c WhoAmI /all"),
    _event(2, 1, Image="C:\\Windows\\System32\\cmd.exe", CommandLine="cmd /c dir"),
    _event(3, 1, Image="C:\\Windows\\explorer.exe", CommandLine="explorer.exe"),
    _event(4, 3, Image="C:\\Tools\\nc.exe", DestinationHostname="evil.example", DestinationIp="10.9.8.7"),
    _event(5, 3, Image="C:\\Windows\\System32\\svchost.exe", DestinationIp="fe80::2%eth0"),
]

RULES = """
title: absent literal
id: 00000000-0000-4000-8000-0000000000a1
logsource: {product: windows, category: process_creation}
detection:
  sel: {CommandLine|contains: 'sekurlsa::logonpasswords'}
  condition: sel
---
title: present literal
id: 00000000-0000-4000-8000-0000000000a2
logsource: {product: windows, category: process_creation}
detection:
  sel: {CommandLine|contains: ['whoami', 'sekurlsa']}
  condition: sel
---
title: negated absent literal
id: 00000000-0000-4000-8000-0000000000a3
logsource: {product: windows, category: process_creation}
detection:
  sel: {Image|endswith: '\\cmd.exe'}
  filter: {CommandLine|contains: 'sekurlsa'}
  condition: sel and not filter
---
title: regex and cidr on distinct values
id: 00000000-0000-4000-8000-0000000000a4
logsource: {product: windows, category: network_connection}
detection:
  sel: {Image|re: '(?i)\\\\nc\\.exe$'}
  net: {DestinationIp|cidr: ['10.0.0.0/8', 'fe80::/10']}
  condition: sel or net
---
title: literal present in another key only
id: 00000000-0000-4000-8000-0000000000a5
logsource: {product: windows, category: network_connection}
detection:
  sel: {Image|endswith: '\\explorer.exe'}
  condition: sel
"""


def _matched(matches: Any) -> set[tuple[str, int]]:
    return {
        (m.rule.title, ref["record"]) for m in matches for ref in m.rows.get_column("event_ref").to_list()
    }


def test_absent_literals_prune_rules_and_present_ones_still_fire(spark: Any, tmp_path: Path) -> None:
    frame = conform(pl.DataFrame(EVENTS))
    folder = tmp_path / "events.parquet"
    folder.mkdir()
    frame.write_parquet(folder / "part-000000-00000.parquet")
    rules = compile_yaml(RULES).rules
    embedded = _matched(SigmaEngine(rules).matches(frame))
    run = run_rules(spark, read_events(spark, [str(folder)]), rules)
    assert (
        _matched(run.matches)
        == embedded
        == {
            ("present literal", 1),
            ("negated absent literal", 1),
            ("negated absent literal", 2),
            ("regex and cidr on distinct values", 4),
            ("regex and cidr on distinct values", 5),
        }
    )
    assert (run.keys, run.evaluations) == (2, 5)  # 3 process-creation rules + 2 network rules
    assert run.evaluated == 3  # "absent literal" and "present in another key only" never ran on Spark
    conditions = {m.rule.title: m.condition for m in run.matches}
    # decided on the key's distinct values: one hash lookup of the value that passed
    assert conditions["present literal"] == ir.StrMatch("CommandLine", "exact", ("cmd /c WhoAmI /all",), True)


def test_prune_folds_absent_literals_and_decides_leaves_on_values() -> None:
    rules = compile_yaml(RULES).rules
    nodes = [rule.compiled_for(rule.targets[0]) for rule in rules[:3]]
    columns = {"Image", "CommandLine"}
    values = {
        "Image": ["C:\\Windows\\System32\\cmd.exe", "C:\\Windows\\explorer.exe"],
        "CommandLine": ["cmd /c WhoAmI /all", "explorer.exe"],
    }
    absent, present, negated = prune(nodes, columns, values)
    assert absent == ir.FALSE
    assert present == ir.StrMatch("CommandLine", "exact", ("cmd /c WhoAmI /all",), True)
    assert negated == ir.StrMatch("Image", "exact", ("C:\\Windows\\System32\\cmd.exe",), True)
    # a column with too many values to collect is not decided: its leaves stay as compiled
    kept = prune(nodes[1:2], columns, {"Image": values["Image"]}, undecided={"CommandLine"})
    assert kept == [nodes[1]]
