"""Row conditions of log sources: one event id, several Sigma categories (data/logsources.yml).

Sysmon 12 logs registry key creation and key or value deletion alike; ``registry_add`` means the
``CreateKey`` rows only and ``registry_delete`` the ``DeleteKey`` and ``DeleteValue`` rows, while
``registry_event`` keeps every one of them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import orjson
import polars as pl
import pytest
import yaml
from sigma.rule import SigmaLogSource

from chainbreaker.alerts import Alert
from chainbreaker.detect import sigma as sigma_package
from chainbreaker.detect.sigma import ir
from chainbreaker.detect.sigma.detector import SigmaDetector
from chainbreaker.detect.sigma.loader import compile_yaml, load_rules
from chainbreaker.detect.sigma.logsources import targets_for
from chainbreaker.pipeline import run_detectors
from chainbreaker.readers import ReadReport, read_paths

SYSMON = "Microsoft-Windows-Sysmon/Operational"
RUN_MRU = "HKU\\S-1-5-21-1-2-3-1001\\Software\\Microsoft\\Windows\\CurrentVersion\\Explorer\\RunMRU"


def _rule(category: str, rule_id: str) -> str:
    return f"""
title: RunMRU key {category}
id: {rule_id}
status: test
level: medium
logsource: {{product: windows, category: {category}}}
detection:
    selection:
        TargetObject|endswith: '\\Explorer\\RunMRU'
    condition: selection
"""


ADD, DELETE, EVENT = (
    "00000000-0000-4000-8000-00000000000a",
    "00000000-0000-4000-8000-00000000000d",
    "00000000-0000-4000-8000-00000000000e",
)
RULES = "\n---\n".join(
    [_rule("registry_add", ADD), _rule("registry_delete", DELETE), _rule("registry_event", EVENT)]
)


def _sysmon_12(n: int, event_type: str) -> dict[str, object]:
    return {
        "EventID": 12,
        "Channel": SYSMON,
        "Hostname": "ws1",
        "UtcTime": f"2024-05-01 10:00:0{n}.000",
        "EventType": event_type,
        "Image": "C:\\Windows\\regedit.exe",
        "ProcessId": "4242",
        "TargetObject": RUN_MRU,
    }


def _hits(alerts: list[Alert]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = defaultdict(list)
    for alert in alerts:
        out[alert.rule_id] += [ref.record for ref in alert.event_refs]
    return {rule: sorted(records) for rule, records in out.items()}


@pytest.fixture()
def create_and_delete(tmp_path: Path) -> Path:
    """A JSONL export: record 1 creates the RunMRU key, record 2 deletes it, record 3 (lower-case
    event type, as some exports write it) deletes it again."""
    path = tmp_path / "sysmon.jsonl"
    events = [_sysmon_12(1, "CreateKey"), _sysmon_12(2, "DeleteKey"), _sysmon_12(3, "deletekey")]
    path.write_bytes(b"\n".join(orjson.dumps(e) for e in events) + b"\n")
    return path


def test_add_and_delete_rules_see_their_own_event_type(create_and_delete: Path) -> None:
    rules = compile_yaml(RULES).rules
    assert len(rules) == 3
    batches = list(read_paths([create_and_delete], ReadReport(), workers=1))
    alerts = run_detectors(batches, [SigmaDetector(rules)])
    assert _hits(alerts) == {ADD: [1], DELETE: [2, 3], EVENT: [1, 2, 3]}
    # the event type is part of why the event matched
    delete = next(a for a in alerts if a.rule_id == DELETE)
    assert ("EventType", "DeleteKey") in delete.matched


def test_reader_workers_evaluate_the_row_condition(create_and_delete: Path) -> None:
    """The same hits when the rules run in the reader workers, which send main only what it reads."""
    rules = compile_yaml(RULES).rules
    detector = SigmaDetector(rules)
    transform = detector.worker_transform()
    assert transform is not None
    batches = list(read_paths([create_and_delete], ReadReport(), workers=2, transform=transform))
    assert _hits(run_detectors(batches, [detector])) == {ADD: [1], DELETE: [2, 3], EVENT: [1, 2, 3]}


def test_rule_without_the_event_type_column_matches_nothing(tmp_path: Path) -> None:
    """An export that dropped EventType cannot say which kind a Sysmon 12 is: no add/delete match."""
    path = tmp_path / "no_type.jsonl"
    event = _sysmon_12(1, "CreateKey")
    del event["EventType"]
    path.write_bytes(orjson.dumps(event) + b"\n")
    batches = list(read_paths([path], ReadReport(), workers=1))
    assert _hits(run_detectors(batches, [SigmaDetector(compile_yaml(RULES).rules)])) == {EVENT: [1]}


def test_compiled_condition_carries_the_row_condition() -> None:
    add, delete, event = compile_yaml(RULES).rules
    (target,) = delete.targets
    assert target.where == (("EventType", ("deletekey", "deletevalue")),)
    for rule, accepted in ((delete, ("deletekey", "deletevalue")), (add, ("createkey",))):
        node = rule.compiled_for(rule.targets[0])
        assert isinstance(node, ir.And)
        assert node.items[-1] == ir.StrMatch("EventType", "exact", accepted)  # after the rule's own tests
    assert all(not t.where for t in event.targets)
    assert "EventType" not in ir.fields(event.compiled_for(event.targets[0]))


def test_every_shared_event_id_is_told_apart() -> None:
    """No two Windows categories read the same (channel, event id) with the same row condition,
    except registry_event, SigmaHQ's umbrella over every registry category."""
    seen: dict[tuple[str, int, tuple[object, ...]], list[str]] = defaultdict(list)
    mapping = yaml.safe_load(resources.files(sigma_package).joinpath("data/logsources.yml").read_text())
    for category in mapping["windows"]["category"]:
        if category == "registry_event":
            continue
        for target in targets_for(SigmaLogSource(category=category, product="windows")):
            for channel in target.channels:
                for event_id in target.event_ids:
                    seen[(channel, event_id, target.where)].append(category)
    assert {k: v for k, v in seen.items() if len(v) > 1} == {}
    sysmon_12 = {k[2] for k in seen if k[:2] == (SYSMON.lower(), 12)}
    assert len(sysmon_12) == 2  # registry_add and registry_delete, apart


