"""The compiled EVTX flattening (readers/_evtxflat.c) against the Python path it replaces.

Every comparison runs both paths on the same input: the corpus through the reader (frames, counts
and warnings), and hand-made record JSON that reaches each branch of the C parser and flattening,
including the records it must hand back to the Python path (which then decides, errors included).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from chainbreaker.readers import ReadReport, read_paths
from chainbreaker.readers import evtx as evtx_module
from chainbreaker.readers.windows_fields import Rows

native = pytest.importorskip("chainbreaker.readers._evtxflat", reason="C extension not built")


@pytest.fixture(scope="module")
def evtx_files(dataset: Any) -> list[Path]:
    return sorted(dataset("evtx-attack-samples").rglob("*.evtx"))


def _read(paths: list[Path], use_native: bool, batch_size: int) -> tuple[list[pl.DataFrame], ReadReport]:
    saved = evtx_module.NATIVE
    evtx_module.NATIVE = native if use_native else None
    try:
        report = ReadReport()
        frames = list(read_paths(paths, report, batch_size=batch_size, workers=1))
    finally:
        evtx_module.NATIVE = saved
    return frames, report


def _assert_same_read(paths: list[Path], batch_size: int) -> int:
    got, got_report = _read(paths, True, batch_size)
    want, want_report = _read(paths, False, batch_size)
    assert len(got) == len(want)
    for a, b in zip(got, want, strict=True):
        assert_frame_equal(a, b)  # column order and dtypes included
    assert got_report.records == want_report.records
    assert got_report.skipped == want_report.skipped
    assert got_report.warnings == want_report.warnings
    assert {k: v.records for k, v in got_report.files.items()} == {
        k: v.records for k, v in want_report.files.items()
    }
    return got_report.records


def test_every_corpus_file_reads_the_same_natively(evtx_files):
    assert evtx_module.NATIVE is native or os.environ.get("CHAINBREAKER_PURE_PYTHON")
    total = sum(_assert_same_read([path], 50_000) for path in evtx_files)
    assert total == 8255


def test_whole_corpus_in_small_batches_reads_the_same_natively(evtx_files):
    # batches of 997 rows end inside files and mix files and channels in one batch
    assert _assert_same_read(evtx_files, 997) == 8255


def test_no_corpus_record_needs_the_python_path(evtx_files):
    from evtx import PyEvtxParser

    for path in evtx_files:
        for item in PyEvtxParser(str(path)).records_json():
            assert native.flatten(item["data"], path.name, item["event_record_id"]) is not None


# --- hand-made records ------------------------------------------------------------------------

SYSTEM = (
    '"System":{"Provider":{"#attributes":{"Name":"Prov","Guid":"{G}"}},"EventID":{"#attributes":'
    '{"Qualifiers":16384},"#text":7036},"Version":1,"Level":4,"Task":0,"Keywords":"0x80",'
    '"TimeCreated":{"#attributes":{"SystemTime":"2020-01-02T03:04:05.123456Z"}},"EventRecordID":42,'
    '"Correlation":{"#attributes":{"ActivityID":"A","RelatedActivityID":null}},'
    '"Execution":{"#attributes":{"ProcessID":4,"ThreadID":-8}},"Channel":"System",'
    '"Computer":"pc","Security":{"#attributes":{"UserID":"S-1-5-18"}}}'
)


def _event(body: str) -> str:
    return '{"Event":{"#attributes":{"xmlns":"x"},' + SYSTEM + "," + body + "}}"


#: Records the compiled path takes: its lists must equal the Python path's.
TAKEN = {
    "plain": _event('"EventData":{"A":"b","C":""}'),
    "escapes": _event('"EventData":{"A":"q\\"b\\\\s\\/n\\nt\\tb\\bf\\fr\\r","U":"\\u00e9\\u4e2d\\u0000x"}'),
    "surrogate pair": _event('"EventData":{"Emoji":"a\\ud83d\\ude00b","Upper":"\\uD83D\\uDE00"}'),
    "raw utf-8": _event('"EventData":{"Name":"Zoë 中文 😀","Empty":""}'),
    "nulls": _event('"EventData":{"A":null,"B":"x","C":{"#text":null}}'),
    "bools": _event('"EventData":{"T":true,"F":false}'),
    "ints": _event(
        '"EventData":{"Neg":-17,"Zero":0,"NegZero":-0,"U64":18446744073709551615,'
        '"I64min":-9223372036854775808,"Big":9223372036854775808}'
    ),
    "floats": _event('"EventData":{"F":1.5,"E":1e20,"NZ":-0.0,"Small":2.5E-3,"Tiny":1e-400,"X":0.1}'),
    "lists": _event(
        '"EventData":{"Data":[1,"a",null,true,1.5,[2,[3,null]],{"#text":"t"},{"x":1},[],""],'
        '"Empty":[],"Nulls":[null,null]}'
    ),
    "text dicts": _event(
        '"EventData":{"D1":{"#text":"v","#attributes":{"k":"a"}},"D2":{"#attributes":{"k":"a"},"#text":5},'
        '"D3":{"#text":["a","b"]},"D4":{"#text":{"#text":"inner"}},"D5":{"#text":{"no":"text"}}}'
    ),
    "attributes in data": _event(
        '"EventData":{"#attributes":{"Name":"n"},"A":"b"},"UserData":{"#attributes":"odd","X":"y"}'
    ),
    "userdata nesting": _event(
        '"UserData":{"LogFileCleared":{"#attributes":{"xmlns":"u"},"SubjectUserName":"bob",'
        '"Inner":{"Deep":{"Leaf":"v","Num":3}},"Empty":{}}}'
    ),
    "data named like system": _event('"EventData":{"Version":"2","Channel":"Other","EventRecordID":"9"}'),
    "non-dict sections": _event('"Extra":"s","Count":3,"Flag":false,"List":[1,2],"Nothing":null'),
    "whitespace": ' {\n\t"Event" : {\r\n "System" : { "EventID" : 1 , "Channel" : "Security" } ,'
    ' "EventData" : { "A" : [ 1 , 2 ] } } } \n',
    "system values": '{"Event":{"System":{"S":"x","I":3,"F":2.5,"B":true,"L":["a",null],"N":null,'
    '"D":{"#text":"t"},"E":{},"A":{"#attributes":{}},"Z":{"#attributes":null},'
    '"P":{"#text":1,"#attributes":{"N":true,"M":null,"L":[1,2],"O":{"#text":"o"}}}}}}',
    "record id absent": '{"Event":{"System":{"EventID":1},"EventData":{"A":"b"}}}',
    "no system": '{"Event":{"EventData":{"A":"b"}}}',
    "empty system": '{"Event":{"System":{},"EventData":{"A":"b"}}}',
    "null system": '{"Event":{"System":null,"EventData":{"A":"b"}}}',
    "null event": '{"Event":null}',
    "no event": '{"Other":{"System":{"EventRecordID":5}}}',
    "empty object": "{}",
    "channel in data only": '{"Event":{"System":{"EventID":1},"EventData":{"Channel":"FromData"}}}',
    "big record id": '{"Event":{"System":{"EventRecordID":18446744073709551615}}}',
    "negative record id": '{"Event":{"System":{"EventRecordID":-3}}}',
}

#: Records handed to the Python path (which reads some of them and raises on others).
HANDED_BACK = {
    "duplicate key": _event('"EventData":{"A":"1","A":"2","B":"3"}'),
    "duplicate system": '{"Event":{"System":{"EventID":1},"System":{"EventID":2}}}',
    "escaped key": _event('"EventData":{"A\\u0042":"x"}'),
    "int above u64": _event('"EventData":{"A":18446744073709551616}'),
    "int below i64": _event('"EventData":{"A":-9223372036854775809}'),
    "float overflow": _event('"EventData":{"A":1e400}'),
    "lone high surrogate": _event('"EventData":{"A":"\\ud800"}'),
    "lone low surrogate": _event('"EventData":{"A":"\\udc00x"}'),
    "surrogate then letter": _event('"EventData":{"A":"\\ud800\\u0041"}'),
    "lone surrogate in str": _event('"EventData":{"A":"\ud800"}'),
    "deep nesting": _event('"EventData":' + '{"a":' * 80 + '"x"' + "}" * 80),
    "string record id": '{"Event":{"System":{"EventRecordID":"7"}}}',
    "system attributes not a dict": '{"Event":{"System":{"Provider":{"#attributes":"x"}}}}',
    "system a list": '{"Event":{"System":[1]}}',
    "event a string": '{"Event":"x"}',
    "event false": '{"Event":false}',
    "top level list": "[1]",
    "garbage": "{not json",
    "trailing content": "{} x",
    "trailing comma": '{"a":1,}',
    "leading zero": '{"a":01}',
    "control character": '{"a":"x\ty"}',
    "bad escape": '{"a":"\\x"}',
    "unterminated": '{"a":"x',
    "empty": "",
    "bare value": "3",
}


def _python(data: str, name: str, rid: int) -> tuple[list[str], list[Any]]:
    return evtx_module._flatten_item({"data": data, "event_record_id": rid}, name)


def _typed(pair: tuple[list[str], list[Any]]) -> list[tuple[str, type, Any]]:
    keys, values = pair
    return [(k, type(v), v) for k, v in zip(keys, values, strict=True)]


@pytest.mark.parametrize("case", sorted(TAKEN))
def test_taken_records_flatten_like_python(case):
    data = TAKEN[case]
    got = native.flatten(data, "file.evtx", 99)
    assert got is not None, "the compiled path should take this record"
    assert _typed(got) == _typed(_python(data, "file.evtx", 99))


def test_system_fields_get_sigma_names():
    keys, values = native.flatten(TAKEN["plain"], "f.evtx", 1)
    flat = dict(zip(keys, values, strict=True))
    assert flat["__record"] == 42
    assert flat["EventID"] == "7036"
    assert flat["EventID_Qualifiers"] == "16384"
    assert flat["Provider_Name"] == "Prov"
    assert flat["TimeCreated"] == "2020-01-02T03:04:05.123456Z"
    assert (flat["ExecutionProcessID"], flat["ThreadID"]) == ("4", "-8")
    assert flat["SecurityUserID"] == "S-1-5-18"
    assert "RelatedActivityID" in flat and flat["RelatedActivityID"] is None
    assert "xmlns" not in flat and "Event_xmlns" not in flat


@pytest.mark.parametrize("case", sorted(HANDED_BACK))
def test_unusual_records_are_handed_back(case):
    assert native.flatten(HANDED_BACK[case], "file.evtx", 99) is None


def test_flatten_checks_its_arguments():
    with pytest.raises(TypeError):
        native.flatten(b'{"Event":{}}', "f", 1)


# --- the whole loop: native.fill against evtx._fill's Python path -----------------------------


def _items(records: list[str], start: int = 1) -> Iterator[dict[str, Any]]:
    for i, data in enumerate(records, start=start):
        yield {"event_record_id": i, "data": data}


def _fill_both(records: list[str], batch_size: int, columnar: bool = False) -> tuple[Any, Any]:
    """Per ``_fill`` call: (outcome, last id, done, rows.rows, the rows taken), for each path.

    ``columnar``: the compiled path keeps its rows in a ``Batch`` (as the reader does) and the
    rows are compared as the frames ``Rows.take`` builds; otherwise as rows.groups' lists."""
    outcomes = []
    for use_native in (True, False):
        saved = evtx_module.NATIVE
        evtx_module.NATIVE = native if use_native else None
        try:
            rows, items, calls, last_id = Rows(), _items(records), [], 0
            if use_native and columnar:
                rows.columnar = evtx_module._NativeColumns()
            while True:
                try:
                    last_id, done = evtx_module._fill(items, rows, batch_size, last_id, "f.evtx")
                except Exception as exc:
                    calls.append(("raised", type(exc), str(exc), rows.rows, _taken(rows, columnar)))
                    break
                calls.append(("ok", last_id, done, rows.rows, _taken(rows, columnar)))
                if done:
                    break
            outcomes.append(calls)
        finally:
            evtx_module.NATIVE = saved
    return outcomes[0], outcomes[1]


