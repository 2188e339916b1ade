"""The engine's shortcuts give what the plain Polars steps they replace give."""

from __future__ import annotations

import pickle

import polars as pl
import pytest

from chainbreaker.detect.sigma import compile_yaml, ir
from chainbreaker.detect.sigma import engine as engine_module
from chainbreaker.detect.sigma.engine import SigmaEngine, columns_of, filtered, keyword_columns, keyword_text
from chainbreaker.detect.sigma.prefilter import distinct_presence, presence, search_text
from chainbreaker.detect.sigma.worker import PRIVATE_PREFIX, WorkerRules, strip_private
from chainbreaker.events import conform


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


def test_distinct_values_come_with_the_presence() -> None:
    frame = _frame()
    present, distinct = distinct_presence(frame, {"Image": ["évil.exe", "nothing"]})
    assert present == {"Image": frozenset({"évil.exe"})}
    assert sorted(distinct["Image"].to_list()) == ["C:\\Temp\\Évil.exe", "C:\\Windows\\cmd.exe"]


def test_lower_cased_joined_text_equals_joined_lower_cased_values() -> None:
    values = pl.Series(["ΟΔΌΣ", "Σ", "İstanbul", "C:\\Temp\\Évil.exe", "ß", "ǅ"])
    joined = values.implode().list.join("\x00").str.to_lowercase().item()
    assert joined == "\x00".join(values.str.to_lowercase().to_list())


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


def _rule(n: int, title: str, detection: str) -> str:
    return f"""
title: {title}
id: 5d1c5b4e-7a4e-4e8f-9c55-3f5a0c1b2d{n:02d}
status: test
logsource: {{product: windows, category: process_creation}}
detection:
{detection}
level: low
"""


#: A broad anchor (a space in the command line) and narrow ones, two rules sharing one of them.
ANCHORED = "---".join(
    [
        _rule(
            20,
            "Command with a space, no triple x",
            "    selection: {CommandLine|contains: ' '}\n"
            "    filter: {CommandLine|re: 'x{3}'}\n"
            "    condition: selection and not filter",
        ),
        _rule(
            21,
            "Whoami all",
            "    selection: {Image|endswith: '\\whoami.exe', CommandLine|re: '/all$'}\n"
            "    condition: selection",
        ),
        _rule(
            22,
            "Whoami priv",
            "    selection: {Image|endswith: '\\whoami.exe', CommandLine|contains: '/priv'}\n"
            "    condition: selection",
        ),
        _rule(
            23,
            "Net user",
            "    selection: {Image|endswith: '\\net.exe', CommandLine|contains|all: ['user', '/add']}\n"
            "    condition: selection",
        ),
    ]
)


def _process_rows() -> pl.DataFrame:
    rows = []
    for i in range(600):
        image, command = "C:\\Windows\\cmd.exe", f"cmd /c dir {i} {'xxx' if i % 7 == 0 else ''}"
        if i % 50 == 0:
            image, command = "C:\\Windows\\whoami.exe", "whoami /all" if i % 100 == 0 else "whoami /priv"
        elif i % 45 == 0:
            image, command = "C:\\Windows\\net.exe", "net user eve /add" if i % 90 == 0 else "net user"
        rows.append({"idx": str(i), "Image": image, "CommandLine": command})
    return conform(
        pl.DataFrame(rows).with_columns(
            pl.lit("windows.sysmon").alias("source"),
            pl.lit("Microsoft-Windows-Sysmon/Operational").alias("channel"),
            pl.lit(1).alias("event_code"),
        )
    )


def _matches(batch: pl.DataFrame) -> dict[str, tuple[list[str], ir.Node]]:
    rules = compile_yaml(ANCHORED).rules
    assert len(rules) == 4
    return {
        m.rule.title: (m.rows.get_column("idx").to_list(), m.condition)
        for m in SigmaEngine(rules).matches(batch)
    }


def test_rules_decided_on_their_own_anchor_rows_match_as_on_the_shared_rows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    batch = _process_rows()
    monkeypatch.setattr(engine_module, "OWN_ROWS_SAVING", 10**9)  # one shared row set
    shared = _matches(batch)
    sets: list[list[list[int]]] = []
    plain_row_sets = engine_module.row_sets

    def recorded(
        masks: pl.DataFrame, rules: list[int], anchor_sets: list[int]
    ) -> list[tuple[list[int], pl.Series]]:
        out = plain_row_sets(masks, rules, anchor_sets)
        sets.append([members for members, _ in out])
        return out

    monkeypatch.setattr(engine_module, "row_sets", recorded)
    monkeypatch.setattr(engine_module, "OWN_ROWS_SAVING", 1)
    own = _matches(batch)
    assert own == shared
    assert sorted(len(s) for s in sets[0]) == [1, 1, 2]  # whoami rules share their anchor's rows
    assert len(own["Whoami all"][0]) == 6 and len(own["Whoami priv"][0]) == 6
    assert own["Net user"][0] == ["90", "180", "270", "360", "540"]  # 450 is a whoami row
    commands = batch.get_column("CommandLine").to_list()
    assert own["Command with a space, no triple x"][0] == [
        str(i) for i, c in enumerate(commands) if "xxx" not in c
    ]


def test_presence_from_joined_text_equals_presence_per_value() -> None:
    frame = _frame()
    literals = ["whoami", "cmd /c", "enc sq", "absent", "\x00joined"]  # the last one holds the separator
    present, _ = distinct_presence(frame, {"CommandLine": literals[:4]})
    values = frame.get_column("CommandLine").drop_nulls().unique().str.to_lowercase().to_list()
    assert present["CommandLine"] == {lit for lit in literals[:4] if any(lit in v for v in values)}
    assert present["CommandLine"] == {"whoami", "cmd /c", "enc sq"}
    separated, _ = distinct_presence(frame, {"CommandLine": literals})
    assert separated["CommandLine"] == present["CommandLine"]  # searched value by value
    assert search_text("a\x00b", ("a\x00b",)) == {"a\x00b"}
    keywords, _ = distinct_presence(frame, {ir.KEYWORDS: ["whoami", "évil", "\x00x"]}, keyword_columns(frame))
    assert keywords[ir.KEYWORDS] == {"whoami", "évil"}  # value by value too