def test_runmru_deletion_fires_on_the_delete_only(
    dataset: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """SigmaHQ's RunMRU deletion rule on the MRU anti-forensics sample: its Sysmon 12 events
    are two key creations and one key deletion under RunMRU; the rule fires on the deletion."""
    samples = dataset("evtx-attack-samples") / "EVTX-ATTACK-SAMPLES" / "Defense Evasion"
    evtx = samples / "Sysmon_12_DE_AntiForensics_MRU_DeleteKey.evtx"
    rule_file = (
        dataset("sigma")
        / "sigma"
        / "rules"
        / "windows"
        / "registry"
        / "registry_delete"
        / "registry_delete_runmru.yml"
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CHAINBREAKER_CACHE_DIR", str(tmp_path_factory.mktemp("sigma-cache")))
        rules = load_rules([rule_file]).rules
    assert [r.logsource[1] for r in rules] == ["registry_delete"]
    batches = list(read_paths([evtx], ReadReport(), workers=1))
    events = pl.concat(batches, how="diagonal_relaxed")
    runmru = events.filter(
        (pl.col("event_code") == 12) & pl.col("TargetObject").str.ends_with("\\Explorer\\RunMRU")
    )
    assert sorted(runmru["EventType"].to_list()) == ["CreateKey", "CreateKey", "DeleteKey"]

    alerts = run_detectors(batches, [SigmaDetector(rules)])
    assert len(alerts) == 1
    record = alerts[0].event_refs[0].record
    deleted = runmru.filter(pl.col("EventType") == "DeleteKey")["event_ref"].struct.field("record")
    assert deleted.to_list() == [record]
    assert ("EventType", "DeleteKey") in alerts[0].matched

    # the same detection as a registry_event rule still sees all three
    text = rule_file.read_text().replace("category: registry_delete", "category: registry_event")
    assert len(run_detectors(batches, [SigmaDetector(compile_yaml(text).rules)])) == 3