def _taken(rows: Rows, columnar: bool) -> Any:
    if not columnar:
        groups = _groups(rows)
        rows.groups, rows.rows = {}, 0
        return groups
    return [_Frame(frame) for frame in rows.take()]


class _Frame:
    """A frame compared as assert_frame_equal does (column order and dtypes included)."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self.frame = frame

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _Frame):
            return NotImplemented
        assert_frame_equal(self.frame, other.frame)
        return True

    def __repr__(self) -> str:
        return repr(self.frame)


def _groups(rows: Rows) -> list[Any]:
    return [
        (channel, [(sig, [_typed((list(sig), v)) for v in group]) for sig, group in kinds.items()])
        for channel, kinds in rows.groups.items()
    ]


#: Taken and handed-back records the Python path reads without error, in one stream. Records that
#: the Python path reads but whose RECORD value Polars cannot type (a string id, a u64 id) are
#: left out: both paths raise there, in Rows.take.
MIXED = [TAKEN[c] for c in sorted(TAKEN) if c != "big record id"] + [
    HANDED_BACK[c]
    for c in ("duplicate key", "duplicate system", "escaped key", "int above u64", "deep nesting")
]


@pytest.mark.parametrize("columnar", [False, True])
@pytest.mark.parametrize("batch_size", [1, 3, 1000])
def test_fill_groups_rows_like_python(batch_size, columnar):
    got, want = _fill_both(MIXED * 2, batch_size, columnar)
    assert got == want
    assert got[-1][0] == "ok" and got[-1][2] is True
    assert sum(call[3] for call in got) == 2 * len(MIXED)


@pytest.mark.parametrize("columnar", [False, True])
@pytest.mark.parametrize(
    "case", ["garbage", "top level list", "system attributes not a dict", "lone surrogate in str"]
)
def test_fill_raises_what_python_raises(case, columnar):
    records = [TAKEN["plain"], TAKEN["lists"], HANDED_BACK[case], TAKEN["plain"]]
    got, want = _fill_both(records, 1000, columnar)
    assert got == want
    assert got[-1][0] == "raised" and got[-1][3] == 2  # the two rows before the bad one are kept


def test_batch_frames_hold_nulls_empty_strings_and_utf8():
    records = [TAKEN["nulls"], TAKEN["raw utf-8"], TAKEN["escapes"], TAKEN["no system"]] * 5
    got, want = _fill_both(records, 1000, columnar=True)
    assert got == want
    frames = got[0][4]
    assert len(frames) == 2  # channel "System" and no channel
    first = frames[0].frame
    nulls = first.filter(pl.col("B") == "x")  # "A": null is left out, "C": {"#text": null} is a null
    assert nulls.height == 5 and nulls["C"].null_count() == 5 and nulls["A"].null_count() == 5
    assert first.filter(pl.col("Name").is_not_null())["Empty"].to_list() == [""] * 5
    assert "Zoë 中文 😀" in first["Name"].to_list()


def test_fill_passes_iterator_errors_through():
    def broken() -> Iterator[dict[str, Any]]:
        yield from _items([TAKEN["plain"]])
        raise RuntimeError("chunk damaged")

    rows = Rows()
    with pytest.raises(RuntimeError, match="chunk damaged"):
        native.fill(broken(), rows, None, 10, 0, "f", evtx_module._flatten_item)
    assert rows.rows == 1


def test_pure_python_switch():
    code = "from chainbreaker.readers import evtx; print(evtx.NATIVE is None)"
    for value, expected in (("1", "True"), ("", "False")):
        env = dict(os.environ, CHAINBREAKER_PURE_PYTHON=value)
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == expected


def test_hand_made_records_are_valid_or_invalid_json_as_intended():
    # guards the test data: every taken record is JSON orjson reads, in the shape the cases claim
    for data in TAKEN.values():
        assert isinstance(orjson.loads(data), dict)
    assert json.loads(TAKEN["ints"])["Event"]["EventData"]["U64"] == 2**64 - 1


# --- the frames handed to Polars: one string view column per field of a channel ------------------


def _sized(channel: str, fields: dict[str, str | None]) -> str:
    body = ",".join(f'"{k}":{json.dumps(v)}' for k, v in fields.items())
    return '{"Event":{"System":{"EventID":1,"Channel":"' + channel + '"},"EventData":{' + body + "}}}"


def test_channel_frames_stack_field_lists_around_the_inline_view_size():
    # values of 0..40 bytes (a view holds up to 12 bytes itself, longer ones point into the data),
    # field lists that share some columns and not others, two channels interleaved
    lengths = [0, 1, 4, 11, 12, 13, 16, 40]
    records = []
    for i, n in enumerate(lengths * 3):
        value = "x" * n if i % 2 == 0 else "é" * (n // 2)  # "é" is two bytes
        if i % 3 == 0:
            records.append(_sized("One", {"A": value, "B": str(i)}))
        elif i % 3 == 1:
            records.append(_sized("One", {"B": value, "C": None, "D": "d" * (i + 10)}))
        else:
            records.append(_sized("Two", {"A": value, "E": "" if i % 2 else None}))
    got, want = _fill_both(records, 1000, columnar=True)
    assert got == want  # assert_frame_equal on each channel frame, as the Python path builds it
    one, two = (frame.frame for frame in got[0][4])
    assert one.columns == ["__file", "__record", "EventID", "Channel", "A", "B", "D"]
    assert one.height == 16 and two.height == 8
    assert one["A"].null_count() == 8 and one["D"].null_count() == 8  # each from the other list
    assert one.schema["A"] == pl.String and one["__record"].dtype == pl.Int64


def test_columns_are_string_views_and_export_once():
    batch = native.Batch()
    rows = Rows()
    records = [_sized("One", {"Long": "y" * 100, "Short": "s"}), _sized("One", {"Other": "o" * 13})]
    native.fill(_items(records), rows, batch, 100, 0, "f.evtx", evtx_module._flatten_item)
    [(channel, record_ids, columns)] = batch.take(evtx_module.frame_columns)
    assert channel == "One" and record_ids == [1, 2]
    schema_capsule, array_capsule = columns.__arrow_c_array__()
    with pytest.raises(ValueError, match="already exported"):
        columns.__arrow_c_array__()
    pa = pytest.importorskip("pyarrow")
    array = pa.Array._import_from_c_capsule(schema_capsule, array_capsule)
    assert {field.type for field in array.type} == {pa.string_view()}
    assert array.field("Long").to_pylist() == ["y" * 100, None]
    assert array.field("Other").to_pylist() == [None, "o" * 13]
    assert batch.take(evtx_module.frame_columns) == []  # taking empties the batch


def test_a_channel_of_thousands_of_rows_reads_the_same():
    # past 4,096 rows a column's views (16 bytes a row) are mapped memory rather than heap memory
    records = [_sized("Big", {"A": f"value number {i}", "B": "b" * (i % 30)}) for i in range(5_000)]
    records[::7] = [_sized("Big", {"C": "only here, long enough to point into the data"})] * len(records[::7])
    got, want = _fill_both(records, 10_000, columnar=True)
    assert got == want
    [frame] = [f.frame for f in got[0][4]]
    assert frame.height == 5_000 and frame["C"].null_count() == 5_000 - len(records[::7])
