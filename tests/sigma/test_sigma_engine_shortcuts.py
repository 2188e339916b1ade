"""The engine's shortcuts give what the plain Polars steps they replace give."""

from __future__ import annotations

import pickle

import polars as pl

from chainbreaker.detect.sigma import compile_yaml, ir
from chainbreaker.detect.sigma.engine import columns_of, filtered, keyword_columns, keyword_text
from chainbreaker.detect.sigma.prefilter import distinct_presence, presence
from chainbreaker.detect.sigma.worker import PRIVATE_PREFIX, WorkerRules, strip_private


def _frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "CommandLine": ["cmd /c WhoAmI /all", None, "powershell -enc SQBFAFgA", "cmd /c whoami /all"],
            "Image": ["C:\\Windows\\cmd.exe", "C:\\Temp\\Évil.exe", None, "C:\\Windows\\cmd.exe"],
            "host": ["ws1", "ws1", "ws2", "ws1"],  # normalised: not searched by keywords
            "EventID": [1, 1, 1, 1],
        }
    )


def test_keyword_presence_from_the_columns_equals_presence_in_the_joined_text() -> None:
    frame = _frame()
    literals = sorted({"whoami", "powershell -enc", "évil.exe", "ws1", "/all", "absent", "cmd.exe"})
    joined = frame.select(keyword_text(frame))
    expected = presence(joined, {ir.KEYWORDS: literals})[ir.KEYWORDS]
    found, _ = distinct_presence(frame, {ir.KEYWORDS: literals}, keyword_columns(frame))
    assert found[ir.KEYWORDS] == expected
    assert expected == {"whoami", "powershell -enc", "évil.exe", "/all", "cmd.exe"}  # not the host


def test_keyword_literal_across_the_separator_is_left_to_the_full_test() -> None:
    frame = _frame()
    spanning = f"/all{ir.KEYWORD_SEPARATOR}c:\\windows"  # spans two joined columns
    found, _ = distinct_presence(frame, {ir.KEYWORDS: [spanning]}, keyword_columns(frame))
    assert found[ir.KEYWORDS] == {spanning}


def test_distinct_values_come_with_aligned_lower_case_forms() -> None:
    frame = _frame()
    present, distinct = distinct_presence(frame, {"Image": ["évil.exe", "nothing"]})
    assert present == {"Image": frozenset({"évil.exe"})}
    values, lowered = distinct["Image"]
    assert sorted(values.to_list()) == ["C:\\Temp\\Évil.exe", "C:\\Windows\\cmd.exe"]
    assert lowered.to_list() == [v.lower() for v in values.to_list()]


def test_eager_select_and_filter_equal_the_polars_queries() -> None:
    frame = _frame()
    mask = pl.Series([True, None, False, True])
    assert columns_of(frame, ["Image", "host"]).equals(frame.select(["Image", "host"]))
    assert filtered(frame, mask).equals(frame.filter(mask))


def test_strip_private_keeps_the_other_columns_in_order() -> None:
    frame = _frame().with_columns(pl.lit(1).alias(f"{PRIVATE_PREFIX}hits:x"))
    assert strip_private(frame).equals(_frame())
    assert strip_private(_frame()) is not None and strip_private(_frame()).equals(_frame())


RULE = """
title: Whoami run
id: 5d1c5b4e-7a4e-4e8f-9c55-3f5a0c1b2d10
status: test
logsource: {product: windows, category: process_creation}
detection:
    selection: {Image|endswith: '\\whoami.exe', CommandLine|contains: '/all'}
    condition: selection
level: low
"""


def test_worker_rules_pickle_once_and_round_trip() -> None:
    rules = compile_yaml(RULE).rules
    assert len(rules) == 1
    spec = WorkerRules("token", tuple(rules))
    first, second = pickle.dumps(spec), pickle.dumps(spec)
    assert first == second
    back = pickle.loads(first)
    assert back.token == "token" and back.rules == spec.rules
